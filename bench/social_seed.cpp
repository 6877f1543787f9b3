// Builds a synthetic social network straight into a PixHive database, for bench/social_bench.sh:
// users with power-law follower counts, photos whose authors follow a power law too, likes and
// comments, the feed's posts and the search index — as the services' events would have left them
// (home timelines are left to be rebuilt on first read, as after a Redis flush). Writes access
// tokens, usernames, photo ids and search queries for the load scripts.
//
//   social_seed DB_URL JWT_KEY_FILE OUT_DIR [users=10000] [photos=100000]
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <set>

#include "pixhive/auth/auth.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/jwt.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/feed/feed.hpp"
#include "pixhive/graph/graph.hpp"
#include "pixhive/media/media.hpp"
#include "pixhive/search/search.hpp"

using namespace pixhive;

namespace {

const std::vector<std::string> vocabulary{
    "sunset",   "beach",  "mountain", "city", "street", "coffee",  "forest",  "river",  "night",
    "portrait", "macro",  "flowers",  "snow", "bridge", "market",  "harbour", "desert", "rain",
    "friends",  "garden", "autumn",   "lake", "train",  "skyline", "cat",     "dog",    "food"};
const std::vector<std::string> colours{"red",    "orange", "yellow", "green", "blue",
                                       "purple", "gray",   "white",  "black", "brown"};

/// Inserts `rows` (each `cols` values) into `head` ("INSERT INTO t (a, b) VALUES"), 400 rows per
/// statement.
void bulk(store::connection& c, const std::string& head, size_t cols,
          const std::vector<std::vector<store::value>>& rows) {
  for (size_t i = 0; i < rows.size(); i += 400) {
    std::string sql = head;
    std::vector<store::value> params;
    for (size_t j = i; j < std::min(rows.size(), i + 400); ++j) {
      sql += j == i ? " (" : ", (";
      for (size_t k = 0; k < cols; ++k) sql += k ? ", ?" : "?";
      sql += ")";
      params.insert(params.end(), rows[j].begin(), rows[j].end());
    }
    if (auto r = c.query(sql, params); !r) {
      std::cerr << "social_seed: " << to_problem(r.error()).message << "\n";
      std::exit(1);
    }
  }
}

/// Draws ranks 0..n-1 with P(rank) proportional to 1 / (rank + 1)^s.
class zipf {
 public:
  zipf(size_t n, double s) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf_.push_back(sum += 1.0 / std::pow(double(i + 1), s));
    for (auto& x : cdf_) x /= sum;
  }
  size_t operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<>(0, 1)(rng);
    return std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
  }

 private:
  std::vector<double> cdf_;
};

std::string join(const std::vector<std::string>& w) {
  std::string out;
  for (const auto& x : w) out += (out.empty() ? "" : " ") + x;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: social_seed DB_URL JWT_KEY_FILE OUT_DIR [users] [photos]\n";
    return 2;
  }
  log::init("warn");
  std::string key;
  std::getline(std::ifstream{argv[2]}, key);
  std::string out_dir = argv[3];
  size_t n_users = argc > 4 ? std::stoul(argv[4]) : 10'000;
  size_t n_photos = argc > 5 ? std::stoul(argv[5]) : 100'000;
  auto db = store::database::open(argv[1], 2);
  if (!db) {
    std::cerr << "social_seed: " << to_problem(db.error()).message << "\n";
    return 1;
  }
  for (auto m : {auth::migrate(**db), media::migrate(**db), graph::migrate(**db),
                 feed::migrate(**db), search::migrate(**db)})
    if (!m) {
      std::cerr << "social_seed: " << to_problem(m.error()).message << "\n";
      return 1;
    }
  bool pg = (*db)->dialect() == store::dialect::postgres;
  std::mt19937_64 rng{42};
  auto now = unix_now();

  struct user {
    int64_t id;
    std::string name;
  };
  std::vector<user> users;
  for (size_t i = 0; i < n_users; ++i) users.push_back({next_id(), "user" + std::to_string(i)});
  // Popularity (followers) and activity (photos) follow power laws over shuffled orders.
  auto by_popularity = users, by_activity = users;
  std::shuffle(by_popularity.begin(), by_popularity.end(), rng);
  std::shuffle(by_activity.begin(), by_activity.end(), rng);
  zipf popular{n_users, 1.0}, active{n_users, 0.8};

  std::vector<std::vector<store::value>> rows;
  auto flush = [&](const std::string& head, size_t cols) {
    auto r = (*db)->transaction([&](store::connection& c) -> result<void> {
      bulk(c, head, cols, rows);
      return caf::unit;
    });
    rows.clear();
  };

  for (auto& u : users)
    rows.push_back({u.id, u.name, u.name + "@example.com", "seeded", "User " + u.name.substr(4),
                    int64_t{1}, now - 86400 * 30});
  flush(
      "INSERT INTO users (id, username, email, password_hash, display_name, verified, "
      "created_at) VALUES",
      7);
  for (auto& u : users)
    rows.push_back({u.id, u.name, "User " + u.name.substr(4), int64_t{0}, now - 86400 * 30});
  flush("INSERT INTO search_users (user_id, username, display_name, disabled, created_at) VALUES",
        5);
  if (!pg) {
    for (auto& u : users) rows.push_back({u.id, u.name + " User " + u.name.substr(4)});
    flush("INSERT INTO search_users_fts (rowid, name) VALUES", 2);
  }

  // Each user follows 5..60 others, picked by popularity.
  size_t follows = 0;
  for (auto& u : users) {
    std::set<int64_t> picked;
    auto k = std::uniform_int_distribution<size_t>(5, 60)(rng);
    while (picked.size() < k) {
      auto& f = by_popularity[popular(rng)];
      if (f.id != u.id && picked.insert(f.id).second)
        rows.push_back({next_id(), u.id, u.name, f.id, f.name, now - 86400});
    }
    follows += k;
    if (rows.size() > 20'000)
      flush(
          "INSERT INTO follows (id, follower_id, follower_username, followee_id, "
          "followee_username, created_at) VALUES",
          6);
  }
  flush(
      "INSERT INTO follows (id, follower_id, follower_username, followee_id, followee_username, "
      "created_at) VALUES",
      6);

  if (auto r = (*db)->transaction([](store::connection& c) -> result<void> {
        return c.exec_script(graph::follow_counts_sql);
      });
      !r) {
    std::cerr << "social_seed: " << to_problem(r.error()).message << "\n";
    return 1;
  }

  std::vector<int64_t> public_photos;
  std::vector<std::vector<store::value>> variants, posts, index, fts, tags;
  auto flush_photos = [&] {
    (*db)->transaction([&](store::connection& c) -> result<void> {
      bulk(c,
           "INSERT INTO photos (id, owner_id, owner_username, caption, hashtags, visibility, "
           "content_type, size, width, height, sha256, status, created_at, blob_key, auto_tags, "
           "ocr_text, phash) VALUES",
           17, rows);
      bulk(c,
           "INSERT INTO photo_variants (photo_id, name, content_type, size, width, height, "
           "blob_key, sha256) VALUES",
           8, variants);
      bulk(c, "INSERT INTO feed_posts (photo_id, owner_id, public, created_at) VALUES", 4, posts);
      if (pg)
        bulk(c,
             "INSERT INTO search_photos (photo_id, owner_id, owner_username, public, body, "
             "created_at, doc) VALUES",
             7, index);
      else
        bulk(c,
             "INSERT INTO search_photos (photo_id, owner_id, owner_username, public, body, "
             "created_at) VALUES",
             6, index);
      if (!pg) bulk(c, "INSERT INTO search_photos_fts (rowid, body, vis) VALUES", 3, fts);
      bulk(c,
           "INSERT INTO search_photo_tags (tag, photo_id, owner_id, owner_username, public) VALUES",
           5, tags);
      return caf::unit;
    });
    for (auto* v : {&rows, &variants, &posts, &index, &fts, &tags}) v->clear();
  };
  std::uniform_int_distribution<size_t> word(0, vocabulary.size() - 1),
      colour(0, colours.size() - 1);
  for (size_t i = 0; i < n_photos; ++i) {
    auto& owner = by_activity[active(rng)];
    auto id = next_id();
    bool is_public = i % 20 != 0;  // one in twenty is private
    auto a = vocabulary[word(rng)], b = vocabulary[word(rng)], c = vocabulary[word(rng)];
    auto caption = "A " + a + " and " + b + " #" + c;
    std::vector<std::string> auto_tags{colours[colour(rng)]};
    if (i % 7 == 0) auto_tags.push_back("people");
    auto created = now - static_cast<int64_t>(n_photos - i) * 10;
    rows.push_back({id, owner.id, owner.name, caption, c, is_public ? "public" : "private",
                    "image/jpeg", int64_t{2'000'000}, int64_t{3000}, int64_t{2000}, "seeded",
                    "ready", created, "originals/" + std::to_string(id), join(auto_tags), "",
                    "00ff00ff00ff00ff"});
    for (const char* v : {"thumbnail", "display"})
      variants.push_back({id, v, "image/jpeg", int64_t{50'000}, int64_t{320}, int64_t{320},
                          "variants/" + std::to_string(id) + "/" + v, "seeded"});
    posts.push_back({id, owner.id, int64_t{is_public ? 1 : 0}, created});
    auto body = join(search::words_of(caption + " " + c + " " + join(auto_tags)));
    if (pg)
      index.push_back({id, owner.id, owner.name, int64_t{is_public ? 1 : 0}, body, created, body});
    else
      index.push_back({id, owner.id, owner.name, int64_t{is_public ? 1 : 0}, body, created});
    fts.push_back({id, body, search::visibility_tokens(is_public, owner.id)});
    std::set<std::string> photo_tags{c};
    photo_tags.insert(auto_tags.begin(), auto_tags.end());
    for (auto& t : photo_tags) tags.push_back({t, id, owner.id, owner.name, int64_t{is_public}});
    if (is_public) public_photos.push_back(id);
    if (rows.size() >= 5'000) flush_photos();
  }
  flush_photos();
  if (pg) {
    if (auto r = (*db)->query("UPDATE search_photos SET doc = to_tsvector('simple', body)"); !r)
      return 1;
  }

  // Likes on recent public photos, mostly by active users.
  std::set<std::pair<int64_t, int64_t>> liked;
  for (size_t i = 0; i < n_photos; ++i) {
    auto photo = public_photos[public_photos.size() - 1 -
                               std::min(public_photos.size() - 1, popular(rng) * 5)];
    auto& u = by_activity[active(rng)];
    if (liked.insert({photo, u.id}).second)
      rows.push_back({next_id(), photo, u.id, u.name, now - 60});
    if (rows.size() > 20'000)
      flush("INSERT INTO likes (id, photo_id, user_id, username, created_at) VALUES", 5);
  }
  flush("INSERT INTO likes (id, photo_id, user_id, username, created_at) VALUES", 5);

  // What the load scripts use: tokens of 1,000 users (valid for a day), names, photo ids, queries.
  std::ofstream tokens{out_dir + "/tokens"}, names{out_dir + "/usernames"},
      photo_ids{out_dir + "/photos"}, queries{out_dir + "/queries"};
  for (size_t i = 0; i < 1000 && i < users.size(); ++i) {
    auto& u = users[(i * 7919) % users.size()];
    tokens << jwt::sign({u.id, u.name, "user", now, now + 86400}, key) << "\n";
  }
  for (size_t i = 0; i < 1000; ++i) names << by_activity[active(rng)].name << "\n";
  for (size_t i = 0; i < 10'000 && i < public_photos.size(); ++i)
    photo_ids << public_photos[(i * 7919) % public_photos.size()] << "\n";
  // Fixed query list: caption words, two-word queries, hashtags, automatic tags, user names.
  for (size_t i = 0; i < 10; ++i) queries << "photos " << vocabulary[i] << "\n";
  for (size_t i = 0; i < 10; ++i)
    queries << "photos " << vocabulary[i] << "%20" << vocabulary[i + 10] << "\n";
  for (size_t i = 0; i < 5; ++i) queries << "photos %23" << vocabulary[i + 5] << "\n";
  for (size_t i = 0; i < 5; ++i) queries << "photos " << colours[i] << "\n";
  for (size_t i = 0; i < 10; ++i) queries << "users user" << (i * 37) % 1000 << "\n";
  for (size_t i = 0; i < 5; ++i) queries << "users usre" << i * 11 << "\n";  // typos
  for (size_t i = 0; i < 5; ++i) queries << "tags " << vocabulary[i].substr(0, 2) << "\n";
  std::cout << "seeded " << n_users << " users, " << follows << " follows, " << n_photos
            << " photos, " << liked.size() << " likes\n";
  return 0;
}
