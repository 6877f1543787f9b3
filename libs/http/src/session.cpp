// The transport: one connection's reads, body limits, timeouts, writes, keep-alive, lingering
// close and drain. What a request means is the pipeline's business.
#include "session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "pixhive/core/crypto.hpp"
#include "pixhive/http/json.hpp"

namespace pixhive::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

constexpr size_t header_limit = 16 * 1024;
// How much of an unwanted body is read and dropped before closing, so that the client sees
// our error response instead of a connection reset. Small: a refused upload must not cost its
// bandwidth.
constexpr size_t linger_limit = 256 * 1024;
constexpr auto linger_time = std::chrono::seconds(1);

caf::error body_too_large(size_t limit) {
  return make_error(errc::payload_too_large, "payload_too_large",
                    "request body larger than " + std::to_string(limit) + " bytes");
}

}  // namespace

session::session(tcp::socket&& socket, std::shared_ptr<server::impl> srv, pipeline& requests,
                 net::ip::address peer, std::string counted_ip)
    : stream_(std::move(socket)),
      srv_(std::move(srv)),
      requests_(requests),
      peer_(std::move(peer)),
      counted_ip_(std::move(counted_ip)) {
  ++srv_->live;
}

session::~session() {
  srv_->session_ended(counted_ip_);
}

void session::start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_header(); });
}

void session::drain() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->events_.active()) return self->events_.end(self);
    if (self->idle_ && self->buffer_.size() == 0) {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.cancel();
    }
  });
}

void session::read_header() {
  idle_ = true;
  if (srv_->closing) return close();
  parser_.emplace();
  parser_->header_limit(header_limit);
  // The route's own limit is applied once the header says which route this is.
  parser_->body_limit(boost::none);
  if (first_ || buffer_.size() > 0) return read_header_bytes();
  // Between requests the client may think as long as the idle timeout allows; once it starts
  // a request, the header must arrive within the header timeout.
  stream_.expires_after(srv_->cfg.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (ec) return self->close();
                            self->buffer_.commit(n);
                            self->read_header_bytes();
                          });
}

void session::read_header_bytes() {
  first_ = false;
  stream_.expires_after(srv_->cfg.header_timeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
}

void session::on_header(beast::error_code ec) {
  idle_ = false;
  if (ec) {
    if (ec == bhttp::error::header_limit)
      return reject(
          make_error(errc::invalid_argument, "header_too_large", "request header too large"), 431);
    if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
        ec == beast::error::timeout || ec == net::error::connection_reset || ec == net::error::eof)
      return close();
    return reject(make_error(errc::invalid_argument, "bad_request", "malformed HTTP request"));
  }
  auto& req = parser_->get();
  keep_alive_ = req.keep_alive();
  // Whether the request may go on is decided from the header alone: a refused client never gets
  // to send (or make us read) its body.
  auto verdict = requests_.begin(x_, req, peer_);
  if (verdict.refusal) return respond_early(std::move(*verdict.refusal));
  body_limit_ = verdict.body_limit;
  if (auto len = parser_->content_length(); len && *len > body_limit_)
    return respond_early(error_response(body_too_large(body_limit_)));
  parser_->body_limit(body_limit_);
  if (parser_->is_done()) return dispatch();
  if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    stream_.expires_after(srv_->cfg.body_timeout);
    return bhttp::async_write(stream_, *cont,
                              [self = shared_from_this(), cont](beast::error_code ec, size_t) {
                                if (ec) return self->close();
                                self->read_body();
                              });
  }
  read_body();
}

/// Reads the body piece by piece: each piece must arrive within the body timeout.
void session::read_body() {
  stream_.expires_after(srv_->cfg.body_timeout);
  bhttp::async_read_some(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, size_t) {
                           if (!ec && !self->parser_->is_done()) return self->read_body();
                           self->on_body(ec);
                         });
}

void session::on_body(beast::error_code ec) {
  if (ec == bhttp::error::body_limit)
    return respond_early(error_response(body_too_large(body_limit_)));
  if (ec) {
    requests_.complete(x_, 400);
    return close();
  }
  dispatch();
}

/// Answers before the body was read: the connection closes afterwards unless there was none.
void session::respond_early(response&& res) {
  if (!parser_->is_done()) force_close_ = true;
  send(std::move(res));
}

/// Answers a header that could not be read, and closes.
void session::reject(caf::error err, unsigned status) {
  force_close_ = true;
  auto res = error_response(err);
  if (status) res.result(status);
  send(std::move(res));
}

void session::dispatch() {
  requests_.dispatch(x_, parser_->release(), shared_from_this());
}

void session::post_answer(response&& res) {
  net::post(stream_.get_executor(), [self = shared_from_this(), res = std::move(res)]() mutable {
    self->send(std::move(res));
  });
}

std::shared_ptr<event_stream> session::open_events(std::optional<stream_slots::slot> slot,
                                                   int64_t token_expires_at) {
  auto stream = std::make_shared<sse_stream>(weak_from_this(), &events_, stream_.get_executor());
  net::post(stream_.get_executor(), [self = shared_from_this(), stream, slot = std::move(slot),
                                     token_expires_at]() mutable {
    self->begin_events(std::move(stream), std::move(slot), token_expires_at);
  });
  return stream;
}

void session::begin_events(std::shared_ptr<sse_stream> stream,
                           std::optional<stream_slots::slot> slot, int64_t token_expires_at) {
  requests_.complete(x_, 200);
  if (x_.request_id.empty()) x_.request_id = crypto::random_token(12);
  events_.begin(shared_from_this(), std::move(stream), sse_head(x_.request_id), token_expires_at,
                std::move(slot), srv_->closing);
}

void session::send(response&& res) {
  res.version(11);
  res.set(bhttp::field::server, "pixhive");
  requests_.finish(x_, res);
  res.keep_alive(keep_alive_ && !force_close_ && !srv_->draining);
  res.prepare_payload();
  requests_.complete(x_, res.result_int());
  res_ = std::make_shared<response>(std::move(res));
  // The whole write has one deadline: generous enough for a large photo to a slow phone
  // (64 KiB/s), bounded so a client that stops reading does not hold the connection forever.
  stream_.expires_after(std::chrono::seconds(30) +
                        std::chrono::seconds(res_->body().size() / (64 * 1024)));
  bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
    self->on_write(ec);
  });
}

void session::on_write(beast::error_code ec) {
  bool close_now = ec || res_->need_eof();
  res_.reset();
  // Nothing of this request (its route, its caller) may shape the next one's answer.
  x_.reset();
  keep_alive_ = true;
  if (!close_now) return read_header();
  if (!ec && force_close_) return linger();
  close();
}

/// Half-closes and reads what the client still sends for a moment, then closes (like nginx's
/// lingering close), so a client still uploading a refused body reads our answer instead of a
/// reset.
void session::linger() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(linger_time);
  discard_.resize(64 * 1024);
  read_discard();
}

void session::read_discard() {
  stream_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            self->lingered_ += n;
                            if (ec || self->lingered_ > linger_limit) return self->close();
                            self->read_discard();
                          });
}

void session::close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

}  // namespace pixhive::http
