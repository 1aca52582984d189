#include "rules.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "parse.h"

namespace mcr {

namespace {

// An address of either family, as the rule gives it: IPv6 when it has a ':'.
struct Address {
  int family = AF_INET;
  uint32_t v4 = 0;  // host byte order
  in6_addr v6{};
};

Address parse_address(const std::string& text, const std::string& what) {
  Address a;
  if (text.find(':') != std::string::npos) {
    a.family = AF_INET6;
    if (inet_pton(AF_INET6, text.c_str(), &a.v6) != 1) throw std::invalid_argument(what + ": '" + text + "' is not an IPv6 address");
    return a;
  }
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) throw std::invalid_argument(what + ": '" + text + "' is not an IPv4 or IPv6 address");
  a.v4 = ntohl(addr.s_addr);
  return a;
}

Address parse_group(const std::string& text, const std::string& what) {
  Address a = parse_address(text, what);
  const bool multicast = a.family == AF_INET6 ? is_multicast6(a.v6.s6_addr) : is_multicast(a.v4);
  if (!multicast) throw std::invalid_argument(what + ": " + text + (a.family == AF_INET6 ? " is not a multicast group (ff00::/8)" : " is not a multicast group"));
  return a;
}

// A source-specific rule's source: unicast, of the group's family.
Address parse_source(const std::string& text, const Address& group, const std::string& what) {
  Address a = parse_address(text, what);
  if (a.family != group.family) {
    throw std::invalid_argument(what + ": " + text + " is " + (a.family == AF_INET6 ? "IPv6" : "IPv4") + " but the group is " + (group.family == AF_INET6 ? "IPv6" : "IPv4"));
  }
  if (a.family == AF_INET6) {
    if (IN6_IS_ADDR_UNSPECIFIED(&a.v6) || is_multicast6(a.v6.s6_addr)) throw std::invalid_argument(what + ": " + text + " is not a unicast address");
  } else if (a.v4 == 0 || is_multicast(a.v4)) {
    throw std::invalid_argument(what + ": " + text + " is not a unicast address");
  }
  return a;
}

uint16_t check_port(int port, const std::string& what) {
  if (port < 1 || port > 65535) throw std::invalid_argument(what + ": port " + std::to_string(port) + " out of range (1-65535)");
  return static_cast<uint16_t>(port);
}

Destination destination(const Address& group, uint16_t port, unsigned ifindex) {
  Destination d{};
  if (group.family == AF_INET6) {
    d.v6.sin6_family = AF_INET6;
    d.v6.sin6_addr = group.v6;
    d.v6.sin6_port = htons(port);
    // Needed for link- and interface-local groups (ff02::/16, ff01::/16), ignored by the kernel
    // for wider scopes (the socket's IPV6_MULTICAST_IF and device binding choose the interface).
    d.v6.sin6_scope_id = ifindex;
  } else {
    d.v4.sin_family = AF_INET;
    d.v4.sin_addr.s_addr = htonl(group.v4);
    d.v4.sin_port = htons(port);
  }
  return d;
}

}  // namespace

std::shared_ptr<const Table> TableBuilder::build(const std::vector<RuleSpec>& specs) {
  auto table = std::make_shared<Table>();
  table->rules.reserve(specs.size());
  std::map<std::string, std::shared_ptr<RuleCounters>> counters;
  for (size_t r = 0; r < specs.size(); ++r) {
    const RuleSpec& spec = specs[r];
    if (spec.id.empty()) throw std::invalid_argument("rule #" + std::to_string(r + 1) + ": empty id");
    const std::string what = "rule " + spec.id;
    // Counters are kept by id: two rules with one id would share (and overrun) one counter set.
    if (counters.count(spec.id)) throw std::invalid_argument(what + ": duplicate rule id");
    const Address group = parse_group(spec.group, what + " group");
    const bool v6 = group.family == AF_INET6;
    const uint16_t port = check_port(spec.port, what);
    if (spec.outputs.empty()) throw std::invalid_argument(what + ": no outputs");
    const bool ssm = !spec.source.empty();
    const Address source = ssm ? parse_source(spec.source, group, what + " source") : Address{};
    const std::string input = (ssm ? spec.source + " -> " : std::string()) + (v6 ? "[" + spec.group + "]" : spec.group) + ":" + std::to_string(port);
    const bool duplicate = v6 ? (ssm ? table->by_source6.count(source_key6(source.v6.s6_addr, group.v6.s6_addr, port)) : table->rules6.count(key6(group.v6.s6_addr, port)))
                              : (ssm ? table->by_source.count(SourceKey{source.v4, group.v4, port}) : table->rules.count(rule_key(group.v4, port)));
    if (duplicate) throw std::invalid_argument(what + ": duplicate input " + input);

    auto& rc = counters[spec.id];
    auto previous = counters_.find(spec.id);
    if (previous != counters_.end() && previous->second->outputs.size() == spec.outputs.size()) rc = previous->second;
    if (!rc) {
      rc = std::make_shared<RuleCounters>();
      for (size_t i = 0; i < spec.outputs.size(); ++i) rc->outputs.push_back(std::make_unique<OutputCounters>());
    }

    RuleEntry entry{spec.id, rc, {}};
    for (size_t i = 0; i < spec.outputs.size(); ++i) {
      const OutputSpec& o = spec.outputs[i];
      const std::string owhat = what + " output " + std::to_string(i + 1);
      OutputEntry out;
      // An output's family is its own: the relay re-sends the UDP payload, IPv4 in, IPv6 out or back.
      const Address out_group = parse_group(o.group, owhat + " group");
      const uint16_t out_port = check_port(o.port, owhat);
      if (o.ttl < 1 || o.ttl > 255) throw std::invalid_argument(owhat + ": ttl " + std::to_string(o.ttl) + " out of range (1-255)");
      if (o.dscp < -1 || o.dscp > 63) throw std::invalid_argument(owhat + ": dscp " + std::to_string(o.dscp) + " out of range (0-63)");
      out.ttl = static_cast<uint8_t>(o.ttl);
      out.fixed_ttl = o.fixed_ttl;
      out.dscp = o.dscp;
      if (o.ifname.empty() || o.ifname.size() >= IF_NAMESIZE) throw std::invalid_argument(owhat + ": bad interface name '" + o.ifname + "'");
      // An output interface that is gone (deleted, not yet re-created) gets no socket: its packets
      // are counted as errors until mcrd reloads the table when the interface is back.
      const unsigned ifindex = if_nametoindex(o.ifname.c_str());
      out.dest = destination(out_group, out_port, ifindex);
      if (ifindex != 0) {
        const auto key = std::make_pair(ifindex, out_group.family);
        std::shared_ptr<EgressSocket> sock = sockets_[key].lock();
        if (!sock) {
          sock = std::make_shared<EgressSocket>(o.ifname, ifindex, out_group.family, egress_);
          sockets_[key] = sock;
        }
        if (std::find(table->sockets.begin(), table->sockets.end(), sock) == table->sockets.end()) table->sockets.push_back(sock);
        out.socket = sock;
      }
      out.counters = rc->outputs[i].get();
      entry.outputs.push_back(std::move(out));
    }
    if (v6) {
      if (ssm) table->groups6.add(source.v6.s6_addr, group.v6.s6_addr);
      else table->groups6.add(group.v6.s6_addr);
      if (ssm) table->by_source6.emplace(source_key6(source.v6.s6_addr, group.v6.s6_addr, port), std::move(entry));
      else table->rules6.emplace(key6(group.v6.s6_addr, port), std::move(entry));
    } else {
      if (ssm) table->by_source.emplace(SourceKey{source.v4, group.v4, port}, std::move(entry));
      else table->rules.emplace(rule_key(group.v4, port), std::move(entry));
    }
  }
  counters_ = std::move(counters);
  // Forget sockets no table uses any more (the last table holding them has been dropped).
  for (auto it = sockets_.begin(); it != sockets_.end();) it = it->second.expired() ? sockets_.erase(it) : std::next(it);
  return table;
}

}  // namespace mcr
