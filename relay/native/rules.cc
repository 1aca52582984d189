#include "rules.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <iterator>
#include <stdexcept>

#include "parse.h"

namespace mcr {

namespace {

uint32_t parse_group(const std::string& text, const std::string& what) {
  in_addr addr{};
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) throw std::invalid_argument(what + ": '" + text + "' is not an IPv4 address");
  uint32_t host = ntohl(addr.s_addr);
  if (!is_multicast(host)) throw std::invalid_argument(what + ": " + text + " is not a multicast group");
  return host;
}

uint16_t check_port(int port, const std::string& what) {
  if (port < 1 || port > 65535) throw std::invalid_argument(what + ": port " + std::to_string(port) + " out of range (1-65535)");
  return static_cast<uint16_t>(port);
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
    const uint32_t group = parse_group(spec.group, what + " group");
    const uint16_t port = check_port(spec.port, what);
    if (spec.outputs.empty()) throw std::invalid_argument(what + ": no outputs");
    const uint64_t key = rule_key(group, port);
    uint32_t source = 0;
    if (!spec.source.empty()) {
      in_addr addr{};
      if (inet_pton(AF_INET, spec.source.c_str(), &addr) != 1) throw std::invalid_argument(what + " source: '" + spec.source + "' is not an IPv4 address");
      source = ntohl(addr.s_addr);
      if (source == 0 || is_multicast(source)) throw std::invalid_argument(what + " source: " + spec.source + " is not a unicast address");
      if (table->by_source.count(SourceKey{source, group, port})) throw std::invalid_argument(what + ": duplicate input " + spec.source + " -> " + spec.group + ":" + std::to_string(port));
    } else if (table->rules.count(key)) {
      throw std::invalid_argument(what + ": duplicate input " + spec.group + ":" + std::to_string(port));
    }

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
      out.dest.sin_family = AF_INET;
      out.dest.sin_addr.s_addr = htonl(parse_group(o.group, owhat + " group"));
      out.dest.sin_port = htons(check_port(o.port, owhat));
      if (o.ttl < 1 || o.ttl > 255) throw std::invalid_argument(owhat + ": ttl " + std::to_string(o.ttl) + " out of range (1-255)");
      if (o.dscp < -1 || o.dscp > 63) throw std::invalid_argument(owhat + ": dscp " + std::to_string(o.dscp) + " out of range (0-63)");
      out.ttl = static_cast<uint8_t>(o.ttl);
      out.fixed_ttl = o.fixed_ttl;
      out.dscp = o.dscp;
      if (o.ifname.empty() || o.ifname.size() >= IF_NAMESIZE) throw std::invalid_argument(owhat + ": bad interface name '" + o.ifname + "'");
      // An output interface that is gone (deleted, not yet re-created) gets no socket: its packets
      // are counted as errors until mcrd reloads the table when the interface is back.
      const unsigned ifindex = if_nametoindex(o.ifname.c_str());
      if (ifindex != 0) {
        std::shared_ptr<EgressSocket> sock = sockets_[ifindex].lock();
        if (!sock) {
          sock = std::make_shared<EgressSocket>(o.ifname, ifindex);
          sockets_[ifindex] = sock;
        }
        out.socket = sock;
      }
      out.counters = rc->outputs[i].get();
      entry.outputs.push_back(std::move(out));
    }
    if (source) table->by_source.emplace(SourceKey{source, group, port}, std::move(entry));
    else table->rules.emplace(key, std::move(entry));
  }
  counters_ = std::move(counters);
  // Forget sockets no table uses any more (the last table holding them has been dropped).
  for (auto it = sockets_.begin(); it != sockets_.end();) it = it->second.expired() ? sockets_.erase(it) : std::next(it);
  return table;
}

}  // namespace mcr
