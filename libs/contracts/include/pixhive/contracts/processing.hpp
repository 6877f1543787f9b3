#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "pixhive/contracts/common.hpp"
#include "pixhive/contracts/media.hpp"

/// The request interface of the processing service and its message types.
namespace pixhive::contracts {

/// Runs one operation on an image now (POST /process with one image).
struct process_request {
  viewer who;
  std::string bytes;
  std::string operation;
  /// The parameters as a JSON object ("" = defaults).
  std::string params;
  /// "png", "jpeg", "webp", or "json" for the data of operations that have some.
  std::string format;
  /// Unix milliseconds after which nobody waits for the answer: the worker skips the work.
  int64_t deadline_ms = 0;
  bool operator==(const process_request&) const = default;
};

/// The processed image (or JSON).
struct process_reply {
  std::string bytes;
  std::string content_type;
  bool operator==(const process_reply&) const = default;
};

/// One job to queue: an operation, and for ad-hoc jobs the image it runs on.
struct job_input {
  std::string operation;
  std::string params;
  std::string format;
  /// The image of an ad-hoc job; empty for jobs on a stored photo.
  std::string bytes;
  bool operator==(const job_input&) const = default;
};

/// Queues jobs on a stored photo (`photo_id` != 0) or on uploaded images.
struct submit_jobs_request {
  viewer who;
  int64_t photo_id = 0;
  std::vector<job_input> jobs;
  bool operator==(const submit_jobs_request&) const = default;
};

/// A job's record. Times are Unix milliseconds (0 = not yet).
struct job_view {
  int64_t id = 0;
  int64_t photo_id = 0;
  int64_t owner_id = 0;
  std::string operation;
  std::string params;
  std::string format;
  /// "queued", "running", "succeeded" or "failed".
  std::string status;
  int32_t attempts = 0;
  std::string error;
  std::string worker;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  /// Where the result can be fetched (a variant of the photo, or the job's result).
  std::string result_url;
  /// JSON the operation reported (OCR words, corner count), "" when none.
  std::string data;
  bool operator==(const job_view&) const = default;
};

/// Several jobs.
struct job_list {
  std::vector<job_view> jobs;
  bool operator==(const job_list&) const = default;
};

/// Reads a job (its owner or an admin).
struct get_job_request {
  int64_t job_id = 0;
  viewer who;
  bool operator==(const get_job_request&) const = default;
};

/// Lists a photo's jobs, newest first.
struct list_jobs_request {
  int64_t photo_id = 0;
  viewer who;
  bool operator==(const list_jobs_request&) const = default;
};

/// One step of a job's life: queued, started, succeeded, failed.
struct job_event {
  int64_t seq = 0;
  std::string kind;
  /// JSON details (worker, attempt, timings, error).
  std::string data;
  int64_t at = 0;
  bool operator==(const job_event&) const = default;
};

/// A job's events so far.
struct job_event_list {
  std::vector<job_event> events;
  bool operator==(const job_event_list&) const = default;
};

/// Reads a job's history.
struct job_events_request {
  int64_t job_id = 0;
  viewer who;
  bool operator==(const job_events_request&) const = default;
};

/// Reads the output of a finished ad-hoc job.
struct job_result_request {
  int64_t job_id = 0;
  viewer who;
  bool operator==(const job_result_request&) const = default;
};

/// An event from the bus for a worker (photo.uploaded, job.requested).
struct handle_event_request {
  std::string type;
  std::string payload;
  int32_t attempt = 1;
  bool operator==(const handle_event_request&) const = default;
};

PIXHIVE_MESSAGE(process_request, who, bytes, operation, params, format, deadline_ms);
PIXHIVE_MESSAGE(process_reply, bytes, content_type);
PIXHIVE_MESSAGE(job_input, operation, params, format, bytes);
PIXHIVE_MESSAGE(submit_jobs_request, who, photo_id, jobs);
PIXHIVE_MESSAGE(job_view, id, photo_id, owner_id, operation, params, format, status, attempts,
                error, worker, created_at, started_at, finished_at, result_url, data);
PIXHIVE_MESSAGE(job_list, jobs);
PIXHIVE_MESSAGE(get_job_request, job_id, who);
PIXHIVE_IDEMPOTENT(get_job_request);
PIXHIVE_MESSAGE(list_jobs_request, photo_id, who);
PIXHIVE_IDEMPOTENT(list_jobs_request);
PIXHIVE_MESSAGE(job_event, seq, kind, data, at);
PIXHIVE_MESSAGE(job_event_list, events);
PIXHIVE_MESSAGE(job_events_request, job_id, who);
PIXHIVE_IDEMPOTENT(job_events_request);
PIXHIVE_MESSAGE(job_result_request, job_id, who);
PIXHIVE_IDEMPOTENT(job_result_request);
PIXHIVE_MESSAGE(handle_event_request, type, payload, attempt);

/// The processing service as a typed actor. Failures are pixhive::make_error values.
using processing_actor = caf::typed_actor<caf::replies_to<process_request>::with<process_reply>,
                                          caf::replies_to<submit_jobs_request>::with<job_list>,
                                          caf::replies_to<get_job_request>::with<job_view>,
                                          caf::replies_to<list_jobs_request>::with<job_list>,
                                          caf::replies_to<job_events_request>::with<job_event_list>,
                                          caf::replies_to<job_result_request>::with<blob_reply>,
                                          caf::replies_to<handle_event_request>::with<done>,
                                          caf::replies_to<ping_request>::with<done>>;

}  // namespace pixhive::contracts
