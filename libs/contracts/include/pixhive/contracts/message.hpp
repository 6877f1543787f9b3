#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/describe/class.hpp>
#include <boost/describe/members.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/mp11/list.hpp>
#include <boost/pfr/core.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <nlohmann/json.hpp>

/// The single declaration of a contract's messages: each struct names its fields once with
/// PIXHIVE_MESSAGE, and CAF serialization (inspect), type registration, JSON conversion and the
/// idempotency of requests derive from it.
namespace pixhive::contracts {

namespace detail {

template <class T>
using members_of = boost::describe::describe_members<T, boost::describe::mod_public>;

/// True when the field list given to PIXHIVE_MESSAGE names as many fields as `T` has, so a
/// field added to the struct but not to the list fails to compile instead of being dropped on
/// the wire.
template <class T>
constexpr bool lists_every_field() {
  return boost::mp11::mp_size<members_of<T>>::value == boost::pfr::tuple_size_v<T>;
}

}  // namespace detail

/// True for a struct declared with PIXHIVE_MESSAGE.
template <class T>
concept declared_message = boost::describe::has_describe_members<T>::value;

/// A request that may run twice with the effect of once (reads, and writes that set a value),
/// so a link may send it again to another replica when the first one went down. Declared with
/// PIXHIVE_IDEMPOTENT next to the request.
template <class T>
inline constexpr bool idempotent = false;

/// The CAF type name of a message (`pixhive.<struct name>`).
template <declared_message T>
std::string type_name() {
  return std::string{"pixhive."} + message_name(static_cast<const T*>(nullptr));
}

/// Serializes and deserializes every declared field, in declaration order.
template <class Inspector, declared_message T>
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return [&]<template <class...> class L, class... D>(L<D...>) {
    return f(caf::meta::type_name(message_name(static_cast<const T*>(nullptr))), x.*D::pointer...);
  }(detail::members_of<T>{});
}

namespace detail {

/// True for a field that holds ids: `id`, `*_id`, `ids` or `*_ids`. Ids travel in JSON as
/// decimal strings, since JSON numbers lose 63-bit precision in JavaScript and other readers.
inline bool names_ids(std::string_view name) {
  return name == "id" || name == "ids" || name.ends_with("_id") || name.ends_with("_ids");
}

/// An id from JSON: a decimal string or a plain number; anything else is a type error.
inline int64_t id_from(const nlohmann::json& j) {
  if (j.is_number_integer()) return j.get<int64_t>();
  const auto& text = j.get_ref<const std::string&>();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw nlohmann::json::type_error::create(302, "id is not a decimal number: " + text, &j);
  return v;
}

}  // namespace detail

/// Writes a message as a JSON object with one key per field (ids as decimal strings).
template <declared_message T>
void to_json(nlohmann::json& j, const T& x) {
  j = nlohmann::json::object();
  boost::mp11::mp_for_each<detail::members_of<T>>([&](auto d) {
    using field = std::remove_cvref_t<decltype(x.*d.pointer)>;
    if constexpr (std::is_same_v<field, int64_t>) {
      if (detail::names_ids(d.name)) return void(j[d.name] = std::to_string(x.*d.pointer));
    } else if constexpr (std::is_same_v<field, std::vector<int64_t>>) {
      if (detail::names_ids(d.name)) {
        auto& out = j[d.name] = nlohmann::json::array();
        for (auto v : x.*d.pointer) out.push_back(std::to_string(v));
        return;
      }
    }
    j[d.name] = x.*d.pointer;
  });
}

/// Reads a message from a JSON object; absent keys keep their defaults (an older writer), and
/// ids are read from decimal strings or numbers.
template <declared_message T>
void from_json(const nlohmann::json& j, T& x) {
  boost::mp11::mp_for_each<detail::members_of<T>>([&](auto d) {
    auto it = j.find(d.name);
    if (it == j.end()) return;
    using field = std::remove_cvref_t<decltype(x.*d.pointer)>;
    if constexpr (std::is_same_v<field, int64_t>) {
      if (detail::names_ids(d.name)) return void(x.*d.pointer = detail::id_from(*it));
    } else if constexpr (std::is_same_v<field, std::vector<int64_t>>) {
      if (detail::names_ids(d.name)) {
        auto& out = x.*d.pointer;
        out.clear();
        for (const auto& v : *it) out.push_back(detail::id_from(v));
        return;
      }
    }
    it->get_to(x.*d.pointer);
  });
}

namespace detail {

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {
  using element = T;
};

/// Registers `T` with CAF when it is a message or a list of messages, then what it holds.
template <class T>
void add_type(caf::actor_system_config& cfg) {
  if constexpr (declared_message<T>) {
    cfg.add_message_type<T>(type_name<T>());
    boost::mp11::mp_for_each<members_of<T>>([&](auto d) {
      using field = std::remove_cvref_t<decltype(std::declval<T&>().*d.pointer)>;
      add_type<field>(cfg);
    });
  } else if constexpr (is_vector<T>::value) {
    using element = typename is_vector<T>::element;
    if constexpr (declared_message<element>) {
      cfg.add_message_type<T>(type_name<element>() + "_list");
      add_type<element>(cfg);
    } else if constexpr (std::is_same_v<element, int64_t>) {
      cfg.add_message_type<T>("pixhive.id_list");
    }
  }
}

template <class Signature>
struct signature_types;
template <class... In, class... Out>
struct signature_types<caf::typed_mpi<caf::detail::type_list<In...>, caf::output_tuple<Out...>>> {
  static void add(caf::actor_system_config& cfg) {
    (add_type<In>(cfg), ...);
    (add_type<Out>(cfg), ...);
  }
};

template <class... Signatures>
void add_signatures(caf::actor_system_config& cfg, caf::detail::type_list<Signatures...>) {
  (signature_types<Signatures>::add(cfg), ...);
}

}  // namespace detail

/// Registers with CAF every message that the typed interfaces `Handles` take or give, and the
/// messages and lists of messages inside them.
template <class... Handles>
void add_types(caf::actor_system_config& cfg) {
  (detail::add_signatures(cfg, typename Handles::signatures{}), ...);
}

}  // namespace pixhive::contracts

/// Declares the fields of message struct `T` (in the struct's namespace, after it), in the
/// order they go on the wire. A list that misses a field of the struct does not compile.
#define PIXHIVE_MESSAGE(T, ...)                                       \
  BOOST_DESCRIBE_STRUCT(T, (), (__VA_ARGS__))                         \
  [[maybe_unused]] constexpr const char* message_name(const T*) {     \
    return #T;                                                        \
  }                                                                   \
  static_assert(::pixhive::contracts::detail::lists_every_field<T>(), \
                "PIXHIVE_MESSAGE(" #T ", ...) must list every field of the struct")

/// Declares request `T` idempotent (see pixhive::contracts::idempotent).
#define PIXHIVE_IDEMPOTENT(T) \
  template <>                 \
  inline constexpr bool idempotent<T> = true
