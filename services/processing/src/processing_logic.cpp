#include "processing_logic.hpp"

#include "pixhive/bus/payload.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include <unistd.h>
#include <caf/all.hpp>
#include <opencv2/core.hpp>

#include "pixhive/core/ask.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/hash64.hpp"
#include "pixhive/core/ids.hpp"
#include "pixhive/core/json.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/imaging/codec.hpp"
#include "pixhive/imaging/operations.hpp"
#include "pixhive/imaging/sniff.hpp"
#include "pixhive/metrics/metrics.hpp"

namespace pixhive::processing {

using namespace contracts;
using nlohmann::json;

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

/// Failures that another attempt cannot fix: bad input, a photo that is gone.
bool permanent(const caf::error& e) {
  auto p = to_problem(e);
  if (p.code == "timeout") return true;
  auto k = p.kind;
  return k == errc::invalid_argument || k == errc::unprocessable || k == errc::not_found ||
         k == errc::unsupported_media_type || k == errc::forbidden;
}

/// The failure as the job's owner sees it: what a store or another service said stays in the
/// log.
std::string reason(const caf::error& e) {
  auto p = to_problem(e);
  if ((p.kind == errc::internal || p.kind == errc::unavailable) && p.code != "timeout") {
    log::warn("job_step_failed", {{"code", p.code}, {"detail", p.message}});
    return p.code + ": a service this job needs failed; it may be retried";
  }
  return p.code + ": " + p.message;
}

/// Counts a running operation for the in-flight gauge.
struct running {
  running() { processing_metrics::get().in_flight.Increment(); }
  ~running() { processing_metrics::get().in_flight.Decrement(); }
};

/// This thread's worker name: the replica and a number per worker thread.
const std::string& worker_name(const std::string& node) {
  static std::atomic<int> counter{0};
  thread_local std::string name = node + "/worker-" + std::to_string(++counter);
  return name;
}

const char* job_columns =
    "id, photo_id, owner_id, operation, params, format, status, attempts, error, worker, "
    "created_at, started_at, finished_at, result_url, data, input_key";

job_view to_job(const store::row& r) {
  job_view j;
  j.id = r.int_at(0);
  j.photo_id = r.int_at(1);
  j.owner_id = r.int_at(2);
  j.operation = r.str_at(3);
  j.params = r.str_at(4);
  j.format = r.str_at(5);
  j.status = r.str_at(6);
  j.attempts = static_cast<int32_t>(r.int_at(7));
  j.error = r.str_at(8);
  j.worker = r.str_at(9);
  j.created_at = r.int_at(10);
  j.started_at = r.int_at(11);
  j.finished_at = r.int_at(12);
  j.result_url = r.str_at(13);
  j.data = r.str_at(14);
  return j;
}

caf::error no_job() {
  return make_error(errc::not_found, "job_not_found", "no such job");
}

}  // namespace

processing_metrics& processing_metrics::get() {
  static processing_metrics m{
      prometheus::BuildCounter()
          .Name("pixhive_processing_jobs_total")
          .Help("Operations run, by operation and result (succeeded, failed, retried, cached)")
          .Register(metrics::registry()),
      prometheus::BuildHistogram()
          .Name("pixhive_processing_duration_seconds")
          .Help("Time to decode, run and encode one operation")
          .Register(metrics::registry()),
      prometheus::BuildGauge()
          .Name("pixhive_processing_in_flight")
          .Help("Operations running now")
          .Register(metrics::registry())
          .Add({}),
      prometheus::BuildGauge()
          .Name("pixhive_processing_queue_depth")
          .Help("Jobs queued or running, all replicas (read from the jobs table)")
          .Register(metrics::registry())
          .Add({}),
      prometheus::BuildCounter()
          .Name("pixhive_processing_attempts_total")
          .Help("Job deliveries by attempt number (1, 2, 3+)")
          .Register(metrics::registry()),
      prometheus::BuildCounter()
          .Name("pixhive_processing_dead_letters_total")
          .Help("Jobs that failed their last attempt (copied to the dead-letter stream)")
          .Register(metrics::registry())
          .Add({}),
      prometheus::BuildGauge()
          .Name("pixhive_processing_cache_hit_ratio")
          .Help("Share of ad-hoc requests the result cache answered")
          .Register(metrics::registry())
          .Add({}),
      prometheus::BuildCounter()
          .Name("pixhive_moderation_verdicts_total")
          .Help("Uploads scored by the explicit-content classifier, by verdict (clear, review, "
                "held)")
          .Register(metrics::registry()),
      prometheus::BuildHistogram()
          .Name("pixhive_processing_pipeline_step_seconds")
          .Help("Time of each upload-pipeline step (decode, renditions, colours, objects, "
                "explicit, faces, text)")
          .Register(metrics::registry()),
      prometheus::BuildCounter()
          .Name("pixhive_processing_quota_refusals_total")
          .Help("Job submissions refused by a per-user quota (in_flight, per_minute)")
          .Register(metrics::registry()),
  };
  // Every verdict's series exists from the start, at 0, so a dashboard shows a rate of held and
  // review uploads before the first one.
  static const bool zeroed = [] {
    for (const char* v : {"clear", "review", "held"}) m.moderation.Add({{"verdict", v}});
    for (const char* q : {"in_flight", "per_minute"}) m.quota_refusals.Add({{"quota", q}});
    return true;
  }();
  (void)zeroed;
  return m;
}

void processing_metrics::observe(const std::string& op, const std::string& result, double seconds) {
  jobs.Add({{"operation", op}, {"result", result}}).Increment();
  if (seconds >= 0) durations.Add({{"operation", op}}, metrics::latency_buckets()).Observe(seconds);
}

std::string job_topic(int64_t job_id) {
  return "job:" + std::to_string(job_id);
}

result<std::string> choose_format(const std::string& operation, const std::string& format,
                                  const std::string& accept) {
  const auto* op = imaging::find_operation(operation);
  if (!op) return imaging::validate(operation, nullptr).error();  // the unknown_operation error
  if (format == "json") {
    if (!op->has_data)
      return make_error(errc::invalid_argument, "invalid_format",
                        operation + " produces an image: format must be png, jpeg or webp");
    return format;
  }
  if (format.empty() && op->has_data && accept.find("image/") == std::string::npos)
    return std::string("json");
  auto f = format.empty() ? imaging::from_accept(accept) : imaging::parse_format(format);
  if (!f) return f.error();
  if (op->has_alpha && *f == imaging::format::jpeg) {
    if (!format.empty())
      return make_error(errc::invalid_argument, "invalid_format",
                        operation + " produces transparency: format must be png or webp");
    return std::string("png");
  }
  return std::string(imaging::to_string(*f));
}

// --- media_link ---

result<photo_view> media_link::get_photo(int64_t id, const viewer& who) {
  return ask_blocking<photo_view>(*sys_, media_, get_photo_request{id, who});
}

result<blob_reply> media_link::get_original(int64_t id) {
  // Processing reads any photo it was asked to work on; access was checked at submission.
  return ask_blocking<blob_reply>(*sys_, media_,
                                  get_blob_request{id, "", viewer{0, "processing", true}});
}

result<done> media_link::put_variant(put_variant_request req) {
  return ask_blocking<done>(*sys_, media_, std::move(req));
}

// --- logic ---

logic::logic(std::shared_ptr<store::database> db, std::shared_ptr<store::blob_store> blobs,
             std::shared_ptr<bus::event_bus> events, media_link media, const processing_config& cfg)
    : db_(std::move(db)),
      blobs_(std::move(blobs)),
      events_(std::move(events)),
      outbox_(std::make_shared<bus::outbox>("processing", db_, events_)),
      media_(std::move(media)),
      cfg_(cfg),
      budget_(cfg.decode_memory) {
  processing_metrics::get();
}

result<logic::computed> logic::compute(std::string_view bytes, const std::string& operation,
                                       const json& params, const std::string& format) {
  auto& m = processing_metrics::get();
  running counted;
  auto started = std::chrono::steady_clock::now();
  // The header decides before any pixel is decoded: the type, the size, how small to decode.
  auto info = imaging::sniff_image(bytes);
  if (!info) {
    m.observe(operation, "failed", -1);
    return info.error();
  }
  if (info->width * info->height > cfg_.max_pixels)
    return make_error(errc::unprocessable, "too_many_pixels",
                      "the image has more than " + std::to_string(cfg_.max_pixels) + " pixels");
  auto reduction = imaging::decode_reduction(operation, params, info->width, info->height);
  // Held until the result is encoded: the decoded pixels live that long.
  auto lease = budget_.acquire(imaging::decode_cost(info->width, info->height, reduction));
  if (!lease) {
    m.observe(operation, "failed", -1);
    return lease.error();
  }
  auto img = imaging::decode(bytes, reduction);
  if (!img) {
    m.observe(operation, "failed", -1);
    return img.error();
  }
  if (imaging::deadline_expired()) return imaging::timeout_error(operation);
  auto out = imaging::apply(operation, *img, params);
  if (!out) {
    m.observe(operation, "failed", -1);
    return out.error();
  }
  if (imaging::deadline_expired()) return imaging::timeout_error(operation);
  computed c;
  c.width = out->image.cols;
  c.height = out->image.rows;
  if (format == "json") {
    c.reply.bytes = out->data.dump() + "\n";
    c.reply.content_type = "application/json";
  } else {
    auto f = imaging::parse_format(format);
    if (!f) return f.error();
    auto encoded = imaging::encode(out->image, *f);
    if (!encoded) return encoded.error();
    c.reply.bytes = std::move(*encoded);
    c.reply.content_type = imaging::content_type(*f);
  }
  c.data = std::move(out->data);
  m.observe(operation, "succeeded", seconds_since(started));
  return c;
}

result<process_reply> logic::handle(const process_request& req) {
  auto left = req.deadline_ms ? req.deadline_ms - now_ms() : cfg_.operation_timeout.count();
  if (left <= 0) {
    processing_metrics::get().observe(req.operation, "expired", -1);
    return make_error(errc::unavailable, "expired",
                      "the request waited too long in the queue; try again later", 1);
  }
  // The caller stops waiting at its deadline: work past it would be wasted.
  imaging::deadline_scope budget{std::chrono::steady_clock::now() +
                                 std::min(cfg_.operation_timeout, std::chrono::milliseconds(left))};
  auto params = imaging::validate_text(req.operation, req.params);
  if (!params) return params.error();
  auto c = compute(req.bytes, req.operation, *params, req.format);
  if (!c) return c.error();
  return std::move(c->reply);
}

result<void> logic::check_quota(int64_t owner, const viewer& who, int64_t wanted) {
  if (who.admin) return caf::unit;
  auto now = now_ms();
  auto rows = db_->query(
      "SELECT (SELECT COUNT(*) FROM jobs WHERE owner_id = ? AND status IN ('queued', 'running')), "
      "(SELECT COUNT(*) FROM jobs WHERE owner_id = ? AND created_at > ?), "
      "(SELECT MIN(created_at) FROM jobs WHERE owner_id = ? AND created_at > ?)",
      {owner, owner, now - 60'000, owner, now - 60'000});
  if (!rows) return rows.error();
  const auto& r = rows->front();
  if (r.int_at(0) + wanted > cfg_.jobs_in_flight_per_user) {
    processing_metrics::get().quota_refusals.Add({{"quota", "in_flight"}}).Increment();
    return make_error(errc::too_many_requests, "too_many_jobs_in_flight",
                      "you have " + std::to_string(r.int_at(0)) +
                          " operations queued or running; at most " +
                          std::to_string(cfg_.jobs_in_flight_per_user) +
                          " at once: retry once some have finished",
                      5);
  }
  if (r.int_at(1) + wanted > cfg_.jobs_per_minute_per_user) {
    processing_metrics::get().quota_refusals.Add({{"quota", "per_minute"}}).Increment();
    auto wait = r.is_null(2) ? 60 : std::max<int64_t>(1, (r.int_at(2) + 60'000 - now) / 1000 + 1);
    return make_error(
        errc::too_many_requests, "too_many_jobs_per_minute",
        "at most " + std::to_string(cfg_.jobs_per_minute_per_user) + " operations a minute", wait);
  }
  return caf::unit;
}

result<job_list> logic::handle(submit_jobs_request& req) {
  if (req.jobs.empty())
    return make_error(errc::invalid_argument, "no_jobs", "at least one operation is required");
  if (req.jobs.size() > 32)
    return make_error(errc::invalid_argument, "too_many_jobs", "at most 32 jobs per request");
  int64_t owner = req.who.user_id;
  if (req.photo_id) {
    auto photo = media_.get_photo(req.photo_id, req.who);
    if (!photo) return photo.error();
    if (photo->owner_id != req.who.user_id && !req.who.admin)
      return make_error(errc::forbidden, "not_owner", "only the photo's owner can process it");
    if (photo->status != "ready" && photo->status != "processing")
      return make_error(errc::conflict, "photo_not_ready",
                        "the photo is " + photo->status + ": " + photo->status_reason);
    owner = photo->owner_id;
  }
  if (auto q = check_quota(owner, req.who, static_cast<int64_t>(req.jobs.size())); !q)
    return q.error();
  if (!req.photo_id) {
    // Ad-hoc batches (several images, operation=all) share the admission limit of single
    // requests, counted across replicas in the jobs table.
    auto busy = db_->query(
        "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running') AND photo_id = 0");
    if (!busy) return busy.error();
    auto pending = busy->empty() ? 0 : busy->front().int_at(0);
    if (pending + static_cast<int64_t>(req.jobs.size()) > std::max<int64_t>(cfg_.queue_limit, 32))
      return make_error(errc::unavailable, "overloaded",
                        "the processing queue is full; retry after the given seconds", 5);
  }
  std::vector<json> params;
  std::vector<std::string> formats;
  for (auto& j : req.jobs) {
    auto p = imaging::validate_text(j.operation, j.params);
    if (!p) return p.error();
    // Jobs store images; OCR's data goes with the job, its annotated image into the store.
    auto f = choose_format(j.operation, j.format == "json" ? "" : j.format, "image/");
    if (!f) return f.error();
    params.push_back(std::move(*p));
    formats.push_back(*f);
  }
  job_list out;
  auto created = now_ms();
  // Inputs of ad-hoc jobs are stored once per distinct image (operation=all shares one).
  std::map<std::string, std::string> input_keys;
  for (size_t i = 0; i < req.jobs.size(); ++i) {
    job_view j;
    j.id = next_id();
    j.photo_id = req.photo_id;
    j.owner_id = owner;
    j.operation = req.jobs[i].operation;
    j.params = params[i].dump();
    j.format = formats[i];
    j.status = "queued";
    j.created_at = created;
    std::string input_key;
    if (!req.photo_id) {
      if (req.jobs[i].bytes.empty())
        return make_error(errc::invalid_argument, "missing_image", "each job needs an image");
      auto digest = crypto::sha256_hex(req.jobs[i].bytes);
      auto& k = input_keys[digest];
      if (k.empty()) {
        k = "jobs/inputs/" + std::to_string(j.id);
        if (auto r = blobs_->put(k, req.jobs[i].bytes); !r) return r.error();
      }
      input_key = k;
    }
    // The job and its announcement commit together: an acknowledged job is never left queued
    // with nobody told, whatever the bus is doing.
    auto r = db_->transaction([&](store::connection& c) -> result<void> {
      auto q = c.query(
          "INSERT INTO jobs (id, photo_id, owner_id, operation, params, format, status, "
          "attempts, error, worker, created_at, started_at, finished_at, result_url, data, "
          "input_key) VALUES (?, ?, ?, ?, ?, ?, 'queued', 0, '', '', ?, 0, 0, '', '', ?)",
          {j.id, j.photo_id, j.owner_id, j.operation, j.params, j.format, j.created_at, input_key});
      if (!q) return q.error();
      return outbox_->add(c, events::job_requested, {j.id});
    });
    if (!r) return r.error();
    record(j.id, "queued", {{"operation", j.operation}, {"photo_id", std::to_string(j.photo_id)}});
    outbox_->wake();
    out.jobs.push_back(std::move(j));
  }
  refresh_queue_depth();
  return out;
}

result<job_view> logic::load_job(int64_t id, const viewer& who) {
  auto rows = db_->query(std::string("SELECT ") + job_columns + " FROM jobs WHERE id = ?", {id});
  if (!rows) return rows.error();
  if (rows->empty()) return no_job();
  auto j = to_job(rows->front());
  // Someone else's job does not exist for you.
  if (j.owner_id != who.user_id && !who.admin) return no_job();
  return j;
}

result<job_view> logic::handle(const get_job_request& req) {
  return load_job(req.job_id, req.who);
}

result<job_list> logic::handle(const list_jobs_request& req) {
  auto photo = media_.get_photo(req.photo_id, req.who);
  if (!photo) return photo.error();
  if (photo->owner_id != req.who.user_id && !req.who.admin)
    return make_error(errc::forbidden, "not_owner", "only the photo's owner can see its jobs");
  auto rows = db_->query(std::string("SELECT ") + job_columns +
                             " FROM jobs WHERE photo_id = ? ORDER BY id DESC LIMIT 100",
                         {req.photo_id});
  if (!rows) return rows.error();
  job_list out;
  for (const auto& r : *rows) {
    auto j = to_job(r);
    if (j.owner_id == req.who.user_id || req.who.admin) out.jobs.push_back(std::move(j));
  }
  return out;
}

result<job_event_list> logic::handle(const job_events_request& req) {
  auto j = load_job(req.job_id, req.who);
  if (!j) return j.error();
  auto rows = db_->query("SELECT seq, kind, data, at FROM job_events WHERE job_id = ? ORDER BY seq",
                         {req.job_id});
  if (!rows) return rows.error();
  job_event_list out;
  for (const auto& r : *rows)
    out.events.push_back({r.int_at(0), r.str_at(1), r.str_at(2), r.int_at(3)});
  return out;
}

result<blob_reply> logic::handle(const job_result_request& req) {
  auto j = load_job(req.job_id, req.who);
  if (!j) return j.error();
  if (j->status != "succeeded")
    return make_error(errc::conflict, "job_not_finished", "the job is " + j->status);
  if (j->photo_id)
    return make_error(errc::not_found, "stored_as_variant",
                      "the result of a job on a photo is the photo's variant " + j->result_url);
  auto bytes = blobs_->get("jobs/results/" + std::to_string(j->id));
  if (!bytes) return bytes.error();
  auto type = j->format == "json" ? std::string("application/json")
                                  : imaging::content_type(*imaging::parse_format(j->format));
  return blob_reply{std::move(*bytes), type, "", false};
}

void logic::record(int64_t job_id, const std::string& kind, json data) {
  auto at = now_ms();
  auto r = db_->transaction([&](store::connection& c) -> result<int64_t> {
    auto last = c.query("SELECT COALESCE(MAX(seq), 0) FROM job_events WHERE job_id = ?", {job_id});
    if (!last) return last.error();
    int64_t seq = last->front().int_at(0) + 1;
    auto ins =
        c.query("INSERT INTO job_events (job_id, seq, kind, data, at) VALUES (?, ?, ?, ?, ?)",
                {job_id, seq, kind, data.dump(), at});
    if (!ins) return ins.error();
    return seq;
  });
  if (!r) {
    log::error("job_event_not_stored", {{"job_id", job_id}, {"kind", kind}});
    return;
  }
  events_->broadcast(job_topic(job_id),
                     json{{"seq", *r}, {"kind", kind}, {"data", data}, {"at", at}}.dump());
}

result<done> logic::handle(const handle_event_request& req) {
  std::optional<photo_uploaded> upload;
  std::optional<job_requested> job;
  bool readable = true;
  if (req.type == events::photo_uploaded.name)
    readable = (upload = bus::read<photo_uploaded>(req.payload)).has_value();
  else if (req.type == events::job_requested.name)
    readable = (job = bus::read<job_requested>(req.payload)).has_value();
  if (!readable) {
    log::error("bad_event", {{"type", req.type}});
    return done{};  // redelivery cannot fix a malformed payload
  }
  imaging::deadline_scope budget{std::chrono::steady_clock::now() + cfg_.operation_timeout};
  auto& attempts = processing_metrics::get().attempts;
  attempts.Add({{"attempt", req.attempt >= 3 ? "3+" : std::to_string(req.attempt)}}).Increment();
  result<void> r = caf::unit;
  if (upload)
    r = run_pipeline(*upload, req.attempt);
  else if (job)
    r = run_job(job->job_id, req.attempt);
  if (!r) return r.error();
  return done{};
}

result<void> logic::run_pipeline(const photo_uploaded& event, int attempt) {
  int64_t photo_id = event.photo_id;
  auto& m = processing_metrics::get();
  auto fail = [&](const caf::error& e) -> result<void> {
    bool last = permanent(e) || attempt >= events_->max_attempts();
    m.observe("upload_pipeline", last ? "failed" : "retried", -1);
    if (!last) return e;
    log::warn("photo_failed", {{"photo_id", photo_id}, {"reason", reason(e)}});
    (void)events_->publish(events::photo_failed, {photo_id, event.owner_id, reason(e)});
    if (permanent(e)) return caf::unit;
    m.dead_letters.Increment();
    return e;  // the bus keeps a dead-letter copy
  };
  running counted;
  auto started = std::chrono::steady_clock::now();
  auto original = media_.get_original(photo_id);
  if (!original) {
    if (to_problem(original.error()).kind == errc::not_found) return caf::unit;  // deleted
    return fail(original.error());
  }
  auto width = event.width, height = event.height;
  if (width <= 0 || height <= 0)
    if (auto info = imaging::sniff_image(original->bytes)) {
      width = static_cast<int64_t>(info->width);
      height = static_cast<int64_t>(info->height);
    }
  // Counted at full size: a reduced JPEG decode costs less, but the budget errs on the safe side.
  auto lease = budget_.acquire(imaging::decode_cost(width, height));
  // Waiting for other work's memory is no fault of the photo: it is tried again, never failed
  // for good (a timeout is final only for the work itself).
  if (!lease)
    return fail(make_error(errc::unavailable, "decode_memory_busy",
                           "timed out waiting for decode memory; retried"));
  auto out = imaging::process_upload(original->bytes, cfg_.pipeline);
  if (!out) return fail(out.error());
  std::vector<std::string> names;
  for (auto& v : out->variants) {
    names.push_back(v.name);
    auto put = media_.put_variant(
        {photo_id, v.name, std::move(v.bytes), v.content_type, v.width, v.height});
    if (!put) {
      if (to_problem(put.error()).kind == errc::not_found) return caf::unit;
      return fail(put.error());
    }
  }
  // Explicit content is held (porn and hentai together: a footballer in kit scores "sexy" 0.9,
  // so sexy alone only asks for a review).
  const auto& score = out->moderation;
  std::string verdict = score.porn + score.hentai >= cfg_.block_threshold ? "held"
                        : score.sexy >= cfg_.review_threshold             ? "review"
                                                                          : "clear";
  m.moderation.Add({{"verdict", verdict}}).Increment();
  auto found = [](const std::vector<imaging::detection>& list) {
    std::vector<photo_detection> out;
    for (const auto& d : list)
      out.push_back({d.label,
                     std::round(d.confidence * 1000) / 1000,
                     {d.box.x, d.box.y, d.box.width, d.box.height}});
    return out;
  };
  photo_processed payload{
      .photo_id = photo_id,
      .owner_id = event.owner_id,
      .tags = out->tags,
      .objects = found(out->objects),
      .faces = found(out->faces),
      .moderation = {verdict, {score.drawing, score.hentai, score.neutral, score.porn, score.sexy}},
      .text = out->text,
      .hash = hash64_hex(out->hash),
      .width = out->width,
      .height = out->height,
      .variants = names};
  // A held photo reaches the media service (hidden, queued) and notifications, never feeds or
  // search: they only listen to photo.processed, which an approval publishes.
  auto published =
      events_->publish(verdict == "held" ? events::photo_held : events::photo_processed, payload);
  if (!published) return fail(published.error());
  m.observe("upload_pipeline", "succeeded", seconds_since(started));
  json steps = json::object();
  for (const auto& [step, us] : out->step_us) {
    steps[step] = us / 1000.0;
    m.pipeline_steps.Add({{"step", step}}, metrics::latency_buckets()).Observe(us / 1e6);
  }
  log::info("photo_processed", {{"photo_id", photo_id},
                                {"ms", seconds_since(started) * 1000},
                                {"verdict", verdict},
                                {"steps_ms", steps}});
  return caf::unit;
}

result<std::optional<logic::claimed_job>> logic::claim_job(int64_t named, int event_attempt) {
  const auto& worker = worker_name(cfg_.node);
  // Marks the job running on this worker, if it still is in `from`; none when another won it.
  auto take = [&](int64_t id, const char* from) -> result<std::optional<claimed_job>> {
    auto r = db_->query(std::string("UPDATE jobs SET status = 'running', attempts = attempts + 1, "
                                    "worker = ?, started_at = ? WHERE id = ? AND status = ? "
                                    "RETURNING ") +
                            job_columns,
                        {worker, now_ms(), id, std::string(from)});
    if (!r) return r.error();
    if (r->empty()) return std::optional<claimed_job>{};
    return std::optional<claimed_job>{claimed_job{to_job(r->front()), r->front().str_at(15)}};
  };
  // A redelivered event whose job is still marked running: the worker that ran it died (a crash
  // loses the job's "running" mark with the worker), so this event takes it over.
  if (event_attempt > 1) {
    auto again = take(named, "running");
    if (!again || *again) return again;
  }
  // Every job.requested event is one turn of a job worker, and the turn goes to a queued job of
  // the owner with the fewest running, then of the one served longest ago, oldest job first:
  // users take turns, so one user's sixty queued operations do not all run before another's one.
  for (int tries = 0; tries < 5; ++tries) {
    auto next = db_->query(
        "SELECT id FROM jobs j WHERE status = 'queued' ORDER BY (SELECT COUNT(*) FROM jobs r "
        "WHERE r.owner_id = j.owner_id AND r.status = 'running'), (SELECT COALESCE(MAX("
        "r.started_at), 0) FROM jobs r WHERE r.owner_id = j.owner_id AND r.status <> 'queued'), "
        "id LIMIT 1");
    if (!next) return next.error();
    if (next->empty()) return std::optional<claimed_job>{};
    // Only one worker (of any replica) wins a job; a loser picks again.
    auto won = take(next->front().int_at(0), "queued");
    if (!won || *won) return won;
  }
  return std::optional<claimed_job>{};
}

result<void> logic::run_job(int64_t named, int event_attempt) {
  auto claimed = claim_job(named, event_attempt);
  if (!claimed) return claimed.error();
  if (!*claimed) return caf::unit;  // every queued job has a worker already
  auto job = std::move((*claimed)->job);
  auto input_key = std::move((*claimed)->input_key);
  auto job_id = job.id;
  int attempt = job.attempts;
  auto& m = processing_metrics::get();
  const auto& worker = worker_name(cfg_.node);
  auto started_ms = job.started_at;
  record(job_id, "started",
         {{"worker", worker}, {"attempt", attempt}, {"queued_ms", started_ms - job.created_at}});

  auto finish_failed = [&](const caf::error& e) -> result<void> {
    bool last = permanent(e) || attempt >= events_->max_attempts();
    (void)db_->query("UPDATE jobs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                     {last ? "failed" : "queued", reason(e), last ? now_ms() : 0, job_id});
    record(job_id, "failed",
           {{"worker", worker}, {"attempt", attempt}, {"error", reason(e)}, {"final", last}});
    m.observe(job.operation, last ? "failed" : "retried", -1);
    if (!last) return e;
    refresh_queue_depth();
    if (permanent(e)) return caf::unit;
    m.dead_letters.Increment();
    return e;
  };

  std::string input;
  if (job.photo_id) {
    auto original = media_.get_original(job.photo_id);
    if (!original) return finish_failed(original.error());
    input = std::move(original->bytes);
  } else {
    auto bytes = blobs_->get(input_key);
    if (!bytes) return finish_failed(bytes.error());
    input = std::move(*bytes);
  }
  auto params = parse_json_or_null(job.params);
  auto out = compute(input, job.operation, params, job.format);
  if (!out) return finish_failed(out.error());

  std::string result_url;
  // Operations with data (OCR words, corners) keep it on the job.
  std::string data = out->data.is_null() ? "" : out->data.dump();
  if (job.photo_id) {
    auto name = job.operation + "-" + std::to_string(job.id);
    auto put = media_.put_variant({job.photo_id, name, std::move(out->reply.bytes),
                                   out->reply.content_type, out->width, out->height});
    if (!put) return finish_failed(put.error());
    result_url = "/api/v1/photos/" + std::to_string(job.photo_id) + "/variants/" + name;
  } else {
    if (auto r = blobs_->put("jobs/results/" + std::to_string(job.id), out->reply.bytes); !r)
      return finish_failed(r.error());
    result_url = "/api/v1/jobs/" + std::to_string(job.id) + "/result";
  }
  auto finished = now_ms();
  if (auto r = db_->query(
          "UPDATE jobs SET status = 'succeeded', error = '', finished_at = ?, result_url = ?, "
          "data = ? WHERE id = ?",
          {finished, result_url, data, job_id});
      !r)
    return r.error();
  record(job_id, "succeeded",
         {{"worker", worker},
          {"attempt", attempt},
          {"run_ms", finished - started_ms},
          {"total_ms", finished - job.created_at},
          {"result_url", result_url}});
  refresh_queue_depth();
  return caf::unit;
}

void logic::refresh_queue_depth() {
  // From the database, not counted locally: jobs are submitted on one replica, run on another.
  auto n = db_->query("SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')");
  if (n && !n->empty()) processing_metrics::get().queued.Set(double(n->front().int_at(0)));
}

result<int64_t> logic::requeue_unfinished() {
  // This process is the only one running jobs (the bus is in-process): what was running died
  // with the previous process and waits for a worker again.
  if (auto r = db_->query("UPDATE jobs SET status = 'queued' WHERE status = 'running'"); !r)
    return r.error();
  auto rows = db_->query("SELECT id FROM jobs WHERE status = 'queued' ORDER BY id");
  if (!rows) return rows.error();
  for (const auto& r : *rows)
    if (auto p = events_->publish(events::job_requested, {r.int_at(0)}); !p) return p.error();
  if (!rows->empty()) log::info("jobs_requeued", {{"jobs", rows->size()}});
  return static_cast<int64_t>(rows->size());
}

result<done> logic::handle(const ping_request&) {
  auto r = db_->query("SELECT 1");
  if (!r) return r.error();
  return done{};
}

}  // namespace pixhive::processing
