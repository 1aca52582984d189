#include "forwarder.h"

#include <sys/prctl.h>

#include "clock.h"
#include "parse.h"

namespace mcr {

namespace {
constexpr int kPollMs = 100;  // how quickly stop() is noticed when idle
// How often the output links' MAC, MTU and addresses are read again whatever rtnetlink says: a
// change whose event was lost is still followed within this (the operator's "within 1 s").
constexpr int kLinkRefreshMs = 250;

}  // namespace

Forwarder::Forwarder(const IngressOptions& options, EgressKind egress)
    : ingress_(options), builder_(egress), table_(std::make_shared<Table>()), link_watch_([this] { read_links(); }, kLinkRefreshMs) {}

Forwarder::~Forwarder() { stop(); }

void Forwarder::start() {
  if (running_.exchange(true)) return;
  try {
    link_watch_.start();
    thread_ = std::thread([this] { loop(); });
  } catch (...) {
    running_.store(false);
    link_watch_.stop();
    throw;
  }
}

void Forwarder::stop() {
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    running_.store(false);
    control_pending_.store(true);
  }
  control_cv_.notify_all();
  ingress_.wake();
  if (thread_.joinable()) thread_.join();
  link_watch_.stop();
}

void Forwarder::read_links() {
  bool changed = false;
  for (const auto& socket : std::atomic_load(&table_)->sockets) changed = socket->read_link() || changed;
  if (changed) links_changed_.fetch_add(1, std::memory_order_release);
}

bool Forwarder::hold(int timeout_ms) {
  std::unique_lock<std::mutex> lock(control_mutex_);
  hold_requested_ = true;
  control_pending_.store(true);
  ingress_.wake();
  return control_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return parked_ || !running_.load(); });
}

void Forwarder::release() {
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    hold_requested_ = false;
  }
  control_cv_.notify_all();
}

bool Forwarder::barrier(int timeout_ms) {
  std::unique_lock<std::mutex> lock(control_mutex_);
  const uint64_t request = ++barrier_requested_;
  control_pending_.store(true);
  ingress_.wake();
  return control_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return barrier_passed_ >= request || !running_.load(); });
}

// The forwarding thread, between batches: takes a new barrier's measure, parks while held.
void Forwarder::serve_control() {
  std::unique_lock<std::mutex> lock(control_mutex_);
  control_pending_.store(false);
  if (barrier_requested_ != barrier_serving_) {
    // A newer request supersedes an older one still armed: its target covers the older's frames.
    barrier_serving_ = barrier_requested_;
    barrier_target_rx_ = counts_.rx.load(std::memory_order_relaxed) + ingress_.ready_frames();
    barrier_since_ns_ = coarse_monotonic_ns();
    barrier_armed_ = true;
  }
  if (hold_requested_ && running_.load()) {
    parked_ = true;
    control_cv_.notify_all();
    control_cv_.wait(lock, [&] { return !hold_requested_ || !running_.load(); });
    parked_ = false;
  }
}

// After a read: has every frame the barrier counted been forwarded (the read's batch is flushed)?
void Forwarder::check_barrier(bool received) {
  constexpr uint64_t kSettleNs = 2'000'000;
  const bool passed = ingress_.counts_frames() ? counts_.rx.load(std::memory_order_relaxed) >= barrier_target_rx_ : !received && coarse_monotonic_ns() - barrier_since_ns_ >= kSettleNs;
  if (!passed) return;
  barrier_armed_ = false;
  {
    std::lock_guard<std::mutex> lock(control_mutex_);
    barrier_passed_ = barrier_serving_;
  }
  control_cv_.notify_all();
}

void Forwarder::set_rules(const std::vector<RuleSpec>& specs) {
  std::shared_ptr<const Table> next = builder_.build(specs);
  std::atomic_store(&table_, next);
}

inline __attribute__((always_inline)) void Forwarder::forward(const RuleEntry* rule, const ParsedPacket& p, const uint8_t* payload) {
  relaxed_add(counts_.matched, 1);
  relaxed_add(rule->counters->packets, 1);
  relaxed_add(rule->counters->bytes, p.payload_length);
  for (const OutputEntry& out : rule->outputs) {
    if (!out.socket) {  // output interface gone: counted, not sent
      relaxed_add(out.counters->errors, 1);
      relaxed_add(counts_.tx_errors, 1);
      continue;
    }
    // Like a router: one hop less than it came with, at most the output's TTL; a packet with
    // nothing left is not sent. That is what stops two relays feeding each other's groups.
    // IPv4 TTL and IPv6 hop limit are one thing here, as are the TOS byte and the traffic class,
    // whichever family the packet came in with and goes out with.
    const int ttl = out.fixed_ttl ? out.ttl : std::min<int>(out.ttl, p.ttl - 1);
    if (ttl < 1) {
      relaxed_add(counts_.ttl_expired, 1);
      continue;
    }
    const uint8_t tos = out.dscp < 0 ? p.tos : static_cast<uint8_t>((out.dscp << 2) | (p.tos & 3));
    if (batch_.full()) flush();
    if (!batch_.add(out.socket.get(), out.dest, payload, p.payload_length, out.counters, static_cast<uint8_t>(ttl), tos, p.src_port)) {
      // The output link has no address of the group's family: nothing is sent from a wrong one.
      relaxed_add(out.counters->errors, 1);
      relaxed_add(counts_.tx_errors, 1);
      relaxed_add(counts_.tx_no_source, 1);
    }
  }
}

void Forwarder::handle(const uint8_t* frame, size_t length, bool foreign, const Table& table) {
  relaxed_add(counts_.rx, 1);
  ParsedPacket p;
  const ParseStatus status = parse_frame(frame, length, &p);
  if (status != ParseStatus::ok) {
    // An IPv6 fragment (family 6; an IPv4 one leaves family 0) goes to the reassembler.
    if (status == ParseStatus::fragment && p.family == 6) {
      handle_fragment(frame, p, foreign, table);
      return;
    }
    relaxed_add(counts_.malformed, 1);
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
    relaxed_add(counts_.unmatched, 1);
    return;
  }
  forward(rule, p, frame + p.payload_offset);
}

// Out of line, so fragments (rare) add no code to the unfragmented path. A completed datagram takes the
// path an unfragmented one takes from the UDP checks on: rule lookup, counters, outputs.
__attribute__((noinline)) void Forwarder::handle_fragment(const uint8_t* frame, const ParsedPacket& p, bool foreign, const Table& table) {
  if (foreign || p.vlan >= 0) {  // another VLAN's: not reassembled either
    relaxed_add(vlan_tagged_, 1);
    return;
  }
  // Only datagrams a rule could forward get a slot: a flood of fragments to other groups (ids
  // rotating, each a datagram of its own) would otherwise evict real ones in the making. By group
  // and source alone: a fragment but the first has no port (p.src6/dst6 are filled for fragments).
  if (!table.wants6(p.src6, p.dst6)) {
    reassembler_.unwanted();
    return;
  }
  Reassembled d;
  if (reassembler_.add(p, frame + p.payload_offset, coarse_monotonic_ns(), &d) != Reassembler::Result::complete) return;
  ParsedPacket q;
  const ParseStatus status = reassembled_udp(d, &q);
  if (status != ParseStatus::ok) {
    relaxed_add(counts_.malformed, 1);
    relaxed_add(dropped_[static_cast<size_t>(status)], 1);
    return;
  }
  const RuleEntry* rule = table.find6(q.src6, q.dst6, q.dst_port);
  if (!rule) {
    relaxed_add(counts_.unmatched, 1);
  } else {
    // A flush while its copies are queued (the batch full) must not free the slot under the
    // copies still to come: it is released by the next flush.
    in_datagram_ = true;
    forward(rule, q, d.data + q.payload_offset);
    in_datagram_ = false;
  }
  // The batch points into held slots: flush before half of them are, so a new datagram always
  // finds a slot that is free or merely incomplete (Reassembler::Result::no_room never happens).
  if (reassembler_.held() >= reassembler_.slots() / 2) flush();
}

void Forwarder::flush() {
  uint64_t errors = 0, messages = 0;
  relaxed_add(counts_.tx, batch_.flush(&errors, &messages));
  relaxed_add(counts_.tx_errors, errors);
  relaxed_add(counts_.tx_messages, messages);
  if (!in_datagram_) reassembler_.release();  // nothing points into completed datagrams any more
}

void Forwarder::loop() {
  // The ring's naps are tens of microseconds: the default 50 us of timer slack would double them.
  prctl(PR_SET_TIMERSLACK, 1000UL);
  while (running_.load(std::memory_order_relaxed)) {
    if (control_pending_.load(std::memory_order_relaxed)) {
      serve_control();
      if (!running_.load(std::memory_order_relaxed)) break;
      if (barrier_armed_) check_barrier(false);  // nothing waited: passed at once
    }
    const uint64_t rx_before = counts_.rx.load(std::memory_order_relaxed);
    // One table per batch, loaded when the batch has arrived (not before the wait, or a rule
    // acknowledged during the wait would miss the batch): a swap never applies mid-batch.
    std::shared_ptr<const Table> table;
    // While a barrier is armed, waits are short: the block ring and recvmmsg pass it on a read that finds nothing.
    ingress_.receive(
        barrier_armed_ ? 1 : kPollMs,
        [&](const uint8_t* frame, size_t length, bool foreign) {
          if (!table) table = std::atomic_load(&table_);
          handle(frame, length, foreign, *table);
        },
        [&] { flush(); });
    if (barrier_armed_) check_barrier(counts_.rx.load(std::memory_order_relaxed) != rx_before);
    // Incomplete IPv6 datagrams time out even when no fragment comes to notice it.
    const uint64_t now = coarse_monotonic_ns();
    if (reassembler_.open() > 0) reassembler_.expire(now);
    const uint64_t links_changed = links_changed_.load(std::memory_order_acquire);
    if (links_changed != links_seen_) {
      links_seen_ = links_changed;
      for (const auto& socket : std::atomic_load(&table_)->sockets) socket->adopt_link();
    }
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
#define MCR_LOAD(field, key) c.field = counts_.field.load(std::memory_order_relaxed);
  MCR_FORWARDER_COUNTERS(MCR_LOAD)
#undef MCR_LOAD
  c.vlan_tagged = vlan_tagged_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kParseStatusCount; ++i) c.dropped[i] = dropped_[i].load(std::memory_order_relaxed);
  const ReassemblyCounters& r = reassembler_.counters();
#define MCR_LOAD(field, key) c.field = r.field.load(std::memory_order_relaxed);
  MCR_REASSEMBLY_COUNTERS(MCR_LOAD)
#undef MCR_LOAD
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
