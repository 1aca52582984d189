// libFuzzer target: the rule table. Any list of rule specs either builds a table in which every
// rule is found by its own (source, group, port), or is refused with std::invalid_argument (or
// std::runtime_error from a socket); anything else, or a crash, is a finding. One TableBuilder
// lives across inputs, as in a worker, so counters and sockets carried between versions are fuzzed too.
#include <fuzzer/FuzzedDataProvider.h>

#include <arpa/inet.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../rules.h"

namespace {

// Mostly well-formed values, so the fuzzer gets past validation; sometimes anything.
std::string address(FuzzedDataProvider& in, uint8_t first_octet) {
  if (in.ConsumeIntegralInRange(0, 7) == 0) return in.ConsumeRandomLengthString(20);
  const uint8_t a = in.ConsumeBool() ? first_octet : in.ConsumeIntegral<uint8_t>();
  return std::to_string(a) + "." + std::to_string(in.ConsumeIntegral<uint8_t>()) + "." + std::to_string(in.ConsumeIntegralInRange(0, 3)) + "." +
         std::to_string(in.ConsumeIntegralInRange(0, 3));
}

// An IPv6 address in text: mostly a group under ff (or a unicast one under fd), sometimes anything.
std::string address6(FuzzedDataProvider& in, const char* prefix) {
  if (in.ConsumeIntegralInRange(0, 7) == 0) return in.ConsumeRandomLengthString(40);
  char text[64];
  snprintf(text, sizeof text, "%s%x::%x:%x", in.ConsumeBool() ? prefix : "", in.ConsumeIntegralInRange(0, 0xff), in.ConsumeIntegralInRange(0, 3), in.ConsumeIntegralInRange(0, 3));
  return text;
}

// Either family, IPv4 more often.
std::string any_address(FuzzedDataProvider& in, uint8_t first_octet, const char* prefix6) {
  return in.ConsumeIntegralInRange(0, 2) == 0 ? address6(in, prefix6) : address(in, first_octet);
}

std::string interface_name(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: return "lo";
    case 1: return "mcr-absent0";
    case 2: return "";
    default: return in.ConsumeRandomLengthString(20);
  }
}

mcr::RuleSpec rule(FuzzedDataProvider& in) {
  mcr::RuleSpec spec;
  spec.id = "r" + std::to_string(in.ConsumeIntegralInRange(0, 9));  // few ids: duplicates happen
  if (in.ConsumeIntegralInRange(0, 15) == 0) spec.id.clear();
  const bool v6 = in.ConsumeIntegralInRange(0, 2) == 0;
  spec.group = v6 ? address6(in, "ff1") : address(in, 239);
  // A source of the group's family mostly; sometimes of the other (refused).
  if (in.ConsumeIntegralInRange(0, 3) == 0) spec.source = in.ConsumeIntegralInRange(0, 7) == 0 ? any_address(in, 10, "fd") : v6 ? address6(in, "fd") : address(in, 10);
  spec.port = in.ConsumeBool() ? in.ConsumeIntegralInRange(5000, 5003) : in.ConsumeIntegralInRange(-2, 70000);
  const int outputs = in.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < outputs; ++i) {
    mcr::OutputSpec o;
    o.group = any_address(in, 239, "ff0");
    o.port = in.ConsumeIntegralInRange(-1, 65536);
    o.ifname = interface_name(in);
    o.ttl = in.ConsumeIntegralInRange(-1, 256);
    o.fixed_ttl = in.ConsumeBool();
    o.dscp = in.ConsumeIntegralInRange(-2, 64);
    spec.outputs.push_back(o);
  }
  return spec;
}

uint32_t host_order(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1 ? ntohl(addr.s_addr) : 0;
}

in6_addr address6_bytes(const std::string& text) {
  in6_addr addr{};
  if (inet_pton(AF_INET6, text.c_str(), &addr) != 1) addr = in6_addr{};
  return addr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mcr::TableBuilder builder;
  FuzzedDataProvider in(data, size);
  std::vector<mcr::RuleSpec> specs(in.ConsumeIntegralInRange(0, 8));
  for (auto& spec : specs) spec = rule(in);

  std::shared_ptr<const mcr::Table> table;
  try {
    table = builder.build(specs);
  } catch (const std::invalid_argument&) {
    return 0;
  } catch (const std::runtime_error&) {
    return 0;
  }
  if (table->size() != specs.size()) abort();
  for (const auto& spec : specs) {
    // An SSM rule is found from its source; an any-source rule from a source no SSM rule names.
    const mcr::RuleEntry* entry;
    if (spec.group.find(':') != std::string::npos) {
      const in6_addr group = address6_bytes(spec.group), source = address6_bytes(spec.source);
      entry = table->find6(source.s6_addr, group.s6_addr, static_cast<uint16_t>(spec.port));
      // Its fragments are reassembled: the group (and source) is wanted whatever the port.
      if (!table->wants6(source.s6_addr, group.s6_addr)) abort();
    } else {
      const uint32_t source = spec.source.empty() ? 0 : host_order(spec.source);
      entry = table->find(source, host_order(spec.group), static_cast<uint16_t>(spec.port));
    }
    if (entry == nullptr || entry->id != spec.id || entry->outputs.size() != spec.outputs.size()) abort();
    for (size_t i = 0; i < entry->outputs.size(); ++i) {
      const mcr::OutputEntry& out = entry->outputs[i];
      if (out.counters == nullptr || out.ttl < 1) abort();
      // The destination is of the output group's family, and so is its socket.
      const int family = spec.outputs[i].group.find(':') != std::string::npos ? AF_INET6 : AF_INET;
      if (out.dest.sa.sa_family != family || (out.socket && out.socket->family() != family)) abort();
    }
  }
  // Lookups of whatever else the input says must not crash.
  while (in.remaining_bytes() >= 10) {
    if (in.ConsumeBool() && in.remaining_bytes() >= 34) {
      uint8_t source[16], group[16];
      in.ConsumeData(source, sizeof source);
      in.ConsumeData(group, sizeof group);
      // Near misses too: a rule's own group, with its source or another.
      if (!specs.empty() && (group[0] & 1)) {
        const mcr::RuleSpec& spec = specs[group[1] % specs.size()];
        if (spec.group.find(':') != std::string::npos) std::memcpy(group, address6_bytes(spec.group).s6_addr, 16);
        if (!spec.source.empty() && (source[0] & 1)) std::memcpy(source, address6_bytes(spec.source).s6_addr, 16);
      }
      table->find6(source, group, in.ConsumeIntegral<uint16_t>());
      // Wanted exactly when some IPv6 rule takes this group from any source, or from this one.
      bool some_rule = false;
      for (const auto& spec : specs) {
        if (spec.group.find(':') == std::string::npos) continue;
        const in6_addr g = address6_bytes(spec.group), s = address6_bytes(spec.source);
        if (std::memcmp(g.s6_addr, group, 16) == 0 && (spec.source.empty() || std::memcmp(s.s6_addr, source, 16) == 0)) some_rule = true;
      }
      if (table->wants6(source, group) != some_rule) abort();
    } else {
      table->find(in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint16_t>());
    }
  }
  return 0;
}
