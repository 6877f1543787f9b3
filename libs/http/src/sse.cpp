// Server-Sent Events: the stream a handler writes to, the per-user cap on live streams, and the
// writing of frames on the connection once a handler has started a stream.
#include "sse.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "pixhive/core/ids.hpp"

namespace pixhive::http {

namespace net = boost::asio;
namespace beast = boost::beast;

stream_slots::slot& stream_slots::slot::operator=(slot&& o) noexcept {
  if (this != &o) {
    if (owner_) owner_->release(user_);
    owner_ = std::exchange(o.owner_, nullptr);
    user_ = o.user_;
  }
  return *this;
}

stream_slots::slot::~slot() {
  if (owner_) owner_->release(user_);
}

std::optional<stream_slots::slot> stream_slots::take(int64_t user_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto& n = held_[user_id];
  if (n >= max_) return std::nullopt;
  ++n;
  return slot{this, user_id};
}

void stream_slots::release(int64_t user_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto it = held_.find(user_id); it != held_.end() && --it->second == 0) held_.erase(it);
}

std::string sse_frame(const std::string& event, const std::string& data, const std::string& id) {
  std::string frame;
  if (!id.empty()) frame += "id: " + id + "\n";
  frame += "event: " + event + "\n";
  size_t pos = 0;
  do {
    auto nl = data.find('\n', pos);
    frame += "data: " + data.substr(pos, nl == std::string::npos ? nl : nl - pos) + "\n";
    pos = nl == std::string::npos ? data.size() + 1 : nl + 1;
  } while (pos <= data.size());
  frame += "\n";
  return frame;
}

std::string sse_head(std::string_view request_id) {
  return "HTTP/1.1 200 OK\r\nServer: pixhive\r\nContent-Type: text/event-stream\r\n"
         "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nX-Request-Id: " +
         std::string(request_id) + "\r\nConnection: close\r\n\r\n";
}

bool sse_stream::send(const std::string& event, const std::string& data, const std::string& id) {
  if (gone_) return false;
  auto frame = sse_frame(event, data, id);
  auto owner = owner_.lock();
  if (!owner) return false;
  net::post(strand_, [owner, writer = writer_, frame = std::move(frame)]() mutable {
    writer->queue(owner, std::move(frame));
  });
  return true;
}

void sse_stream::end() {
  if (gone_.exchange(true)) return;
  if (auto owner = owner_.lock())
    net::post(strand_, [owner, writer = writer_] { writer->end(owner); });
}

void event_writer::begin(std::shared_ptr<void> owner, std::shared_ptr<sse_stream> producer,
                         std::string head, int64_t token_expires_at,
                         std::optional<stream_slots::slot> slot, bool closing) {
  producer_ = std::move(producer);
  slot_ = std::move(slot);
  // The body ends when the connection closes, or when the token that opened it expires (the
  // client reconnects with a fresh one).
  if (token_expires_at > 0)
    stream_.expires_after(
        std::chrono::seconds(std::max<int64_t>(0, token_expires_at - unix_now())));
  else
    stream_.expires_never();
  queue_.push_back(std::move(head));
  write_next(owner);
  // Reading tells us when the client goes away (it sends nothing more).
  discard_.resize(4096);
  stream_.async_read_some(net::buffer(discard_), [this, owner](beast::error_code, size_t) {
    producer_->client_gone();
    ending_ = true;
    if (!writing_) close();
  });
  if (closing) end(owner);
}

void event_writer::queue(std::shared_ptr<void> owner, std::string frame) {
  if (ending_) return;
  queue_.push_back(std::move(frame));
  write_next(std::move(owner));
}

void event_writer::end(std::shared_ptr<void> owner) {
  ending_ = true;
  if (!writing_) write_next(std::move(owner));
}

void event_writer::write_next(std::shared_ptr<void> owner) {
  if (writing_) return;
  if (queue_.empty()) {
    if (ending_) close();
    return;
  }
  writing_ = true;
  auto frame = std::make_shared<std::string>(std::move(queue_.front()));
  queue_.pop_front();
  net::async_write(stream_, net::buffer(*frame),
                   [this, owner, frame](beast::error_code ec, size_t) {
                     writing_ = false;
                     if (ec) {
                       producer_->client_gone();
                       return close();
                     }
                     write_next(owner);
                   });
}

void event_writer::close() {
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

}  // namespace pixhive::http
