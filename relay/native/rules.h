// The rule table the forwarding thread reads: immutable once published, swapped whole.
#pragma once
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
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
  std::string group;  // IPv4 or IPv6, whatever the input's family
  int port = 0;
  std::string ifname;
  int ttl = 8;             // the most an output gets: min(ttl, input TTL - 1)
  bool fixed_ttl = false;  // send with ttl whatever the input TTL (no loop safety)
  int dscp = -1;           // rewrite the DSCP bits (0-63), or -1: keep the input's TOS
};

struct RuleSpec {
  std::string id;
  std::string group;   // IPv4 (224.0.0.0/4) or IPv6 (ff00::/8)
  std::string source;  // "" = any source; else only datagrams from this address (SSM), of the group's family
  int port = 0;
  std::vector<OutputSpec> outputs;
};

struct OutputEntry {
  std::shared_ptr<EgressSocket> socket;  // null while the output interface does not exist
  Destination dest{};                    // IPv4 or IPv6: the socket's family
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

// IPv6 keys: addresses in network byte order, compared whole, hashed from their two halves.
struct Key6 {
  uint8_t group[16];
  uint16_t port;
  bool operator==(const Key6& o) const { return port == o.port && std::memcmp(group, o.group, 16) == 0; }
};
struct SourceKey6 {
  uint8_t source[16];
  uint8_t group[16];
  uint16_t port;
  bool operator==(const SourceKey6& o) const { return port == o.port && std::memcmp(group, o.group, 16) == 0 && std::memcmp(source, o.source, 16) == 0; }
};
inline uint64_t mix_address6(const uint8_t* a) {
  uint64_t hi, lo;
  std::memcpy(&hi, a, 8);
  std::memcpy(&lo, a + 8, 8);
  return hi * 0x9e3779b97f4a7c15ull ^ lo;
}
struct Key6Hash {
  size_t operator()(const Key6& k) const { return std::hash<uint64_t>()(mix_address6(k.group) ^ k.port); }
};
struct SourceKey6Hash {
  size_t operator()(const SourceKey6& k) const { return std::hash<uint64_t>()(mix_address6(k.group) ^ (mix_address6(k.source) * 31) ^ k.port); }
};
inline Key6 key6(const uint8_t* group, uint16_t port) {
  Key6 k;
  std::memcpy(k.group, group, 16);
  k.port = port;
  return k;
}
inline SourceKey6 source_key6(const uint8_t* source, const uint8_t* group, uint16_t port) {
  SourceKey6 k;
  std::memcpy(k.source, source, 16);
  std::memcpy(k.group, group, 16);
  k.port = port;
  return k;
}

// The IPv6 groups (and, for source-specific rules, the sources) some rule takes, whatever its port:
// which fragments the worker reassembles. A fragment but the first carries no UDP header, so the
// port cannot be asked; keys hold port 0. Lookups build their key on the stack: no allocation.
struct Groups6 {
  std::unordered_set<Key6, Key6Hash> any_source;                // groups of any-source rules
  std::unordered_set<SourceKey6, SourceKey6Hash> by_source;     // (source, group) of source-specific rules
  void add(const uint8_t* group) { any_source.insert(key6(group, 0)); }
  void add(const uint8_t* source, const uint8_t* group) { by_source.insert(source_key6(source, group, 0)); }
  // Whether a datagram from source to group could match a rule (port aside). The second probe is
  // skipped while there are no source-specific rules, as in Table::find6.
  bool wants(const uint8_t* source, const uint8_t* group) const {
    if (any_source.count(key6(group, 0)) != 0) return true;
    return !by_source.empty() && by_source.count(source_key6(source, group, 0)) != 0;
  }
};

struct Table {
  std::unordered_map<uint64_t, RuleEntry> rules;                     // (group, port), any source
  std::unordered_map<SourceKey, RuleEntry, SourceKeyHash> by_source;  // (source, group, port): SSM
  // IPv6 inputs in maps of their own: an IPv4 probe pays nothing for IPv6 keys (smaller keys, smaller maps).
  std::unordered_map<Key6, RuleEntry, Key6Hash> rules6;
  std::unordered_map<SourceKey6, RuleEntry, SourceKey6Hash> by_source6;
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
  // The same for IPv6 (16-byte addresses, network byte order).
  const RuleEntry* find6(const uint8_t* source, const uint8_t* group, uint16_t port) const {
    if (!by_source6.empty()) {
      auto it = by_source6.find(source_key6(source, group, port));
      if (it != by_source6.end()) return &it->second;
    }
    auto it = rules6.find(key6(group, port));
    return it == rules6.end() ? nullptr : &it->second;
  }
  // IPv6 fragments are reassembled only for these (reassembly.h): filled by TableBuilder::build.
  Groups6 groups6;
  bool wants6(const uint8_t* source, const uint8_t* group) const { return groups6.wants(source, group); }
  // Every egress socket the outputs use, once: the forwarding thread refreshes their link facts.
  std::vector<std::shared_ptr<EgressSocket>> sockets;
  size_t size() const { return rules.size() + by_source.size() + rules6.size() + by_source6.size(); }
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (const auto& kv : rules) visit(kv.second);
    for (const auto& kv : by_source) visit(kv.second);
    for (const auto& kv : rules6) visit(kv.second);
    for (const auto& kv : by_source6) visit(kv.second);
  }
};

// Builds tables, keeping egress sockets and counters alive across versions (by key and rule id),
// so a swap neither resets counters nor reopens sockets.
class TableBuilder {
 public:
  explicit TableBuilder(EgressKind egress = EgressKind::udp) : egress_(egress) {}
  // Throws std::invalid_argument naming the rule and field for bad input.
  std::shared_ptr<const Table> build(const std::vector<RuleSpec>& specs);

 private:
  // Egress sockets by (output ifindex, address family), shared between rules and table versions.
  // Keyed by ifindex, not name: an interface deleted and re-created under the same name gets a new socket.
  std::map<std::pair<unsigned, int>, std::weak_ptr<EgressSocket>> sockets_;
  EgressKind egress_;
  std::map<std::string, std::shared_ptr<RuleCounters>> counters_;
};

}  // namespace mcr
