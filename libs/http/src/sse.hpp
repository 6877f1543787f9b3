#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "pixhive/http/types.hpp"

namespace pixhive::http {

/// The live event streams of each user, at most `max_per_user` at once. Thread-safe.
class stream_slots {
 public:
  explicit stream_slots(size_t max_per_user) : max_(max_per_user) {}

  /// One user's hold on one stream; gives the slot back when destroyed.
  class slot {
   public:
    slot(slot&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)), user_(o.user_) {}
    slot& operator=(slot&& o) noexcept;
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    ~slot();

   private:
    friend class stream_slots;
    slot(stream_slots* owner, int64_t user) : owner_(owner), user_(user) {}
    stream_slots* owner_;
    int64_t user_;
  };

  /// A slot for `user_id`, none when the user holds the maximum already.
  std::optional<slot> take(int64_t user_id);

 private:
  void release(int64_t user_id);
  size_t max_;
  std::mutex mtx_;
  std::unordered_map<int64_t, size_t> held_;
};

class event_writer;

/// The event_stream a handler writes to: formats each event and posts it to the connection's
/// strand, where the event_writer writes it. Thread-safe.
class sse_stream final : public event_stream {
 public:
  /// A stream that is gone from the start (the request was answered already, or refused).
  sse_stream() : gone_(true) {}
  /// A stream into `writer`, which lives as long as `owner` (the connection).
  sse_stream(std::weak_ptr<void> owner, event_writer* writer, boost::asio::any_io_executor strand)
      : owner_(std::move(owner)), writer_(writer), strand_(std::move(strand)) {}

  bool send(const std::string& event, const std::string& data, const std::string& id) override;
  void end() override;
  /// The client went away: later sends return false.
  void client_gone() { gone_ = true; }

 private:
  // Weak: the connection's pending read keeps it alive while the client is connected.
  std::weak_ptr<void> owner_;
  event_writer* writer_ = nullptr;
  boost::asio::any_io_executor strand_;
  std::atomic<bool> gone_{false};
};

/// One `text/event-stream` frame: `id:` when given, `event:`, one `data:` line per line of `data`.
std::string sse_frame(const std::string& event, const std::string& data, const std::string& id);

/// The head of an event-stream response (the connection closes when the stream ends).
std::string sse_head(std::string_view request_id);

/// The event-stream side of one connection, on its strand: writes the head, then each frame in
/// order, until the producer ends the stream, the client goes away, or the token that opened it
/// expires. Every asynchronous step holds `owner` (the connection, which owns this writer).
class event_writer {
 public:
  explicit event_writer(boost::beast::tcp_stream& stream) : stream_(stream) {}

  /// True once begin() was called: the connection carries events, not responses.
  bool active() const { return producer_ != nullptr; }

  /// Starts the stream written by `producer`: `token_expires_at` (unix seconds, 0 for none)
  /// ends it; `slot` is the user's hold on a stream, kept until the connection is gone; when
  /// `closing`, the stream ends after its head.
  void begin(std::shared_ptr<void> owner, std::shared_ptr<sse_stream> producer, std::string head,
             int64_t token_expires_at, std::optional<stream_slots::slot> slot, bool closing);

  /// Queues one frame (dropped once the stream is ending).
  void queue(std::shared_ptr<void> owner, std::string frame);

  /// Ends the stream after the frames queued so far; the connection closes.
  void end(std::shared_ptr<void> owner);

 private:
  void write_next(std::shared_ptr<void> owner);
  void close();

  boost::beast::tcp_stream& stream_;
  std::shared_ptr<sse_stream> producer_;
  std::optional<stream_slots::slot> slot_;
  std::deque<std::string> queue_;
  std::string discard_;
  bool writing_ = false;
  bool ending_ = false;
};

}  // namespace pixhive::http
