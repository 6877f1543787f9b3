#include <atomic>
#include <mutex>

#include "adhoc.hpp"
#include "pixhive/core/crypto.hpp"
#include "pixhive/core/json.hpp"
#include "pixhive/http/actor_client.hpp"
#include "pixhive/http/bytes.hpp"
#include "pixhive/http/json.hpp"
#include "pixhive/http/multipart.hpp"
#include "pixhive/http/stream_ticket.hpp"
#include "pixhive/imaging/operations.hpp"
#include "pixhive/metrics/metrics.hpp"
#include "pixhive/processing/processing.hpp"
#include "processing_logic.hpp"

namespace pixhive::processing {

using namespace contracts;
using http::bhttp::verb;
using nlohmann::json;
using ctx_ptr = std::shared_ptr<http::context>;
using binder = http::actor_client<processing_actor>;

namespace {

/// When the HTTP side stops waiting for an ad-hoc answer (the actor request timeout).
int64_t deadline_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             (std::chrono::system_clock::now() + default_request_timeout).time_since_epoch())
      .count();
}

json parsed_or_null(const std::string& text) {
  return text.empty() ? json(nullptr) : parse_json_or_null(text);
}

json job_json(const job_view& j) {
  auto base = "/api/v1/jobs/" + std::to_string(j.id);
  return {{"id", std::to_string(j.id)},
          {"photo_id", j.photo_id ? json(std::to_string(j.photo_id)) : json(nullptr)},
          {"operation", j.operation},
          {"params", parsed_or_null(j.params)},
          {"format", j.format},
          {"status", j.status},
          {"attempts", j.attempts},
          {"error", j.error.empty() ? json(nullptr) : json(j.error)},
          {"worker", j.worker.empty() ? json(nullptr) : json(j.worker)},
          {"created_at", j.created_at},
          {"started_at", j.started_at ? json(j.started_at) : json(nullptr)},
          {"finished_at", j.finished_at ? json(j.finished_at) : json(nullptr)},
          {"duration_ms",
           j.finished_at && j.started_at ? json(j.finished_at - j.started_at) : json(nullptr)},
          {"result_url", j.result_url.empty() ? json(nullptr) : json(j.result_url)},
          {"data", parsed_or_null(j.data)},
          {"url", base},
          {"events_url", base + "/events"}};
}

http::response jobs_response(unsigned status, const job_list& l) {
  json jobs = json::array();
  for (const auto& j : l.jobs) jobs.push_back(job_json(j));
  return http::json_response(status, {{"jobs", jobs}});
}

/// The parts of a POST /process form: images and operations pair up in order.
struct process_form {
  std::vector<std::string> images;
  std::vector<std::string> operations;
  std::vector<std::string> params;
  std::vector<std::string> formats;
};

result<process_form> read_form(http::context& ctx) {
  auto type = std::string(ctx.req[http::bhttp::field::content_type]);
  auto parts = http::parse_multipart(ctx.req.body(), type, {.file_fields = {"image"}});
  if (!parts) return parts.error();
  process_form f;
  for (auto& p : *parts) {
    if (p.name == "image")
      f.images.emplace_back(p.data);
    else if (p.name == "operation")
      f.operations.emplace_back(p.data);
    else if (p.name == "params")
      f.params.emplace_back(p.data);
    else if (p.name == "format")
      f.formats.emplace_back(p.data);
  }
  if (f.images.empty()) return http::bad_request("missing_field", "the form needs an 'image' part");
  if (f.operations.empty())
    return http::bad_request("missing_field", "the form needs an 'operation' part");
  if (f.operations.size() != 1 && f.operations.size() != f.images.size())
    return http::bad_request("mismatched_fields",
                             "give one 'operation' for all images or one per image");
  for (auto* list : {&f.params, &f.formats})
    if (list->size() > 1 && list->size() != f.operations.size())
      return http::bad_request("mismatched_fields",
                               "give one 'params'/'format' for all or one per operation");
  for (const auto& p : f.params) {
    if (p.empty()) continue;
    auto parsed = parse_json(p);
    if (!parsed && to_problem(parsed.error()).code == "json_too_deep") return parsed.error();
    if (!parsed || !parsed->is_object())
      return http::bad_request("invalid_parameter", "params must be a JSON object");
  }
  return f;
}

std::string nth_or_first(const std::vector<std::string>& v, size_t i) {
  if (v.empty()) return "";
  return v.size() == 1 ? v[0] : v[i];
}

/// The jobs of `operation=all`: every operation with its defaults (resize needs a size).
std::vector<job_input> all_operations(const std::string& image, const std::string& format) {
  std::vector<job_input> jobs;
  for (const auto& op : imaging::operations()) {
    std::string params = op.name == "resize" ? R"({"width":1024})" : "";
    jobs.push_back({op.name, params, format, image});
  }
  return jobs;
}

/// Streams one job's events: history from the database, then live broadcasts, without gaps or
/// repeats (sequence numbers), until the job succeeds or finally fails.
class job_event_relay : public std::enable_shared_from_this<job_event_relay> {
 public:
  explicit job_event_relay(std::shared_ptr<http::event_stream> out) : out_(std::move(out)) {}

  void set_listener(std::shared_ptr<void> l) { listener_ = std::move(l); }

  void live(const std::string& message) {
    auto e = parse_json_or_null(message);
    if (!e.is_object()) return;
    std::lock_guard<std::mutex> guard{mtx_};
    if (!history_done_) {
      pending_.push_back(std::move(e));
      return;
    }
    emit(e);
  }

  void history(const job_event_list& list) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (const auto& e : list.events)
      emit({{"seq", e.seq}, {"kind", e.kind}, {"data", parsed_or_null(e.data)}, {"at", e.at}});
    history_done_ = true;
    for (const auto& e : pending_) emit(e);
    pending_.clear();
  }

  void fail(const caf::error& err) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto p = to_problem(err);
    out_->send("error", json{{"code", p.code}, {"message", p.message}}.dump());
    finish();
  }

 private:
  void emit(const json& e) {
    if (finished_) return;
    int64_t seq = e.value("seq", int64_t{0});
    if (seq <= last_seq_) return;
    last_seq_ = seq;
    auto kind = e.value("kind", std::string("event"));
    json body = e.value("data", json::object());
    if (!body.is_object()) body = json::object();
    body["at"] = e.value("at", int64_t{0});
    bool alive = out_->send(kind, body.dump(), std::to_string(seq));
    bool terminal = kind == "succeeded" || (kind == "failed" && body.value("final", false));
    if (!alive || terminal) finish();
  }

  void finish() {
    finished_ = true;
    out_->end();
    listener_.reset();
  }

  std::mutex mtx_;
  std::shared_ptr<http::event_stream> out_;
  std::shared_ptr<void> listener_;
  std::vector<json> pending_;
  int64_t last_seq_ = 0;
  bool history_done_ = false;
  bool finished_ = false;
};

}  // namespace

void add_routes(http::router& routes, caf::actor_system& sys, processing_actor service,
                std::shared_ptr<bus::event_bus> events, const processing_config& cfg) {
  binder b{sys, service};
  http::route_options anyone{64 * 1024, http::access::anyone};
  http::route_options user_opts{64 * 1024, http::access::user};
  http::route_options upload_opts{cfg.max_upload_bytes, http::access::user};
  upload_opts.limit = "process";
  http::route_options job_opts{64 * 1024, http::access::user};
  job_opts.limit = "process";
  auto front = std::make_shared<adhoc_front>(cfg);

  routes.add(
      verb::get, "/api/v1/operations",
      [](ctx_ptr, http::responder respond) {
        respond(http::json_response(200, imaging::operations_json()));
      },
      anyone);

  routes.add(
      verb::post, "/api/v1/process",
      [b, front](ctx_ptr ctx, http::responder respond) {
        auto form = read_form(*ctx);
        if (!form) return respond(http::error_response(form.error()));
        auto who = viewer_from(ctx->user);
        bool single = form->images.size() == 1 && form->operations.size() == 1 &&
                      form->operations[0] != "all";
        if (!single) {
          submit_jobs_request req{who, 0, {}};
          if (form->operations.size() == 1 && form->operations[0] == "all") {
            if (form->images.size() != 1)
              return respond(http::error_response(
                  http::bad_request("mismatched_fields", "operation=all takes one image")));
            req.jobs = all_operations(form->images[0], nth_or_first(form->formats, 0));
          } else {
            for (size_t i = 0; i < form->images.size(); ++i)
              req.jobs.push_back({nth_or_first(form->operations, i), nth_or_first(form->params, i),
                                  nth_or_first(form->formats, i), std::move(form->images[i])});
          }
          return b.call<job_list>(respond, std::move(req),
                                  [](job_list& l) { return jobs_response(202, l); });
        }
        auto format = choose_format(form->operations[0], nth_or_first(form->formats, 0),
                                    std::string(ctx->req[http::bhttp::field::accept]));
        if (!format) return respond(http::error_response(format.error()));
        auto params = imaging::validate_text(form->operations[0], nth_or_first(form->params, 0));
        if (!params) return respond(http::error_response(params.error()));
        auto type = *format == "json" ? std::string("application/json")
                                      : imaging::content_type(*imaging::parse_format(*format));
        auto key = front->key(form->images[0], form->operations[0], *params, *format);
        switch (front->enter(key, form->operations[0], type, respond)) {
          case adhoc_front::entry::answered:
          case adhoc_front::entry::joined:
            return;
          case adhoc_front::entry::refused:
            return respond(http::error_response(
                make_error(errc::unavailable, "overloaded",
                           "the processing queue is full; retry after the given seconds", 1)));
          case adhoc_front::entry::lead:
            break;
        }
        auto finish = [front, key, respond](http::response r) {
          front->leave(key, r);
          respond(std::move(r));
        };
        // The worker stops at the request's deadline and then answers; waiting longer than that
        // frees the admission slot only once the worker has really stopped.
        b.call_within<process_reply>(
            2 * std::chrono::duration_cast<std::chrono::milliseconds>(default_request_timeout) +
                std::chrono::seconds(5),
            finish,
            process_request{who, std::move(form->images[0]), form->operations[0], params->dump(),
                            *format, deadline_ms()},
            [](process_reply& r) {
              http::response res{http::bhttp::status::ok, 11};
              res.set(http::bhttp::field::content_type, r.content_type);
              res.set("X-Cache", "miss");
              res.body() = std::move(r.bytes);
              return res;
            });
      },
      upload_opts);

  routes.add(
      verb::post, "/api/v1/photos/{id}/jobs",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto body = http::json_body(*ctx);
        if (!body) return respond(http::error_response(body.error()));
        auto ops = body->find("operations");
        if (ops == body->end() || !ops->is_array() || ops->empty())
          return respond(http::error_response(http::bad_request(
              "invalid_field", "operations must be a non-empty array of {name, params}")));
        submit_jobs_request req{viewer_from(ctx->user), *id, {}};
        for (const auto& op : *ops) {
          if (!op.is_object() || !op.contains("name") || !op["name"].is_string())
            return respond(http::error_response(
                http::bad_request("invalid_field", "each operation needs a string 'name'")));
          auto params = op.value("params", json(nullptr));
          if (!params.is_null() && !params.is_object())
            return respond(http::error_response(
                http::bad_request("invalid_parameter", "params must be a JSON object")));
          req.jobs.push_back({op["name"].get<std::string>(), params.is_null() ? "" : params.dump(),
                              op.value("format", std::string()), ""});
        }
        b.call<job_list>(respond, std::move(req),
                         [](job_list& l) { return jobs_response(202, l); });
      },
      job_opts);

  routes.add(
      verb::get, "/api/v1/photos/{id}/jobs",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        b.call<job_list>(respond, list_jobs_request{*id, viewer_from(ctx->user)},
                         [](job_list& l) { return jobs_response(200, l); });
      },
      user_opts);

  routes.add(
      verb::get, "/api/v1/jobs/{id}",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        b.call<job_view>(respond, get_job_request{*id, viewer_from(ctx->user)},
                         [](job_view& j) { return http::json_response(200, job_json(j)); });
      },
      user_opts);

  routes.add(
      verb::get, "/api/v1/jobs/{id}/result",
      [b](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        b.call<blob_reply>(respond, job_result_request{*id, viewer_from(ctx->user)},
                           [ctx](blob_reply& r) {
                             auto sha = crypto::sha256_hex(r.bytes);
                             return http::serve_bytes(ctx->req, std::move(r.bytes), r.content_type,
                                                      sha, http::cache_scope::private_revalidate);
                           });
      },
      user_opts);

  routes.add(
      verb::get, "/api/v1/jobs/{id}/events",
      [&sys, service, events](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        auto who = viewer_from(ctx->user);
        // Access is checked before the stream starts, so a stranger gets a plain 404.
        ask(
            sys, service,
            [&sys, service, events, ctx, who, job = *id](job_view&) {
              auto relay = std::make_shared<job_event_relay>(ctx->start_events());
              // Listen first, then read the history: nothing falls between the two.
              relay->set_listener(events->listen(
                  job_topic(job), [relay](const std::string& m) { relay->live(m); }));
              ask(
                  sys, service, [relay](job_event_list& l) { relay->history(l); },
                  [relay](caf::error& e) { relay->fail(e); }, job_events_request{job, who});
            },
            [respond](caf::error& e) { respond(http::error_response(e)); },
            get_job_request{*id, who});
      },
      http::route_options{64 * 1024, http::access::user, true});

  // The ticket an EventSource opens the stream with: only for a job the caller may see.
  routes.add(
      verb::post, "/api/v1/jobs/{id}/events/ticket",
      [&sys, service](ctx_ptr ctx, http::responder respond) {
        auto id = http::parse_id(ctx->params.at("id"), "id");
        if (!id) return respond(http::error_response(id.error()));
        ask(
            sys, service,
            [ctx, respond, job = *id](job_view&) {
              auto path = "/api/v1/jobs/" + std::to_string(job) + "/events";
              respond(http::json_response(200, {{"ticket", ctx->stream_ticket(path)},
                                                {"expires_in", http::ticket_book::lifetime},
                                                {"events_url", path}}));
            },
            [respond](caf::error& e) { respond(http::error_response(e)); },
            get_job_request{*id, viewer_from(ctx->user)});
      },
      user_opts);
}

}  // namespace pixhive::processing
