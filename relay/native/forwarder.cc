#include "forwarder.h"

#include <sys/prctl.h>

#include "parse.h"

namespace mcr {

namespace {
constexpr int kPollMs = 100;  // how quickly stop() is noticed when idle
}

Forwarder::Forwarder(const IngressOptions& options) : ingress_(options), table_(std::make_shared<Table>()) {}

Forwarder::~Forwarder() { stop(); }

void Forwarder::start() {
  if (running_.exchange(true)) return;
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (...) {
    running_.store(false);
    throw;
  }
}

void Forwarder::stop() {
  running_.store(false);
  if (thread_.joinable()) thread_.join();
}

void Forwarder::set_rules(const std::vector<RuleSpec>& specs) {
  std::shared_ptr<const Table> next = builder_.build(specs);
  std::atomic_store(&table_, next);
}

void Forwarder::handle(const uint8_t* frame, size_t length, bool foreign, const Table& table) {
  relaxed_add(rx_, 1);
  ParsedPacket p;
  const ParseStatus status = parse_frame(frame, length, &p);
  if (status != ParseStatus::ok) {
    relaxed_add(malformed_, 1);
    relaxed_add(dropped_[static_cast<size_t>(status)], 1);
    return;
  }
  // A VLAN's frame seen on its parent interface (marked not for this host, or its tag still in the
  // frame): not this interface's traffic. Rules for it go on the VLAN's own interface.
  if (foreign || p.vlan >= 0) {
    relaxed_add(vlan_tagged_, 1);
    return;
  }
  const RuleEntry* rule = p.family == 4 ? table.find(p.src, p.dst, p.dst_port) : table.find6(p.src6, p.dst6, p.dst_port);
  if (!rule) {
    relaxed_add(unmatched_, 1);
    return;
  }
  relaxed_add(matched_, 1);
  relaxed_add(rule->counters->packets, 1);
  relaxed_add(rule->counters->bytes, p.payload_length);
  const uint8_t* payload = frame + p.payload_offset;
  for (const OutputEntry& out : rule->outputs) {
    if (!out.socket) {  // output interface gone: counted, not sent
      relaxed_add(out.counters->errors, 1);
      relaxed_add(tx_errors_, 1);
      continue;
    }
    // Like a router: one hop less than it came with, at most the output's TTL; a packet with
    // nothing left is not sent. That is what stops two relays feeding each other's groups.
    // IPv4 TTL and IPv6 hop limit are one thing here, as are the TOS byte and the traffic class,
    // whichever family the packet came in with and goes out with.
    const int ttl = out.fixed_ttl ? out.ttl : std::min<int>(out.ttl, p.ttl - 1);
    if (ttl < 1) {
      relaxed_add(ttl_expired_, 1);
      continue;
    }
    const uint8_t tos = out.dscp < 0 ? p.tos : static_cast<uint8_t>((out.dscp << 2) | (p.tos & 3));
    if (batch_.full()) flush();
    batch_.add(out.socket->fd(), out.dest, payload, p.payload_length, out.counters, static_cast<uint8_t>(ttl), tos);
  }
}

void Forwarder::flush() {
  uint64_t errors = 0, messages = 0;
  relaxed_add(tx_, batch_.flush(&errors, &messages));
  relaxed_add(tx_errors_, errors);
  relaxed_add(tx_messages_, messages);
}

void Forwarder::loop() {
  // The ring's naps are tens of microseconds: the default 50 us of timer slack would double them.
  prctl(PR_SET_TIMERSLACK, 1000UL);
  while (running_.load(std::memory_order_relaxed)) {
    // One table per batch, loaded when the batch has arrived (not before the wait, or a rule
    // acknowledged during the wait would miss the batch): a swap never applies mid-batch.
    std::shared_ptr<const Table> table;
    ingress_.receive(
        kPollMs,
        [&](const uint8_t* frame, size_t length, bool foreign) {
          if (!table) table = std::atomic_load(&table_);
          handle(frame, length, foreign, *table);
        },
        [&] { flush(); });
  }
}

ForwarderCounters Forwarder::counters() {
  ForwarderCounters c;
  {
    // PACKET_STATISTICS clears on read: accumulate.
    std::lock_guard<std::mutex> lock(stats_mutex_);
    KernelStats k = ingress_.read_kernel_stats();
    kernel_total_.packets += k.packets;
    kernel_total_.drops += k.drops;
    kernel_total_.freezes += k.freezes;
    c.kernel_drops = kernel_total_.drops;
    c.ring_freezes = kernel_total_.freezes;
  }
  c.rx = rx_.load(std::memory_order_relaxed);
  c.matched = matched_.load(std::memory_order_relaxed);
  c.unmatched = unmatched_.load(std::memory_order_relaxed);
  c.malformed = malformed_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kParseStatusCount; ++i) c.dropped[i] = dropped_[i].load(std::memory_order_relaxed);
  c.ttl_expired = ttl_expired_.load(std::memory_order_relaxed);
  c.vlan_tagged = vlan_tagged_.load(std::memory_order_relaxed);
  c.tx = tx_.load(std::memory_order_relaxed);
  c.tx_errors = tx_errors_.load(std::memory_order_relaxed);
  c.tx_messages = tx_messages_.load(std::memory_order_relaxed);
  return c;
}

std::vector<RuleStatsSnapshot> Forwarder::rule_stats() {
  std::shared_ptr<const Table> table = std::atomic_load(&table_);
  std::vector<RuleStatsSnapshot> out;
  out.reserve(table->size());
  auto snapshot = [&out](const RuleEntry& r) {
    RuleStatsSnapshot s;
    s.id = r.id;
    s.packets = r.counters->packets.load(std::memory_order_relaxed);
    s.bytes = r.counters->bytes.load(std::memory_order_relaxed);
    for (const auto& o : r.counters->outputs) {
      s.outputs.push_back({o->packets.load(std::memory_order_relaxed), o->bytes.load(std::memory_order_relaxed), o->errors.load(std::memory_order_relaxed)});
    }
    out.push_back(std::move(s));
  };
  table->for_each(snapshot);
  return out;
}

}  // namespace mcr
