#include "pixhive/feed/cards.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "pixhive/core/ask.hpp"
#include "pixhive/core/log.hpp"

namespace pixhive::feed {

using namespace contracts;
using nlohmann::json;

result<std::vector<photo_card>> load_cards(caf::actor_system& sys, const card_sources& from,
                                           const viewer& who, const std::vector<int64_t>& ids) {
  std::vector<photo_card> cards;
  if (ids.empty()) return cards;
  auto photos = ask_blocking<photo_page>(sys, from.media, photos_by_ids_request{ids, who});
  if (!photos) return photos.error();
  std::set<int64_t> owner_set;
  std::vector<int64_t> shown;
  for (const auto& p : photos->photos) {
    owner_set.insert(p.owner_id);
    shown.push_back(p.id);
  }
  std::map<int64_t, std::string> names;
  if (from.auth && !owner_set.empty()) {
    auto users = ask_blocking<user_page>(
        sys, from.auth, users_by_ids_request{{owner_set.begin(), owner_set.end()}});
    if (users)
      for (auto& u : users->users) names[u.id] = u.display_name;
    else
      log::warn("card_names_unavailable", {{"error", to_problem(users.error()).message}});
  }
  std::map<int64_t, photo_social> social;
  if (from.graph && !shown.empty()) {
    auto counts =
        ask_blocking<photo_social_list>(sys, from.graph, photo_social_request{who, shown});
    if (counts)
      for (auto& s : counts->items) social[s.photo_id] = s;
    else
      log::warn("card_counts_unavailable", {{"error", to_problem(counts.error()).message}});
  }
  for (auto& p : photos->photos) {
    photo_card c;
    c.id = p.id;
    c.owner_id = p.owner_id;
    c.owner_username = p.owner_username;
    c.owner_display_name = names[p.owner_id];
    c.caption = std::move(p.caption);
    c.hashtags = std::move(p.hashtags);
    c.tags = std::move(p.auto_tags);
    c.visibility = std::move(p.visibility);
    c.width = p.width;
    c.height = p.height;
    for (auto& v : p.variants) c.variants.push_back(std::move(v.name));
    if (auto it = social.find(p.id); it != social.end()) {
      c.likes = it->second.likes;
      c.comments = it->second.comments;
      c.liked_by_me = it->second.liked_by_me;
    }
    c.created_at = p.created_at;
    cards.push_back(std::move(c));
  }
  return cards;
}

json card_json(const photo_card& c) {
  auto base = "/api/v1/photos/" + std::to_string(c.id);
  auto has = [&c](const char* name) {
    return std::find(c.variants.begin(), c.variants.end(), name) != c.variants.end();
  };
  // Until processing made the renditions, the original stands in for them.
  auto rendition = [&](const char* name) {
    return has(name) ? base + "/variants/" + name : base + "/original";
  };
  return {{"id", std::to_string(c.id)},
          {"owner",
           {{"id", std::to_string(c.owner_id)},
            {"username", c.owner_username},
            {"display_name", c.owner_display_name}}},
          {"caption", c.caption},
          {"hashtags", c.hashtags},
          {"tags", c.tags},
          {"visibility", c.visibility},
          {"width", c.width},
          {"height", c.height},
          {"url", base},
          {"thumbnail_url", rendition("thumbnail")},
          {"display_url", rendition("display")},
          {"likes", c.likes},
          {"comments", c.comments},
          {"liked_by_me", c.liked_by_me},
          {"created_at", c.created_at}};
}

json card_page_json(const card_page& page) {
  json items = json::array();
  for (const auto& c : page.items) items.push_back(card_json(c));
  return {
      {"items", items},
      {"next_cursor", page.next_cursor ? json(std::to_string(page.next_cursor)) : json(nullptr)}};
}

}  // namespace pixhive::feed
