#include "media_logic.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include <prometheus/gauge.h>
#include <nlohmann/json.hpp>

#include "pixhive/bus/payload.hpp"
#include "pixhive/contracts/events.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/hash64.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/imaging/sniff.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::media {

using namespace contracts;

namespace {

constexpr size_t max_caption_chars = 2200;
/// Perceptual hashes at most this many bits apart are the same picture (re-encoded, resized).
constexpr int duplicate_max_distance = 4;

const char* photo_columns =
    "id, owner_id, owner_username, caption, hashtags, photo_key, visibility, content_type, size, "
    "width, "
    "height, sha256, status, created_at, blob_key, status_reason, auto_tags, ocr_text, phash, "
    "duplicate_of, detections";

const char* moderation_columns =
    "photo_id, owner_id, owner_username, verdict, scores, state, created_at, decided_by, "
    "decided_by_username, decided_at";

/// Space-separated words (hashtags and automatic tags are stored this way).
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    auto next = text.find(' ', pos);
    if (next == std::string::npos) next = text.size();
    if (next > pos) out.push_back(text.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

photo_view to_photo(const store::row& r) {
  photo_view p;
  p.id = r.int_at(0);
  p.owner_id = r.int_at(1);
  p.owner_username = r.str_at(2);
  p.caption = r.str_at(3);
  p.hashtags = split_words(r.str_at(4));
  p.key = r.str_at(5);
  p.visibility = r.str_at(6);
  p.content_type = r.str_at(7);
  p.size = r.int_at(8);
  p.width = r.int_at(9);
  p.height = r.int_at(10);
  p.sha256 = r.str_at(11);
  p.status = r.str_at(12);
  p.created_at = r.int_at(13);
  p.status_reason = r.str_at(15);
  p.auto_tags = split_words(r.str_at(16));
  p.text = r.str_at(17);
  p.phash = r.str_at(18);
  p.duplicate_of = r.int_at(19);
  // {"objects": [...], "faces": [...]}, as processing reported them.
  auto found = nlohmann::json::parse(r.str_at(20), nullptr, false);
  auto read = [&](const char* key, std::vector<detected>& into) {
    if (!found.is_object() || !found.contains(key) || !found[key].is_array()) return;
    for (const auto& d : found[key]) {
      auto box = d.value("box", nlohmann::json::array());
      if (!box.is_array() || box.size() != 4) continue;
      into.push_back({d.value("label", std::string()), d.value("confidence", 0.0),
                      box[0].get<int64_t>(), box[1].get<int64_t>(), box[2].get<int64_t>(),
                      box[3].get<int64_t>()});
    }
  };
  read("objects", p.objects);
  read("faces", p.faces);
  return p;
}

moderation_item to_moderation(const store::row& r) {
  moderation_item m;
  m.photo_id = r.int_at(0);
  m.owner_id = r.int_at(1);
  m.owner_username = r.str_at(2);
  m.verdict = r.str_at(3);
  auto scores = nlohmann::json::parse(r.str_at(4), nullptr, false);
  if (scores.is_object()) {
    m.drawing = scores.value("drawing", 0.0);
    m.hentai = scores.value("hentai", 0.0);
    m.neutral = scores.value("neutral", 0.0);
    m.porn = scores.value("porn", 0.0);
    m.sexy = scores.value("sexy", 0.0);
  }
  m.state = r.str_at(5);
  m.created_at = r.int_at(6);
  m.decided_by = r.int_at(7);
  m.decided_by_username = r.str_at(8);
  m.decided_at = r.int_at(9);
  return m;
}

/// The photo.uploaded event processing starts from.
photo_uploaded uploaded_event(const photo_view& p, const std::string& blob_key) {
  return {p.id, p.owner_id, p.content_type, p.width, p.height, blob_key};
}

bool owner_or_admin(const photo_view& p, const viewer& who) {
  return who.admin || (who.user_id != 0 && who.user_id == p.owner_id);
}

bool may_see(const photo_view& p, const viewer& who) {
  // Others see a photo only once its moderation verdict is in: processing, failed and held
  // photos exist for their owner and the admins alone.
  return owner_or_admin(p, who) || is_public_ready(p);
}

/// SQL condition of the photos everyone may see: is_public_ready.
const std::string public_ready = "(visibility = 'public' AND status = 'ready')";
/// SQL condition of the photos `who` may list: the rule of may_see, with two parameters
/// (user id, admin as 1/0).
const std::string visible_to_viewer = "(" + public_ready + " OR owner_id = ? OR ? = 1)";

caf::error no_photo() {
  return make_error(errc::not_found, "photo_not_found", "no such photo");
}

size_t code_points(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](unsigned char c) { return (c & 0xC0) != 0x80; }));
}

struct media_metrics {
  prometheus::Family<prometheus::Counter>& uploads;
  prometheus::Histogram& upload_bytes;
  prometheus::Family<prometheus::Histogram>& blob_ops;
  prometheus::Gauge& moderation_pending;
  prometheus::Family<prometheus::Counter>& moderation_decisions;
  static media_metrics& get() {
    static auto& upload_family = prometheus::BuildHistogram()
                                     .Name("pixhive_media_upload_size_bytes")
                                     .Help("Size of accepted uploads")
                                     .Register(metrics::registry());
    static media_metrics m{
        prometheus::BuildCounter()
            .Name("pixhive_media_uploads_total")
            .Help("Uploads by result")
            .Register(metrics::registry()),
        upload_family.Add(
            {}, prometheus::Histogram::BucketBoundaries{16e3, 64e3, 256e3, 1e6, 4e6, 16e6, 64e6}),
        prometheus::BuildHistogram()
            .Name("pixhive_media_blob_operation_seconds")
            .Help("Blob store operations by backend and operation")
            .Register(metrics::registry()),
        prometheus::BuildGauge()
            .Name("pixhive_moderation_queue_length")
            .Help("Flagged uploads waiting for an admin's decision")
            .Register(metrics::registry())
            .Add({}),
        prometheus::BuildCounter()
            .Name("pixhive_moderation_decisions_total")
            .Help("Admins' moderation decisions (approved, rejected)")
            .Register(metrics::registry())};
    // Both series exist from the start, at 0, so a dashboard's rate has data before the first
    // decision.
    static const bool zeroed = [] {
      for (const char* d : {"approved", "rejected"}) m.moderation_decisions.Add({{"decision", d}});
      return true;
    }();
    (void)zeroed;
    return m;
  }
  void upload(const char* result) { uploads.Add({{"result", result}}).Increment(); }
};

/// Times one blob-store call into the histogram.
template <class F>
auto timed(store::blob_store& blobs, const char* op, F&& f) {
  auto start = std::chrono::steady_clock::now();
  auto r = f();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  media_metrics::get()
      .blob_ops
      .Add({{"backend", std::string(blobs.backend())}, {"operation", op}},
           metrics::latency_buckets())
      .Observe(secs);
  return r;
}

}  // namespace

std::vector<std::string> parse_hashtags(const std::string& caption) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < caption.size(); ++i) {
    if (caption[i] != '#') continue;
    std::string tag;
    size_t j = i + 1;
    for (; j < caption.size(); ++j) {
      unsigned char c = caption[j];
      if (std::isalnum(c) || c == '_')
        tag += static_cast<char>(std::tolower(c));
      else if (c >= 0x80)
        tag += static_cast<char>(c);
      else
        break;
    }
    if (!tag.empty() && tag.size() <= 100 && seen.insert(tag).second) out.push_back(tag);
    i = j - 1;
  }
  return out;
}

bool valid_photo_key(const std::string& key) {
  if (key.empty() || key.size() > 128) return false;
  return std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == '-';
  });
}

logic::logic(std::shared_ptr<store::database> db, std::shared_ptr<store::blob_store> blobs,
             std::shared_ptr<bus::event_bus> events, const media_config& cfg)
    : db_(std::move(db)),
      blobs_(std::move(blobs)),
      events_(std::move(events)),
      outbox_(std::make_shared<bus::outbox>("media", db_, events_)),
      cfg_(cfg),
      cache_(cfg.cache_bytes,
             cfg.cache_policy_lru ? store::cache_policy::lru : store::cache_policy::random) {
  media_metrics::get();
  refresh_moderation_gauge();
}

result<photo_view> logic::handle(upload_request& req) {
  auto& stats = media_metrics::get();
  auto reject = [&](caf::error e) -> result<photo_view> {
    stats.upload("rejected");
    return e;
  };
  if (code_points(req.caption) > max_caption_chars)
    return reject(make_error(errc::invalid_argument, "caption_too_long",
                             "caption is longer than 2200 characters"));
  if (!req.key.empty() && !valid_photo_key(req.key))
    return reject(
        make_error(errc::invalid_argument, "invalid_key", "key must match [A-Za-z0-9._-]{1,128}"));
  if (req.visibility.empty()) req.visibility = "public";
  if (req.visibility != "public" && req.visibility != "private")
    return reject(make_error(errc::invalid_argument, "invalid_visibility",
                             "visibility must be public or private"));
  auto info = imaging::sniff_image(req.bytes);
  if (!info) return reject(info.error());
  if (info->width * info->height > cfg_.max_pixels)
    return reject(make_error(errc::unprocessable, "too_many_pixels",
                             "the image has " + std::to_string(info->width) + "x" +
                                 std::to_string(info->height) + " pixels, more than the limit of " +
                                 std::to_string(cfg_.max_pixels)));
  photo_view p;
  p.id = next_id();
  p.owner_id = req.who.user_id;
  p.owner_username = req.who.username;
  p.caption = req.caption;
  p.hashtags = parse_hashtags(req.caption);
  p.key = req.key;
  p.visibility = req.visibility;
  p.content_type = info->content_type;
  p.size = static_cast<int64_t>(req.bytes.size());
  p.width = info->width;
  p.height = info->height;
  p.sha256 = crypto::sha256_hex(req.bytes);
  p.status = "processing";
  p.created_at = unix_now();
  auto blob_key = "originals/" + std::to_string(p.id);
  std::string tags = " ";
  for (auto& t : p.hashtags) tags += t + " ";
  // The row goes first, as `uploading`: it claims the key and journals the blob about to be
  // written, so that a crash between the two steps leaves a row that sweep_unfinished() cleans
  // up, never an orphan blob nobody knows about.
  auto inserted = db_->query(
      "INSERT INTO photos (id, owner_id, owner_username, caption, hashtags, photo_key, visibility, "
      "content_type, size, width, height, sha256, status, created_at, blob_key) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'uploading', ?, ?)",
      {p.id, p.owner_id, p.owner_username, p.caption, tags,
       p.key.empty() ? store::value{nullptr} : store::value{p.key}, p.visibility, p.content_type,
       p.size, p.width, p.height, p.sha256, p.created_at, blob_key});
  if (!inserted) {
    if (to_problem(inserted.error()).kind == errc::conflict) {
      stats.upload("rejected");
      return make_error(errc::conflict, "key_taken",
                        "you already have a photo with the key '" + p.key + "'");
    }
    stats.upload("failed");
    return inserted.error();
  }
  auto undo = [&] {
    (void)timed(*blobs_, "delete", [&] { return blobs_->remove(blob_key); });
    (void)db_->query("DELETE FROM photos WHERE id = ?", {p.id});
  };
  if (auto r = timed(*blobs_, "put", [&] { return blobs_->put(blob_key, req.bytes); }); !r) {
    undo();
    stats.upload("failed");
    return r.error();
  }
  // The photo becomes `processing` together with its announcement: once this commits, the
  // upload is acknowledged and processing will hear of it even if the bus is down right now.
  auto committed = db_->transaction([&](store::connection& c) -> result<void> {
    if (auto r = c.query("UPDATE photos SET status = ? WHERE id = ?", {p.status, p.id}); !r)
      return r.error();
    return outbox_->add(c, events::photo_uploaded, uploaded_event(p, blob_key));
  });
  if (!committed) {
    undo();
    stats.upload("failed");
    return committed.error();
  }
  outbox_->wake();
  stats.upload("accepted");
  stats.upload_bytes.Observe(static_cast<double>(p.size));
  log::info("photo_uploaded", {{"photo_id", p.id}, {"owner_id", p.owner_id}, {"bytes", p.size}});
  return p;
}

result<void> logic::complete(std::vector<photo_view*> photos, const viewer& who) {
  if (photos.empty()) return caf::unit;
  // A link names only what the viewer may see: a public duplicate of a private, processing or
  // held original does not reveal that the original exists.
  std::vector<store::value> originals;
  for (auto* p : photos)
    if (p->duplicate_of && !owner_or_admin(*p, who)) originals.emplace_back(p->duplicate_of);
  if (!originals.empty()) {
    auto seen = db_->query("SELECT id FROM photos WHERE id IN (" +
                               store::placeholders(originals.size()) + ") AND " + public_ready,
                           originals);
    if (!seen) return seen.error();
    std::set<int64_t> visible;
    for (auto& r : *seen) visible.insert(r.int_at(0));
    for (auto* p : photos)
      if (p->duplicate_of && !owner_or_admin(*p, who) && !visible.count(p->duplicate_of))
        p->duplicate_of = 0;
  }
  // One query for every photo of a page, not one per photo.
  std::vector<store::value> ids;
  for (auto* p : photos) ids.emplace_back(p->id);
  auto rows = db_->query(
      "SELECT photo_id, name, content_type, size, width, height FROM photo_variants WHERE photo_id "
      "IN (" +
          store::placeholders(ids.size()) + ") ORDER BY photo_id, name",
      ids);
  if (!rows) return rows.error();
  for (auto& r : *rows)
    for (auto* p : photos)
      if (p->id == r.int_at(0))
        p->variants.push_back({r.str_at(1), r.str_at(2), r.int_at(3), r.int_at(4), r.int_at(5)});
  return caf::unit;
}

result<photo_view> logic::load(int64_t id, const viewer& who) {
  auto rows = db_->query(std::string("SELECT ") + photo_columns +
                             " FROM photos WHERE id = ? AND status <> 'uploading'",
                         {id});
  if (!rows) return rows.error();
  if (rows->empty()) return no_photo();
  auto p = to_photo(rows->front());
  if (!may_see(p, who)) return no_photo();
  return p;
}

result<photo_view> logic::handle(const get_photo_request& req) {
  auto p = load(req.photo_id, req.who);
  if (!p) return p.error();
  if (auto r = complete({&*p}, req.who); !r) return r.error();
  return p;
}

result<blob_reply> logic::handle(const get_blob_request& req) {
  auto p = load(req.photo_id, req.who);
  if (!p) return p.error();
  std::string key = "originals/" + std::to_string(p->id);
  blob_reply out{{}, p->content_type, p->sha256, is_public_ready(*p)};
  if (!req.variant.empty()) {
    auto rows = db_->query(
        "SELECT content_type, blob_key, sha256 FROM photo_variants WHERE photo_id = ? AND name = ?",
        {p->id, req.variant});
    if (!rows) return rows.error();
    if (rows->empty()) return make_error(errc::not_found, "variant_not_found", "no such variant");
    out.content_type = rows->front().str_at(0);
    key = rows->front().str_at(1);
    out.sha256 = rows->front().str_at(2);
  }
  auto bytes = read_blob(key);
  if (!bytes) return bytes.error();
  out.bytes = std::move(*bytes);
  return out;
}

result<std::string> logic::read_blob(const std::string& key) {
  if (auto hit = cache_.get(key)) return std::move(*hit);
  auto bytes = timed(*blobs_, "get", [&] { return blobs_->get(key); });
  if (bytes) cache_.put(key, *bytes);
  return bytes;
}

result<photo_page> logic::handle(const list_photos_request& req) {
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto before = req.before_id > 0 ? req.before_id : std::numeric_limits<int64_t>::max();
  auto rows = db_->query(std::string("SELECT ") + photo_columns +
                             " FROM photos WHERE owner_username = ? AND id < ? AND status <> "
                             "'uploading' AND " +
                             visible_to_viewer + " ORDER BY id DESC LIMIT ?",
                         {req.owner_username, before, req.who.user_id,
                          int64_t{req.who.admin ? 1 : 0}, int64_t{limit + 1}});
  if (!rows) return rows.error();
  photo_page page;
  for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(limit); ++i)
    page.photos.push_back(to_photo((*rows)[i]));
  std::vector<photo_view*> all;
  for (auto& p : page.photos) all.push_back(&p);
  if (auto r = complete(std::move(all), req.who); !r) return r.error();
  if (rows->size() > static_cast<size_t>(limit)) page.next_before_id = page.photos.back().id;
  return page;
}

result<photo_count> logic::handle(const photo_count_request& req) {
  auto rows =
      db_->query(std::string("SELECT COUNT(*) FROM photos WHERE owner_username = ? AND status <> "
                             "'uploading' AND ") +
                     visible_to_viewer,
                 {req.owner_username, req.who.user_id, int64_t{req.who.admin ? 1 : 0}});
  if (!rows) return rows.error();
  return photo_count{rows->front().int_at(0)};
}

result<photo_page> logic::handle(const photos_by_ids_request& req) {
  photo_page page;
  if (req.ids.empty()) return page;
  if (req.ids.size() > 200)
    return make_error(errc::invalid_argument, "too_many_ids", "at most 200 photos per request");
  auto rows = db_->query(std::string("SELECT ") + photo_columns +
                             " FROM photos WHERE status <> 'uploading' AND id IN (" +
                             store::placeholders(req.ids.size()) + ")",
                         {req.ids.begin(), req.ids.end()});
  if (!rows) return rows.error();
  std::map<int64_t, photo_view> found;
  for (auto& r : *rows) {
    auto p = to_photo(r);
    if (may_see(p, req.who)) found.emplace(p.id, std::move(p));
  }
  for (auto id : req.ids)
    if (auto it = found.find(id); it != found.end()) page.photos.push_back(std::move(it->second));
  std::vector<photo_view*> all;
  for (auto& p : page.photos) all.push_back(&p);
  if (auto r = complete(std::move(all), req.who); !r) return r.error();
  return page;
}

result<photo_view> logic::handle(const photo_by_key_request& req) {
  auto rows = db_->query(
      std::string("SELECT ") + photo_columns +
          " FROM photos WHERE owner_username = ? AND photo_key = ? AND status <> 'uploading'",
      {req.owner_username, req.key});
  if (!rows) return rows.error();
  if (rows->empty()) return no_photo();
  auto p = to_photo(rows->front());
  if (!may_see(p, req.who)) return no_photo();
  if (auto r = complete({&p}, req.who); !r) return r.error();
  return p;
}

result<done> logic::handle(const delete_photo_request& req) {
  auto p = load(req.photo_id, req.who);
  if (!p) return p.error();
  if (!req.who.admin && req.who.user_id != p->owner_id)
    return make_error(errc::forbidden, "forbidden",
                      "only the owner or an admin may delete a photo");
  auto keys = db_->transaction([&](store::connection& c) -> result<store::rows> {
    // On PostgreSQL, locking the photo waits for variant writes in flight (they hold a key-share
    // lock on it), so the list read next is complete; SQLite runs one writer at a time anyway.
    if (c.dialect() == store::dialect::postgres)
      if (auto r = c.query("SELECT id FROM photos WHERE id = ? FOR UPDATE", {p->id}); !r)
        return r.error();
    auto k = c.query("SELECT blob_key FROM photo_variants WHERE photo_id = ?", {p->id});
    if (!k) return k.error();
    if (auto r = c.query("DELETE FROM photo_variants WHERE photo_id = ?", {p->id}); !r)
      return r.error();
    if (auto r = c.query("DELETE FROM photos WHERE id = ?", {p->id}); !r) return r.error();
    if (auto o = outbox_->add(c, events::photo_deleted, {p->id, p->owner_id}); !o) return o.error();
    return k;
  });
  if (!keys) return keys.error();
  std::vector<std::string> blob_keys{"originals/" + std::to_string(p->id)};
  for (auto& r : *keys) blob_keys.push_back(r.str_at(0));
  for (auto& k : blob_keys) cache_.erase(k);
  for (auto& k : blob_keys)
    if (auto r = timed(*blobs_, "delete", [&] { return blobs_->remove(k); }); !r)
      log::error("blob_delete_failed", {{"photo_id", p->id}, {"key", k}});
  outbox_->wake();
  return done{};
}

result<done> logic::handle(put_variant_request& req) {
  bool name_ok = !req.name.empty() && req.name.size() <= 64 &&
                 std::all_of(req.name.begin(), req.name.end(), [](unsigned char c) {
                   return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
                 });
  if (!name_ok)
    return make_error(errc::invalid_argument, "invalid_variant",
                      "variant names are [a-z0-9_-]{1,64}");
  auto exists =
      db_->query("SELECT 1 FROM photos WHERE id = ? AND status <> 'uploading'", {req.photo_id});
  if (!exists) return exists.error();
  if (exists->empty()) return no_photo();
  auto key = "variants/" + std::to_string(req.photo_id) + "/" + req.name;
  if (auto r = timed(*blobs_, "put", [&] { return blobs_->put(key, req.bytes); }); !r)
    return r.error();
  auto r = db_->transaction([&](store::connection& c) -> result<bool> {
    if (auto d = c.query("DELETE FROM photo_variants WHERE photo_id = ? AND name = ?",
                         {req.photo_id, req.name});
        !d)
      return d.error();
    // Only while the photo exists: a delete may have run since the check above.
    auto i = c.query(
        "INSERT INTO photo_variants (photo_id, name, content_type, size, width, height, blob_key, "
        "sha256) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM photos WHERE id = ?) "
        "RETURNING photo_id",
        {req.photo_id, req.name, req.content_type, static_cast<int64_t>(req.bytes.size()),
         req.width, req.height, key, crypto::sha256_hex(req.bytes), req.photo_id});
    if (!i) return i.error();
    return !i->empty();
  });
  if (!r || !*r) {
    // The photo went away while its variant was written: the blob belongs to nobody.
    auto still = db_->query("SELECT 1 FROM photos WHERE id = ?", {req.photo_id});
    if (still && still->empty()) {
      cache_.erase(key);
      (void)blobs_->remove(key);
      return no_photo();
    }
    if (!r) return r.error();
  }
  return done{};
}

result<void> logic::apply_event(const bus::event& e) {
  // Redelivery cannot fix a malformed event: it is logged and acknowledged.
  auto bad = [&] {
    log::error("bad_event", {{"type", e.type}, {"event_id", e.id}});
    return caf::unit;
  };
  if (e.type == events::photo_failed.name) {
    auto failed = bus::read<photo_failed>(e);
    if (!failed || !failed->photo_id) return bad();
    auto r = db_->query(
        "UPDATE photos SET status = 'failed', status_reason = ? WHERE id = ?",
        {failed->reason.empty() ? "processing failed" : failed->reason, failed->photo_id});
    if (!r) return r.error();
    return caf::unit;
  }
  // photo.processed or photo.held
  auto ev = bus::read<photo_processed>(e);
  if (!ev || !ev->photo_id) return bad();
  int64_t id = ev->photo_id;
  std::string tags;
  for (const auto& t : ev->tags) tags += (tags.empty() ? "" : " ") + t;
  const auto& phash = ev->hash;
  // A re-upload of the same picture by the same owner: the earliest close hash wins.
  int64_t duplicate_of = 0;
  if (auto mine = parse_hash64(phash)) {
    auto others = db_->query(
        "SELECT id, phash FROM photos WHERE owner_id = (SELECT owner_id FROM photos WHERE id = ?) "
        "AND id < ? AND phash <> '' ORDER BY id",
        {id, id});
    if (!others) return others.error();
    for (const auto& row : *others)
      if (auto theirs = parse_hash64(row.str_at(1));
          theirs && hamming_distance(*mine, *theirs) <= duplicate_max_distance) {
        duplicate_of = row.int_at(0);
        break;
      }
  }
  auto detections = nlohmann::json{{"objects", ev->objects}, {"faces", ev->faces}};
  auto verdict = ev->moderation.verdict.empty() ? std::string("clear") : ev->moderation.verdict;
  const auto& scores = ev->moderation.scores;
  bool flagged = verdict == "held" || verdict == "review";
  auto r = db_->transaction([&](store::connection& c) -> result<bool> {
    // An admin's approval stands when processing runs the photo again (a redelivered upload).
    auto decided = c.query("SELECT state FROM moderation WHERE photo_id = ?", {id});
    if (!decided) return decided.error();
    bool approved = !decided->empty() && decided->front().str_at(0) == "approved";
    bool hold = e.type == "photo.held" && !approved;
    std::string reason;
    if (hold) {
      char score[16];
      std::snprintf(score, sizeof score, "%.2f", scores.porn + scores.hentai);
      reason = std::string("held for review: the picture may be explicit (score ") + score + ")";
    }
    auto updated = c.query(
        "UPDATE photos SET status = ?, status_reason = ?, auto_tags = ?, ocr_text = ?, phash = ?, "
        "duplicate_of = ?, width = ?, height = ?, detections = ? WHERE id = ? AND status <> "
        "'uploading' RETURNING owner_id, owner_username",
        {hold ? "held" : "ready", reason, tags, ev->text, phash, duplicate_of, ev->width,
         ev->height, detections.dump(), id});
    if (!updated) return updated.error();
    if (updated->empty() || !flagged) return false;
    auto queued = c.query(
        "INSERT INTO moderation (photo_id, owner_id, owner_username, verdict, scores, state, "
        "created_at, event) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (photo_id) DO "
        "NOTHING",
        {id, updated->front().int_at(0), updated->front().str_at(1), verdict,
         nlohmann::json(scores).dump(), unix_now(), e.payload});
    if (!queued) return queued.error();
    return true;
  });
  if (!r) return r.error();
  if (*r) refresh_moderation_gauge();
  log::info(
      "photo_ready",
      {{"photo_id", id}, {"tags", tags}, {"duplicate_of", duplicate_of}, {"moderation", verdict}});
  return caf::unit;
}

void logic::refresh_moderation_gauge() {
  auto rows = db_->query("SELECT COUNT(*) FROM moderation WHERE state = 'pending'");
  if (rows) media_metrics::get().moderation_pending.Set(double(rows->front().int_at(0)));
}

result<moderation_queue> logic::handle(const moderation_queue_request& req) {
  if (!req.who.admin) return make_error(errc::forbidden, "forbidden", "admins only");
  if (req.state != "pending" && req.state != "approved" && req.state != "rejected" &&
      req.state != "all")
    return make_error(errc::invalid_argument, "invalid_state",
                      "state must be pending, approved, rejected or all");
  auto limit = std::clamp<int32_t>(req.limit, 1, 100);
  auto before = req.before_id > 0 ? req.before_id : std::numeric_limits<int64_t>::max();
  auto rows = db_->query(std::string("SELECT ") + moderation_columns +
                             " FROM moderation WHERE (? = 'all' OR state = ?) AND photo_id < ? "
                             "ORDER BY photo_id DESC LIMIT ?",
                         {req.state, req.state, before, int64_t{limit + 1}});
  if (!rows) return rows.error();
  moderation_queue out;
  for (size_t i = 0; i < rows->size() && i < static_cast<size_t>(limit); ++i)
    out.items.push_back(to_moderation((*rows)[i]));
  if (rows->size() > static_cast<size_t>(limit)) out.next_before_id = out.items.back().photo_id;
  auto pending = db_->query("SELECT COUNT(*) FROM moderation WHERE state = 'pending'");
  if (!pending) return pending.error();
  out.pending = pending->front().int_at(0);
  return out;
}

result<moderation_item> logic::handle(const moderation_decision_request& req) {
  if (!req.who.admin) return make_error(errc::forbidden, "forbidden", "admins only");
  if (req.decision != "approve" && req.decision != "reject")
    return make_error(errc::invalid_argument, "invalid_decision",
                      "decision must be approve or reject");
  const std::string target = req.decision == "approve" ? "approved" : "rejected";
  auto load_item = [&]() -> result<std::optional<std::pair<moderation_item, std::string>>> {
    auto rows = db_->query(
        std::string("SELECT ") + moderation_columns + ", event FROM moderation WHERE photo_id = ?",
        {req.photo_id});
    if (!rows) return rows.error();
    if (rows->empty()) return std::nullopt;
    return std::make_pair(to_moderation(rows->front()), rows->front().str_at(10));
  };
  auto found = load_item();
  if (!found) return found.error();
  if (!*found)
    return make_error(errc::not_found, "not_in_moderation",
                      "this photo is not in the moderation queue");
  auto& [item, event] = **found;
  if (item.state == target) return item;  // the same decision twice changes nothing
  if (item.state != "pending")
    return make_error(errc::conflict, "already_decided", "this photo was already " + item.state);
  auto now = unix_now();
  if (req.decision == "reject") {
    // The photo goes first; the decision is recorded once it is gone (or was already).
    auto removed = handle(delete_photo_request{req.photo_id, req.who});
    if (!removed && to_problem(removed.error()).kind != errc::not_found) return removed.error();
  }
  auto r = db_->transaction([&](store::connection& c) -> result<bool> {
    auto marked = c.query(
        "UPDATE moderation SET state = ?, decided_by = ?, decided_by_username = ?, decided_at = ? "
        "WHERE photo_id = ? AND state = 'pending' RETURNING photo_id",
        {target, req.who.user_id, req.who.username, now, req.photo_id});
    if (!marked) return marked.error();
    if (marked->empty()) return false;  // another admin decided meanwhile
    if (req.decision == "approve" && item.verdict == "held") {
      auto released = c.query(
          "UPDATE photos SET status = 'ready', status_reason = '' WHERE id = ? AND status = "
          "'held' RETURNING id",
          {req.photo_id});
      if (!released) return released.error();
      // Feeds, search and notifications learn of the photo now, as if it had just been
      // processed.
      if (!released->empty()) {
        // The photo.held event it was queued with (media read it when it arrived).
        if (auto processed = bus::read<photo_processed>(event)) {
          processed->moderation.verdict = "approved";
          if (auto o = outbox_->add(c, events::photo_processed, *processed); !o) return o.error();
        } else {
          log::error("bad_moderation_event", {{"photo_id", req.photo_id}});
        }
      }
    }
    return true;
  });
  if (!r) return r.error();
  outbox_->wake();
  if (!*r) {
    auto now_item = load_item();
    if (!now_item) return now_item.error();
    if (*now_item && (*now_item)->first.state == target) return (*now_item)->first;
    return make_error(errc::conflict, "already_decided", "another admin decided first");
  }
  media_metrics::get().moderation_decisions.Add({{"decision", target}}).Increment();
  refresh_moderation_gauge();
  log::info("moderation_decided",
            {{"photo_id", req.photo_id}, {"decision", target}, {"admin", req.who.username}});
  item.state = target;
  item.decided_by = req.who.user_id;
  item.decided_by_username = req.who.username;
  item.decided_at = now;
  return item;
}

result<photo_view> logic::handle(const retry_photo_request& req) {
  auto p = load(req.photo_id, req.who);
  if (!p) return p.error();
  if (!owner_or_admin(*p, req.who))
    return make_error(errc::forbidden, "forbidden", "only the owner or an admin may retry a photo");
  auto not_failed = [] {
    return make_error(errc::conflict, "not_failed", "only a failed photo can be retried");
  };
  if (p->status != "failed") return not_failed();
  auto r = db_->transaction([&](store::connection& c) -> result<bool> {
    auto u = c.query(
        "UPDATE photos SET status = 'processing', status_reason = '' WHERE id = ? AND status = "
        "'failed' RETURNING blob_key",
        {p->id});
    if (!u) return u.error();
    if (u->empty()) return false;
    if (auto o = outbox_->add(c, events::photo_uploaded, uploaded_event(*p, u->front().str_at(0)));
        !o)
      return o.error();
    return true;
  });
  if (!r) return r.error();
  if (!*r) return not_failed();
  outbox_->wake();
  p->status = "processing";
  p->status_reason.clear();
  if (auto c = complete({&*p}, req.who); !c) return c.error();
  log::info("photo_retried", {{"photo_id", p->id}});
  return p;
}

result<done> logic::handle(const set_status_request& req) {
  if (req.status != "ready" && req.status != "failed" && req.status != "processing")
    return make_error(errc::invalid_argument, "invalid_status",
                      "status must be processing, ready or failed");
  auto r = db_->query("UPDATE photos SET status = ?, status_reason = ? WHERE id = ? RETURNING id",
                      {req.status, req.reason, req.photo_id});
  if (!r) return r.error();
  if (r->empty()) return no_photo();
  return done{};
}

cache_stats logic::handle(const cache_stats_request&) {
  auto s = cache_.snapshot();
  return cache_stats{
      s.items,  s.bytes,    s.capacity_bytes / (1024 * 1024), store::to_string(s.policy), s.hits,
      s.misses, s.evictions};
}

result<cache_stats> logic::handle(const configure_cache_request& req) {
  auto policy = store::parse_cache_policy(req.policy);
  if (!policy)
    return make_error(errc::invalid_argument, "invalid_policy", "policy must be lru or random");
  if (req.capacity_mb < 0 || req.capacity_mb > 1024 * 1024)
    return make_error(errc::invalid_argument, "invalid_capacity", "capacity_mb must be 0..1048576");
  cache_.configure(static_cast<size_t>(req.capacity_mb) * 1024 * 1024, *policy);
  log::info("cache_configured", {{"capacity_mb", req.capacity_mb}, {"policy", req.policy}});
  return handle(cache_stats_request{});
}

cache_stats logic::handle(const clear_cache_request&) {
  cache_.clear();
  return handle(cache_stats_request{});
}

result<media_stats> logic::handle(const media_stats_request&) {
  media_stats out;
  auto now = unix_now();
  auto totals = db_->query(
      "SELECT COUNT(*), COALESCE(SUM(size), 0), COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE "
      "0 END), 0), "
      "COALESCE(SUM(CASE WHEN created_at > ? THEN 1 ELSE 0 END), 0) FROM photos",
      {now - 3600, now - 86400});
  if (!totals) return totals.error();
  const auto& t = totals->front();
  out.photos = t.int_at(0);
  out.bytes = t.int_at(1);
  out.uploads_last_hour = t.int_at(2);
  out.uploads_last_day = t.int_at(3);
  auto variants = db_->query("SELECT COALESCE(SUM(size), 0) FROM photo_variants");
  if (!variants) return variants.error();
  out.bytes += variants->front().int_at(0);
  auto by_status =
      db_->query("SELECT status, COUNT(*) FROM photos GROUP BY status ORDER BY status");
  if (!by_status) return by_status.error();
  for (auto& r : *by_status) out.by_status.push_back({r.str_at(0), r.int_at(1)});
  return out;
}

result<int64_t> logic::republish_processing() {
  auto rows = db_->query(std::string("SELECT ") + photo_columns +
                         " FROM photos WHERE status = 'processing' ORDER BY id");
  if (!rows) return rows.error();
  for (const auto& r : *rows)
    if (auto e =
            events_->publish(events::photo_uploaded, uploaded_event(to_photo(r), r.str_at(14)));
        !e)
      return e.error();
  if (!rows->empty()) log::info("processing_republished", {{"photos", rows->size()}});
  return static_cast<int64_t>(rows->size());
}

result<int64_t> logic::sweep_unfinished(int64_t older_than_seconds) {
  auto rows =
      db_->query("SELECT id, blob_key FROM photos WHERE status = 'uploading' AND created_at < ?",
                 {unix_now() - older_than_seconds});
  if (!rows) return rows.error();
  for (auto& r : *rows) {
    if (auto b = blobs_->remove(r.str_at(1)); !b) return b.error();
    if (auto d =
            db_->query("DELETE FROM photos WHERE id = ? AND status = 'uploading'", {r.int_at(0)});
        !d)
      return d.error();
    log::warn("unfinished_upload_removed", {{"photo_id", r.int_at(0)}});
  }
  return static_cast<int64_t>(rows->size());
}

result<done> logic::handle(const ping_request&) {
  auto r = db_->query("SELECT 1");
  if (!r) return r.error();
  return done{};
}

}  // namespace pixhive::media
