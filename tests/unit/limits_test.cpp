// The small pieces that bound what a client can make the server do: JSON depth, text checks,
// rate limits, client addresses, form limits, strict paths, revocations, decode memory and
// time budgets, and the bus payload parser.
#include <thread>

#include <gtest/gtest.h>

#include "pixhive/bus/payload.hpp"
#include "pixhive/core/json.hpp"
#include "pixhive/http/client_ip.hpp"
#include "pixhive/http/json.hpp"
#include "pixhive/http/multipart.hpp"
#include "pixhive/http/rate_limit.hpp"
#include "pixhive/http/revocations.hpp"
#include "pixhive/http/router.hpp"
#include "pixhive/http/stream_ticket.hpp"
#include "pixhive/imaging/limits.hpp"
#include "support.hpp"

using namespace pixhive;
using namespace std::chrono_literals;

namespace {

std::string nested(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string code_of(const caf::error& e) {
  return to_problem(e).code;
}

}  // namespace

TEST(json_depth, is_bounded_while_parsing) {
  EXPECT_TRUE(parse_json(nested(64)));
  auto deep = parse_json(nested(65));
  ASSERT_FALSE(deep);
  EXPECT_EQ(code_of(deep.error()), "json_too_deep");
  // The depth that crashed the server: refused without recursing.
  auto huge = parse_json(nested(200000));
  ASSERT_FALSE(huge);
  EXPECT_EQ(code_of(huge.error()), "json_too_deep");
  std::string objects_text;
  for (int i = 0; i < 100; ++i) objects_text += "{\"a\":";
  objects_text += "1" + std::string(100, '}');
  auto objects = parse_json(objects_text);
  ASSERT_FALSE(objects);
  EXPECT_EQ(code_of(objects.error()), "json_too_deep");
  EXPECT_EQ(code_of(parse_json("{\"a\":").error()), "malformed_json");
  EXPECT_TRUE(parse_json_or_null(nested(100000)).is_null());
  EXPECT_FALSE(bus::parse_payload(nested(100000)).is_object());
  EXPECT_FALSE(bus::parse_payload("[1,2]").is_object());
  EXPECT_EQ(bus::parse_payload(R"({"photo_id":"7"})")["photo_id"], "7");
}

TEST(check_text, accepts_utf8_and_refuses_the_rest) {
  EXPECT_TRUE(http::check_text("caption", "Grüße aus Köln 🌅\n#sunset\ttab", 100));
  EXPECT_EQ(code_of(http::check_text("caption", "abcdef", 5).error()), "field_too_long");
  for (std::string bad : {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xc3", "ok\xe2\x82"})
    EXPECT_EQ(code_of(http::check_text("q", bad, 100).error()), "invalid_utf8") << bad;
  EXPECT_EQ(code_of(http::check_text("q", std::string("a\0b", 3), 100).error()), "invalid_text");
  EXPECT_EQ(code_of(http::check_text("q", "bell\x07", 100).error()), "invalid_text");
}

TEST(rate_limit, buckets_refill_and_say_when_to_retry) {
  http::rate_limiter limiter{{60, 3}};  // one per second, three at once
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.take("a", t0), 0);
  EXPECT_EQ(limiter.take("a", t0), 1);
  EXPECT_EQ(limiter.take("b", t0), 0) << "keys are independent";
  EXPECT_EQ(limiter.take("a", t0 + 1100ms), 0);
  EXPECT_GT(limiter.take("a", t0 + 1100ms), 0);
  // Bounded memory: past max_keys the map forgets (which only ever forgives).
  http::rate_limiter small{{60, 1}, 10};
  for (int i = 0; i < 1000; ++i) small.take("k" + std::to_string(i), t0);
  EXPECT_EQ(small.take("fresh", t0), 0);
}

TEST(rate_limit, options_parse_and_switch_off) {
  auto r = http::parse_rate("20/min");
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->per_minute, 20);
  EXPECT_DOUBLE_EQ(r->burst, 20);
  auto h = http::parse_rate("6/h,burst=2");
  ASSERT_TRUE(h);
  EXPECT_DOUBLE_EQ(h->per_minute, 0.1);
  EXPECT_DOUBLE_EQ(h->burst, 2);
  for (auto bad : {"", "20", "x/min", "20/week", "-1/s", "5/s,burst=0", "5/s,bust=2", "nan/s"})
    EXPECT_FALSE(http::parse_rate(bad)) << bad;
  options opts;
  http::rate_limits::declare(opts);
  ASSERT_TRUE(opts.parse({"--rate-limit-login", "2/min"}));
  auto limits = http::rate_limits::from(opts);
  ASSERT_TRUE(limits);
  EXPECT_EQ(limits->take("login", "10.0.0.1", 0), 0);
  EXPECT_EQ(limits->take("login", "10.0.0.1", 0), 0);
  EXPECT_GT(limits->take("login", "10.0.0.1", 0), 0);
  EXPECT_EQ(limits->take("login", "10.0.0.2", 0), 0);
  options off;
  http::rate_limits::declare(off);
  ASSERT_TRUE(off.parse({"--rate-limits", "off", "--rate-limit-login", "1/min"}));
  auto none = http::rate_limits::from(off);
  ASSERT_TRUE(none);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(none->take("login", "10.0.0.1", 0), 0);
}

TEST(client_ip, forwarded_for_counts_only_from_trusted_proxies) {
  namespace ip = boost::asio::ip;
  auto trusted = http::trusted_proxies::parse("10.0.0.0/8, fd00::/8,192.168.1.7");
  ASSERT_TRUE(trusted);
  auto ingress = ip::make_address("10.1.2.3");
  auto stranger = ip::make_address("203.0.113.9");
  EXPECT_EQ(http::client_ip(stranger, "1.2.3.4", *trusted), "203.0.113.9");
  EXPECT_EQ(http::client_ip(ingress, "", *trusted), "10.1.2.3");
  EXPECT_EQ(http::client_ip(ingress, "1.2.3.4", *trusted), "1.2.3.4");
  // The client wrote the left part itself: the rightmost untrusted hop is the client.
  EXPECT_EQ(http::client_ip(ingress, "6.6.6.6, 198.51.100.4, 10.9.9.9", *trusted), "198.51.100.4");
  EXPECT_EQ(http::client_ip(ingress, "garbage, 198.51.100.4", *trusted), "198.51.100.4");
  EXPECT_EQ(http::client_ip(ip::make_address("::ffff:10.0.0.5"), "7.7.7.7", *trusted), "7.7.7.7");
  EXPECT_EQ(http::client_ip(ip::make_address("fd12::1"), "2001:db8::1", *trusted), "2001:db8::1");
  EXPECT_TRUE(trusted->contains(ip::make_address("192.168.1.7")));
  EXPECT_FALSE(trusted->contains(ip::make_address("192.168.1.8")));
  EXPECT_FALSE(http::trusted_proxies::parse("10.0.0.0/33"));
  EXPECT_FALSE(http::trusted_proxies::parse("not-an-ip"));
}

TEST(multipart, parts_and_fields_are_bounded) {
  pixhive::testing::form many{"b"};
  for (int i = 0; i < 5; ++i) many.field("x", "1");
  http::multipart_limits limits;
  limits.max_parts = 4;
  auto r = http::parse_multipart(many.done(), many.type(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), "too_many_parts");
  pixhive::testing::form big{"b"};
  big.field("note", std::string(70000, 'a')).field("file", std::string(70000, 'b'));
  auto refused = http::parse_multipart(big.done(), big.type());
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), "field_too_long");
  limits = {};
  limits.max_field_bytes = 80000;
  limits.file_fields = {"file"};
  EXPECT_TRUE(http::parse_multipart(big.done(), big.type(), limits));
}

TEST(router, paths_with_empty_segments_match_nothing) {
  http::router r;
  r.add(http::bhttp::verb::get, "/metrics", nullptr);
  r.add(http::bhttp::verb::get, "/api/v1/users/{username}", nullptr);
  EXPECT_TRUE(r.find(http::bhttp::verb::get, "/metrics").found);
  for (auto p : {"//metrics", "/metrics/", "metrics", "", "/api/v1//users/x", "/api/v1/users//",
                 "/api//v1/users/x"})
    EXPECT_FALSE(r.find(http::bhttp::verb::get, p).found) << p;
}

TEST(revocations, tokens_issued_before_a_revocation_stay_refused) {
  http::revocation_list list;
  jwt::claims old{42, "carol", "user", 1, 2000, 1'000'400};
  jwt::claims same_second{42, "carol", "user", 1, 2000, 1'000'600};
  EXPECT_FALSE(list.revoked(old));
  list.apply(http::revocation_list::message(42, 1'000'500));
  EXPECT_TRUE(list.revoked(old));
  EXPECT_FALSE(list.revoked(same_second)) << "issued after the revocation, in the same second";
  EXPECT_FALSE(list.revoked({7, "dan", "user", 1, 2000, 1'000'000}));
  list.apply(nested(100000));
  list.apply(R"({"user_id":"x","at_ms":5})");
  list.apply(R"({"user_id":"42","at_ms":1.5e300})");
  // An older revocation arriving late (another replica's) does not lift a newer one.
  list.apply(http::revocation_list::message(42, 1'000'000));
  EXPECT_TRUE(list.revoked(old));
}

TEST(memory_budget, large_decodes_wait_for_each_other) {
  imaging::memory_budget budget{1000};
  auto a = budget.acquire(600);
  ASSERT_TRUE(a);
  EXPECT_EQ(budget.in_use(), 600u);
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto b = budget.acquire(600);
    got = static_cast<bool>(b);
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(got) << "the second lease must wait for the first";
  { auto done = std::move(*a); }
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(budget.in_use(), 0u);
  // More than the whole budget runs alone instead of never.
  auto alone = budget.acquire(5000);
  ASSERT_TRUE(alone);
  EXPECT_EQ(budget.in_use(), 1000u);
  // Waiting ends at the thread's deadline.
  imaging::deadline_scope soon{std::chrono::steady_clock::now() + 30ms};
  auto late = budget.acquire(10);
  ASSERT_FALSE(late);
  EXPECT_EQ(code_of(late.error()), "timeout");
  EXPECT_TRUE(imaging::deadline_expired());
}

TEST(memory_budget, deadlines_nest_to_the_earlier) {
  auto now = std::chrono::steady_clock::now();
  EXPECT_FALSE(imaging::current_deadline());
  {
    imaging::deadline_scope outer{now + 10s};
    {
      imaging::deadline_scope inner{now + 60s};
      EXPECT_EQ(*imaging::current_deadline(), now + 10s);
    }
    EXPECT_EQ(*imaging::current_deadline(), now + 10s);
  }
  EXPECT_FALSE(imaging::current_deadline());
  EXPECT_EQ(imaging::decode_cost(1000, 1000, 1), 6'000'000u);
  EXPECT_EQ(imaging::decode_cost(1000, 1000, 4), 6u * 250 * 250);
}

TEST(stream_tickets, open_one_path_once_within_their_lifetime_for_the_tokens_time) {
  http::ticket_book book;
  const std::string key = "a key of at least thirty-two characters, for tests";
  jwt::claims who{42, "carol", "user", 1000, 1900, 1'000'123};
  auto t = http::ticket_book::issue(who, "/api/v1/jobs/7/events", key, 1000);
  EXPECT_FALSE(book.redeem(t, "/api/v1/jobs/8/events", key, 1001)) << "another path";
  EXPECT_FALSE(
      book.redeem(t, "/api/v1/jobs/7/events", "another key of thirty-two characters!!", 1001));
  EXPECT_FALSE(book.redeem(t, "/api/v1/jobs/7/events", key, 1000 + http::ticket_book::lifetime + 1))
      << "expired";
  auto c = book.redeem(t, "/api/v1/jobs/7/events", key, 1001);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user_id, 42);
  EXPECT_EQ(c->role, "user");
  EXPECT_EQ(c->issued_at_ms, 1'000'123) << "revocations compare the token's issue time";
  EXPECT_EQ(c->expires_at, 1900) << "the stream ends with the token it was bought with";
  EXPECT_FALSE(book.redeem(t, "/api/v1/jobs/7/events", key, 1002)) << "used";
  auto tampered = t;
  tampered[3] = tampered[3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(book.redeem(tampered, "/api/v1/jobs/7/events", key, 1001));
  EXPECT_FALSE(book.redeem("no dot", "/api/v1/jobs/7/events", key, 1001));
  // An access token is no ticket.
  EXPECT_FALSE(book.redeem(jwt::sign(who, key), "/api/v1/jobs/7/events", key, 1001));
}

TEST(client_key, ipv6_clients_count_by_their_64_and_ipv4_by_address) {
  EXPECT_EQ(http::client_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(http::client_key("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  EXPECT_NE(http::client_key("2001:db8:1:3::1"), http::client_key("2001:db8:1:2::1"));
  EXPECT_EQ(http::client_key("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(http::client_key("not an address"), "not an address");
}
