#pragma once

#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "exchange.hpp"
#include "pipeline.hpp"
#include "server_impl.hpp"
#include "sse.hpp"

namespace pixhive::http {

/// One connection, in the shape of Beast's advanced server's session: it reads and writes, and
/// nothing else. It reads a header within the header timeout (or waits up to the idle timeout
/// for one), hands it to the listener's pipeline, reads the body under the route's limit with a
/// timeout on each piece, hands the request on, writes the answer (or an event stream), and
/// keeps the connection alive, lingers after a refused body, or closes it. Every handler of it
/// runs on its strand.
class session final : public connection, public std::enable_shared_from_this<session> {
 public:
  session(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<server::impl> srv,
          pipeline& requests, boost::asio::ip::address peer, std::string counted_ip);
  ~session() override;

  void start();

  /// Closes the connection if it waits for a new request; busy ones close after answering;
  /// event streams end.
  void drain();

  void post_answer(response&& res) override;
  std::shared_ptr<event_stream> open_events(std::optional<stream_slots::slot> slot,
                                            int64_t token_expires_at) override;

 private:
  void read_header();
  void read_header_bytes();
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body(boost::beast::error_code ec);
  void respond_early(response&& res);
  void reject(caf::error err, unsigned status = 0);
  void dispatch();
  void begin_events(std::shared_ptr<sse_stream> stream, std::optional<stream_slots::slot> slot,
                    int64_t token_expires_at);
  void send(response&& res);
  void on_write(boost::beast::error_code ec);
  void linger();
  void read_discard();
  void close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<server::impl> srv_;
  pipeline& requests_;
  boost::asio::ip::address peer_;
  std::string counted_ip_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  /// The request being read or answered.
  exchange x_;
  size_t body_limit_ = 0;
  std::shared_ptr<response> res_;
  std::string discard_;
  size_t lingered_ = 0;
  bool idle_ = true;
  bool first_ = true;
  bool keep_alive_ = true;
  bool force_close_ = false;
  event_writer events_{stream_};
};

}  // namespace pixhive::http
