// libFuzzer target: the rule table. Any list of rule specs either builds a table in which every
// rule is found by its own (source, group, port), or is refused with std::invalid_argument (or
// std::runtime_error from a socket); anything else, or a crash, is a finding. One TableBuilder
// lives across inputs, as in a worker, so counters and sockets carried between versions are fuzzed too.
#include <fuzzer/FuzzedDataProvider.h>

#include <arpa/inet.h>

#include <cstdint>
#include <cstdlib>
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
  spec.group = address(in, 239);
  if (in.ConsumeIntegralInRange(0, 3) == 0) spec.source = address(in, 10);
  spec.port = in.ConsumeBool() ? in.ConsumeIntegralInRange(5000, 5003) : in.ConsumeIntegralInRange(-2, 70000);
  const int outputs = in.ConsumeIntegralInRange(0, 3);
  for (int i = 0; i < outputs; ++i) {
    mcr::OutputSpec o;
    o.group = address(in, 239);
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
  if (table->rules.size() + table->by_source.size() != specs.size()) abort();
  for (const auto& spec : specs) {
    // An SSM rule is found from its source; an any-source rule from a source no SSM rule names.
    const uint32_t source = spec.source.empty() ? 0 : host_order(spec.source);
    const mcr::RuleEntry* entry = table->find(source, host_order(spec.group), static_cast<uint16_t>(spec.port));
    if (entry == nullptr || entry->id != spec.id || entry->outputs.size() != spec.outputs.size()) abort();
    for (const auto& out : entry->outputs) {
      if (out.counters == nullptr || out.ttl < 1) abort();
    }
  }
  // Lookups of whatever else the input says must not crash.
  while (in.remaining_bytes() >= 10) table->find(in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegral<uint16_t>());
  return 0;
}
