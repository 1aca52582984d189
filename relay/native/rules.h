// The rule table the forwarding thread reads: immutable once published, swapped whole.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "egress.h"

namespace mcr {

struct RuleCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::vector<std::unique_ptr<OutputCounters>> outputs;
};

struct OutputSpec {
  std::string group;
  int port = 0;
  std::string ifname;
  int ttl = 8;             // the most an output gets: min(ttl, input TTL - 1)
  bool fixed_ttl = false;  // send with ttl whatever the input TTL (no loop safety)
  int dscp = -1;           // rewrite the DSCP bits (0-63), or -1: keep the input's TOS
};

struct RuleSpec {
  std::string id;
  std::string group;
  std::string source;  // "" = any source; else only datagrams from this address (SSM)
  int port = 0;
  std::vector<OutputSpec> outputs;
};

struct OutputEntry {
  std::shared_ptr<EgressSocket> socket;  // null while the output interface does not exist
  sockaddr_in dest{};
  OutputCounters* counters = nullptr;
  uint8_t ttl = 8;
  bool fixed_ttl = false;
  int dscp = -1;
};

struct RuleEntry {
  std::string id;
  std::shared_ptr<RuleCounters> counters;
  std::vector<OutputEntry> outputs;
};

inline uint64_t rule_key(uint32_t group, uint16_t port) { return (static_cast<uint64_t>(group) << 16) | port; }

struct SourceKey {
  uint32_t source, group;
  uint16_t port;
  bool operator==(const SourceKey& o) const { return source == o.source && group == o.group && port == o.port; }
};
struct SourceKeyHash {
  size_t operator()(const SourceKey& k) const { return std::hash<uint64_t>()(rule_key(k.group, k.port) ^ (static_cast<uint64_t>(k.source) << 24)); }
};

struct Table {
  std::unordered_map<uint64_t, RuleEntry> rules;                     // (group, port), any source
  std::unordered_map<SourceKey, RuleEntry, SourceKeyHash> by_source;  // (source, group, port): SSM
  // A source-specific rule wins over an any-source one for the same group and port; the second
  // probe is skipped while there are no source-specific rules.
  const RuleEntry* find(uint32_t source, uint32_t group, uint16_t port) const {
    if (!by_source.empty()) {
      auto it = by_source.find(SourceKey{source, group, port});
      if (it != by_source.end()) return &it->second;
    }
    auto it = rules.find(rule_key(group, port));
    return it == rules.end() ? nullptr : &it->second;
  }
};

// Builds tables, keeping egress sockets and counters alive across versions (by key and rule id),
// so a swap neither resets counters nor reopens sockets.
class TableBuilder {
 public:
  // Throws std::invalid_argument naming the rule and field for bad input.
  std::shared_ptr<const Table> build(const std::vector<RuleSpec>& specs);

 private:
  // Egress sockets by output ifindex, shared between rules and table versions. Keyed by ifindex,
  // not name: an interface deleted and re-created under the same name gets a new socket.
  std::map<unsigned, std::weak_ptr<EgressSocket>> sockets_;
  std::map<std::string, std::shared_ptr<RuleCounters>> counters_;
};

}  // namespace mcr
