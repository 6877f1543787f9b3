#pragma once

#include "pixhive/bus/outbox.hpp"

#include "pixhive/imaging/limits.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <nlohmann/json.hpp>

#include "pixhive/contracts/events.hpp"
#include "pixhive/processing/processing.hpp"

namespace pixhive::processing {

/// The processing service's Prometheus series, shared by the workers and the HTTP front.
struct processing_metrics {
  prometheus::Family<prometheus::Counter>& jobs;
  prometheus::Family<prometheus::Histogram>& durations;
  prometheus::Gauge& in_flight;
  prometheus::Gauge& queued;
  prometheus::Family<prometheus::Counter>& attempts;
  prometheus::Counter& dead_letters;
  prometheus::Gauge& cache_hit_ratio;
  /// Uploads by moderation verdict (clear, review, held).
  prometheus::Family<prometheus::Counter>& moderation;
  /// Milliseconds per upload-pipeline step (decode, objects, explicit, faces, …).
  prometheus::Family<prometheus::Histogram>& pipeline_steps;
  /// Job submissions refused by a per-user quota (in_flight, per_minute).
  prometheus::Family<prometheus::Counter>& quota_refusals;

  /// The one instance (registered on first use).
  static processing_metrics& get();
  /// Counts one operation by result; `seconds` < 0 records no duration.
  void observe(const std::string& op, const std::string& result, double seconds);
};

/// Blocking calls to the media service, for code that runs on a worker's own thread.
class media_link {
 public:
  media_link(caf::actor_system& sys, contracts::media_actor media)
      : sys_(&sys), media_(std::move(media)) {}
  result<contracts::photo_view> get_photo(int64_t id, const contracts::viewer& who);
  result<contracts::blob_reply> get_original(int64_t id);
  result<contracts::done> put_variant(contracts::put_variant_request req);

 private:
  caf::actor_system* sys_;
  contracts::media_actor media_;
};

/// The processing rules: ad-hoc operations with a result cache, jobs and their events, and the
/// upload pipeline. Every call blocks, so it runs inside a detached worker actor.
class logic {
 public:
  logic(std::shared_ptr<store::database> db, std::shared_ptr<store::blob_store> blobs,
        std::shared_ptr<bus::event_bus> events, media_link media, const processing_config& cfg);

  result<contracts::process_reply> handle(const contracts::process_request& req);
  result<contracts::job_list> handle(contracts::submit_jobs_request& req);
  result<contracts::job_view> handle(const contracts::get_job_request& req);
  result<contracts::job_list> handle(const contracts::list_jobs_request& req);
  result<contracts::job_event_list> handle(const contracts::job_events_request& req);
  result<contracts::blob_reply> handle(const contracts::job_result_request& req);
  /// Handles a bus event; an error asks the bus to deliver it again.
  result<contracts::done> handle(const contracts::handle_event_request& req);
  result<contracts::done> handle(const contracts::ping_request&);
  /// Publishes job.requested again for jobs not finished (after a restart with a bus that lost
  /// its queue); returns how many.
  result<int64_t> requeue_unfinished();

 private:
  result<void> run_pipeline(const contracts::photo_uploaded& event, int attempt);
  /// Runs the job a job.requested event's turn goes to (claim_job); `named` is the event's job.
  result<void> run_job(int64_t named, int event_attempt);
  /// A job marked running on this worker, with its stored input (ad-hoc jobs).
  struct claimed_job {
    contracts::job_view job;
    std::string input_key;
  };
  /// The job a job worker's turn goes to, marked running; none when every queued job has a
  /// worker already.
  result<std::optional<claimed_job>> claim_job(int64_t named, int event_attempt);
  /// 429 when `owner` may not queue `wanted` more operations now (admins may).
  result<void> check_quota(int64_t owner, const contracts::viewer& who, int64_t wanted);
  result<contracts::job_view> load_job(int64_t id, const contracts::viewer& who);
  /// Sets the queue-depth gauge from the jobs table.
  void refresh_queue_depth();
  /// Stores one step of a job's life and broadcasts it to SSE streams.
  void record(int64_t job_id, const std::string& kind, nlohmann::json data);
  /// What compute() made: the encoded result, the operation's data and the image size.
  struct computed {
    contracts::process_reply reply;
    nlohmann::json data;
    int width = 0;
    int height = 0;
  };
  /// Decodes once, runs and encodes: the work shared by ad-hoc requests and jobs.
  result<computed> compute(std::string_view bytes, const std::string& operation,
                           const nlohmann::json& params, const std::string& format);

  std::shared_ptr<store::database> db_;
  std::shared_ptr<store::blob_store> blobs_;
  std::shared_ptr<bus::event_bus> events_;
  std::shared_ptr<bus::outbox> outbox_;
  media_link media_;
  processing_config cfg_;
  imaging::memory_budget budget_;
};

/// The validated output format of `operation`: "json" for data, or an image format. `format`
/// may be empty (then `accept` decides, and operations with data answer JSON).
result<std::string> choose_format(const std::string& operation, const std::string& format,
                                  const std::string& accept);

/// The bus topic that carries a job's live events.
std::string job_topic(int64_t job_id);

}  // namespace pixhive::processing
