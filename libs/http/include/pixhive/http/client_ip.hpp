#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include "pixhive/core/error.hpp"

namespace pixhive::http {

/// The proxies whose X-Forwarded-For is believed (the ingress), as CIDR ranges.
class trusted_proxies {
 public:
  /// Parses "10.0.0.0/8,fd00::/8,192.168.1.7" (a bare address is one host); empty trusts none.
  static result<trusted_proxies> parse(std::string_view list);
  /// True when `addr` is one of them.
  bool contains(const boost::asio::ip::address& addr) const;
  bool empty() const { return v4_.empty() && v6_.empty(); }

 private:
  std::vector<boost::asio::ip::network_v4> v4_;
  std::vector<boost::asio::ip::network_v6> v6_;
};

/// The client's address: the peer's, unless the peer is a trusted proxy; then the rightmost
/// X-Forwarded-For entry that is not a trusted proxy (entries left of it were written by the
/// client and prove nothing). A malformed entry stops the walk at the last good address.
std::string client_ip(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                      const trusted_proxies& trusted);

/// The key that limits and throttles count a client under: an IPv4 address as it is, an IPv6
/// address as its /64 ("2001:db8:1:2::/64"), since one subscriber usually holds a whole /64.
std::string client_key(std::string_view ip);

}  // namespace pixhive::http
