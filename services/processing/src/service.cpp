#include <cstdlib>
#include <thread>

#include <unistd.h>
#include <caf/all.hpp>

#include "pixhive/core/ask.hpp"
#include "pixhive/core/log.hpp"
#include "pixhive/core/worker_pool.hpp"
#include "pixhive/imaging/limits.hpp"
#include "pixhive/processing/processing.hpp"
#include "processing_logic.hpp"

namespace pixhive::processing {

using namespace contracts;

void processing_config::declare(options& opts) {
  auto cores = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
  opts.add("processing-workers", cores,
           "processing worker actors (threads running OpenCV); default: the number of cores",
           check::whole(1, 256))
      .add("job-workers", "0",
           "workers that may run jobs on stored photos at once; the rest are kept for the upload "
           "pipeline; 0 means half the workers (at least 1)",
           check::whole(0, 256))
      .add("jobs-in-flight-per-user", "64",
           "job operations one user may have queued or running; more get 429 with Retry-After",
           check::whole(1, 1'000'000))
      .add("jobs-per-minute-per-user", "120",
           "job operations one user may submit per minute; more get 429 with Retry-After",
           check::whole(1, 1'000'000))
      .add("process-queue", "0",
           "ad-hoc POST /process requests admitted at once (running or waiting); more get 503 "
           "with Retry-After; 0 means 8 per worker",
           check::at_least(0))
      .add("result-cache-mb", "64", "memory for cached POST /process results in MiB (0: off)",
           check::at_least(0))
      .add("thumbnail-size", "320", "side of the square thumbnail made of every upload",
           check::whole(16, 4096))
      .add("display-size", "1080", "longest side of the display image made of every upload",
           check::whole(64, 8192))
      .add_flag("no-ocr", "skip Tesseract in the upload pipeline (text tags need it)")
      .add("models", imaging::default_model_dir(),
           "folder of the networks scripts/fetch-models makes (object tags, moderation, faces, "
           "person cut-out); a missing or corrupt file stops start-up")
      .add("object-threshold", "0.4", "confidence from which a detected object becomes a tag",
           check::number(0.05, 1))
      .add("moderation-block", "0.7",
           "porn + hentai score from which an upload is held: hidden from all but its owner and "
           "admins until an admin approves it",
           check::number(0, 2))
      .add("moderation-review", "0.8",
           "sexy score from which an upload is queued for an admin's review (it stays visible)",
           check::number(0, 1.01))
      .add("operation-timeout", "30s",
           "time budget of one operation, job or upload pipeline; past it the work stops and "
           "fails with 'timeout'",
           check::duration(std::chrono::milliseconds(100)))
      .add("decode-memory-mb", "768",
           "memory for decoded pixels of all concurrent image work in MiB; a decode that does not "
           "fit waits for others to finish",
           check::whole(16, 1'000'000));
}

result<processing_config> processing_config::from(const options& opts) {
  processing_config cfg;
  auto workers = opts.get_int("processing-workers");
  if (!workers) return workers.error();
  cfg.workers = static_cast<int>(*workers);
  auto job_workers = opts.get_int("job-workers");
  if (!job_workers) return job_workers.error();
  // Bounded by another option's value: the one check that cannot be declared.
  if (*job_workers > cfg.workers)
    return make_error(errc::invalid_argument, "bad_config",
                      "option --job-workers must be 0..--processing-workers");
  cfg.job_workers = *job_workers ? static_cast<int>(*job_workers) : std::max(1, cfg.workers / 2);
  for (auto [name, field] :
       {std::pair{"jobs-in-flight-per-user", &cfg.jobs_in_flight_per_user},
        std::pair{"jobs-per-minute-per-user", &cfg.jobs_per_minute_per_user}}) {
    auto v = opts.get_int(name);
    if (!v) return v.error();
    *field = *v;
  }
  auto queue = opts.get_int("process-queue");
  if (!queue) return queue.error();
  cfg.queue_limit = *queue ? static_cast<int>(*queue) : 8 * cfg.workers;
  auto cache = opts.get_int("result-cache-mb");
  if (!cache) return cache.error();
  cfg.cache_bytes = static_cast<size_t>(*cache) * 1024 * 1024;
  auto thumb = opts.get_int("thumbnail-size");
  if (!thumb) return thumb.error();
  auto display = opts.get_int("display-size");
  if (!display) return display.error();
  cfg.pipeline.thumbnail_size = static_cast<int>(*thumb);
  cfg.pipeline.display_size = static_cast<int>(*display);
  auto no_ocr = opts.get_bool("no-ocr");
  if (!no_ocr) return no_ocr.error();
  cfg.pipeline.ocr = !*no_ocr;
  cfg.models = opts.get("models");
  auto objects = opts.get_number("object-threshold");
  if (!objects) return objects.error();
  cfg.pipeline.object_threshold = static_cast<float>(*objects);
  auto block = opts.get_number("moderation-block");
  if (!block) return block.error();
  cfg.block_threshold = *block;
  auto review = opts.get_number("moderation-review");
  if (!review) return review.error();
  cfg.review_threshold = *review;
  auto upload = opts.get_int("max-upload-mb");
  if (upload) cfg.max_upload_bytes = static_cast<size_t>(*upload) * 1024 * 1024;
  auto mp = opts.get_int("max-megapixels");
  if (mp) cfg.max_pixels = *mp * 1'000'000;
  auto budget = opts.get_duration("operation-timeout");
  if (!budget) return budget.error();
  cfg.operation_timeout = *budget;
  auto memory = opts.get_int("decode-memory-mb");
  if (!memory) return memory.error();
  cfg.decode_memory = static_cast<size_t>(*memory) * 1024 * 1024;
  char host[256] = "pixhive";
  ::gethostname(host, sizeof host - 1);
  cfg.node = std::string(host) + ":" + std::to_string(::getpid());
  return cfg;
}

result<void> migrate(store::database& db) {
  static const std::vector<store::migration> steps{{1, R"sql(
CREATE TABLE jobs (
  id BIGINT PRIMARY KEY,
  photo_id BIGINT NOT NULL,
  owner_id BIGINT NOT NULL,
  operation TEXT NOT NULL,
  params TEXT NOT NULL,
  format TEXT NOT NULL,
  input_key TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  error TEXT NOT NULL,
  worker TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  result_url TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX jobs_photo ON jobs (photo_id, id);
CREATE TABLE job_events (
  job_id BIGINT NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL,
  data TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (job_id, seq)
);
)sql"},
                                                   {2, R"sql(
CREATE INDEX jobs_owner_status ON jobs (owner_id, status);
CREATE INDEX jobs_status ON jobs (status, id);
CREATE INDEX jobs_owner_created ON jobs (owner_id, created_at);
)sql"}};
  if (auto m = store::migrate(db, "processing", steps); !m) return m;
  return bus::outbox::migrate(db, "processing");
}

processing_actor spawn(caf::actor_system& sys, std::shared_ptr<store::database> db,
                       std::shared_ptr<store::blob_store> blobs,
                       std::shared_ptr<bus::event_bus> events, media_actor media,
                       const processing_config& cfg) {
  // The pool keeps the cores busy, one image per worker.
  imaging::run_opencv_on_calling_threads();
  auto impl = std::make_shared<logic>(std::move(db), std::move(blobs), events,
                                      media_link{sys, std::move(media)}, cfg);
  auto pool = spawn_pool<processing_actor, ping_request>(sys, "processing", cfg.workers, impl);
  // A bus consumer hands each event to the pool and waits for the outcome, so the bus
  // acknowledges only what a worker finished. Uploads and jobs are consumed apart: one consumer
  // per worker for uploads, `job_workers` for jobs, so jobs never hold more than `job_workers`
  // of the workers and an upload never waits behind a user's queue of jobs.
  auto consume = [&sys, pool,
                  timeout = cfg.operation_timeout](const bus::event& e) -> result<void> {
    caf::scoped_actor self{sys};
    result<void> out = caf::unit;
    // The worker stops its own work at the operation timeout; the wait here only covers a
    // worker that never answers (twice the budget plus time queued behind ad-hoc work).
    self->request(pool, 2 * timeout + default_request_timeout,
                  handle_event_request{e.type, e.payload, e.attempt})
        .receive([](done&) {}, [&](caf::error& err) { out = std::move(err); });
    return out;
  };
  events->subscribe("processing", {"photo.uploaded"}, consume, cfg.workers);
  events->subscribe("processing-jobs", {"job.requested"}, consume, cfg.job_workers);
  if (!events->durable())
    if (auto r = impl->requeue_unfinished(); !r)
      log::error("requeue_failed", {{"error", to_problem(r.error()).message}});
  return pool;
}

}  // namespace pixhive::processing
