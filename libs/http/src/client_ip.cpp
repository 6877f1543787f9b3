#include "pixhive/http/client_ip.hpp"

#include <algorithm>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/system/error_code.hpp>

namespace pixhive::http {

namespace net = boost::asio::ip;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An IPv4 client seen through a dual-stack socket is ::ffff:a.b.c.d; one spelling per client.
net::address canonical(const net::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return net::make_address_v4(net::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

result<trusted_proxies> trusted_proxies::parse(std::string_view list) {
  trusted_proxies out;
  size_t pos = 0;
  while (pos <= list.size()) {
    auto comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    auto item = std::string(trim(list.substr(pos, comma - pos)));
    pos = comma + 1;
    if (item.empty()) continue;
    boost::system::error_code ec;
    if (item.find('/') == std::string::npos)
      item += item.find(':') == std::string::npos ? "/32" : "/128";
    if (item.find(':') == std::string::npos) {
      auto n = net::make_network_v4(item, ec);
      if (!ec) out.v4_.push_back(n.canonical());
    } else {
      auto n = net::make_network_v6(item, ec);
      if (!ec) out.v6_.push_back(n.canonical());
    }
    if (ec)
      return make_error(errc::invalid_argument, "bad_config",
                        "option --trusted-proxies: '" + item +
                            "' is not an address or CIDR range (10.0.0.0/8, fd00::/8)");
  }
  return out;
}

bool trusted_proxies::contains(const net::address& raw) const {
  auto addr = canonical(raw);
  if (addr.is_v4()) {
    auto a = addr.to_v4().to_uint();
    for (const auto& n : v4_) {
      auto mask = n.netmask().to_uint();
      if ((a & mask) == (n.address().to_uint() & mask)) return true;
    }
    return false;
  }
  auto a = addr.to_v6().to_bytes();
  for (const auto& n : v6_) {
    auto net_bytes = n.address().to_bytes();
    int bits = n.prefix_length();
    bool match = true;
    for (int i = 0; i < 16 && bits > 0 && match; ++i, bits -= 8) {
      uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
      match = (a[i] & mask) == (net_bytes[i] & mask);
    }
    if (match) return true;
  }
  return false;
}

std::string client_ip(const net::address& peer, std::string_view forwarded_for,
                      const trusted_proxies& trusted) {
  auto current = canonical(peer);
  if (forwarded_for.empty() || !trusted.contains(current)) return current.to_string();
  // Walk from the right: each hop appended the address it received the request from.
  auto rest = forwarded_for;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    auto item = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
    boost::system::error_code ec;
    auto addr = net::make_address(std::string(item), ec);
    if (ec) break;
    current = canonical(addr);
    if (!trusted.contains(current)) break;
  }
  return current.to_string();
}

std::string client_key(std::string_view ip) {
  boost::system::error_code ec;
  auto addr = net::make_address(std::string(ip), ec);
  if (ec || !addr.is_v6()) return std::string(ip);
  auto bytes = addr.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return net::address_v6(bytes).to_string() + "/64";
}

}  // namespace pixhive::http
