#include <gtest/gtest.h>

#include <set>

#include <caf/all.hpp>

#include "pixhive/contracts/all.hpp"

using namespace pixhive::contracts;

namespace {

/// A value of `T` whose every field differs from its default (numbers count up, so two fields
/// swapped on the wire compare unequal).
template <class T>
T sample(int& n) {
  if constexpr (std::is_arithmetic_v<T>) {
    return static_cast<T>(++n);
  } else if constexpr (std::is_same_v<T, std::string>) {
    // A NUL and a non-ASCII byte travel inside strings too (image bytes ride in them).
    return "s" + std::to_string(++n) + std::string("\0\x89", 2) + "✓";
  } else if constexpr (declared_message<T>) {
    T x{};
    boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
        [&](auto d) {
          using field = std::remove_cvref_t<decltype(x.*d.pointer)>;
          if constexpr (std::is_same_v<field, bool>)
            x.*d.pointer = !(x.*d.pointer);
          else
            x.*d.pointer = sample<field>(n);
        });
    return x;
  } else {
    using element = typename T::value_type;
    return T{sample<element>(n), sample<element>(n)};
  }
}

struct serialization : ::testing::Test {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::set<std::string> checked;

  void SetUp() override {
    add_all_types(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  template <class T>
  void check(const T& x) {
    SCOPED_TRACE(type_name<T>());
    std::vector<char> buf;
    caf::binary_serializer out{*sys, buf};
    EXPECT_FALSE(out(const_cast<T&>(x)));
    T y;
    caf::binary_deserializer in{*sys, buf};
    EXPECT_FALSE(in(y));
    EXPECT_TRUE(y == x) << caf::deep_to_string(x);
    // Also as a type-erased message, the way the middleman ships it.
    auto msg = caf::make_message(x);
    std::vector<char> mbuf;
    caf::binary_serializer mout{*sys, mbuf};
    EXPECT_FALSE(mout(msg));
    caf::message back;
    caf::binary_deserializer min{*sys, mbuf};
    EXPECT_FALSE(min(back));
    ASSERT_TRUE(back.match_elements<T>());
    EXPECT_TRUE(back.get_as<T>(0) == x);
    // And as JSON (bus payloads, answers), through the same declaration.
    EXPECT_TRUE(nlohmann::json(x).get<T>() == x) << nlohmann::json(x).dump();
  }

  /// Checks `T` and every message it holds, each once.
  template <class T>
  void walk() {
    if constexpr (declared_message<T>) {
      if (!checked.insert(type_name<T>()).second) return;
      int n = 0;
      auto x = sample<T>(n);
      if (boost::mp11::mp_size<
              boost::describe::describe_members<T, boost::describe::mod_public>>::value > 0)
        EXPECT_FALSE(x == T{}) << type_name<T>() << ": the sample must differ from the default";
      check(x);
      boost::mp11::mp_for_each<boost::describe::describe_members<T, boost::describe::mod_public>>(
          [&](auto d) { walk<std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>>(); });
    } else if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>) {
      walk<typename T::value_type>();
    }
  }

  template <class In, class... Out>
  void walk_signature(caf::typed_mpi<caf::detail::type_list<In>, caf::output_tuple<Out...>>) {
    walk<In>();
    (walk<Out>(), ...);
  }

  template <class... Signatures>
  void walk_interface(caf::detail::type_list<Signatures...>) {
    (walk_signature(Signatures{}), ...);
  }

  template <class... Handles>
  void walk_all(caf::detail::type_list<Handles...>) {
    (walk_interface(typename Handles::signatures{}), ...);
  }
};

}  // namespace

TEST_F(serialization, every_message_of_every_contract_round_trips) {
  walk_all(all_interfaces{});
  // Requests, replies and what they hold, across the six services.
  EXPECT_GT(checked.size(), 90u);
  for (const auto& name : {"pixhive.like_request", "pixhive.home_feed_request",
                           "pixhive.search_result", "pixhive.photo_card", "pixhive.job_view"})
    EXPECT_TRUE(checked.count(name)) << name;
}

TEST_F(serialization, json_from_an_older_writer_keeps_defaults) {
  // A writer that does not know a field leaves it out; the reader keeps the field's default.
  auto s = nlohmann::json::parse(R"({"photo_id":"7"})").get<like_request>();
  EXPECT_EQ(s.photo_id, 7);
  EXPECT_TRUE(s.like);
  EXPECT_EQ(s.who.user_id, 0);
  // Ids are decimal strings in JSON (63 bits do not fit a JavaScript number); numbers are read.
  EXPECT_EQ(nlohmann::json(like_request{{}, 9007199254740993, true})["photo_id"],
            "9007199254740993");
  EXPECT_EQ(nlohmann::json::parse(R"({"photo_id":7})").get<like_request>().photo_id, 7);
  EXPECT_THROW(nlohmann::json::parse(R"({"photo_id":"7x"})").get<like_request>(),
               nlohmann::json::exception);
  EXPECT_THROW(nlohmann::json::parse(R"({"like":"yes"})").get<like_request>(),
               nlohmann::json::exception);
}

TEST_F(serialization, idempotency_comes_from_the_declaration) {
  EXPECT_TRUE(is_idempotent(caf::make_message(like_request{})));
  EXPECT_TRUE(is_idempotent(caf::make_message(home_feed_request{})));
  EXPECT_FALSE(is_idempotent(caf::make_message(comment_request{})));
  EXPECT_FALSE(is_idempotent(caf::make_message(signup_request{})));
  EXPECT_FALSE(is_idempotent(caf::message{}));
}
