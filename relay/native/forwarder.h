// One worker's data plane: ingress socket, rule table, egress sockets, and the forwarding thread.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "counters.h"
#include "egress.h"
#include "ingress.h"
#include "link_watch.h"
#include "parse.h"
#include "reassembly.h"
#include "rules.h"

namespace mcr {

struct ForwarderCounters {
#define MCR_FIELD(field, key) uint64_t field = 0;
  MCR_WORKER_COUNTERS(MCR_FIELD)
#undef MCR_FIELD
  uint64_t vlan_tagged = 0;                  // well-formed, but another VLAN's: one of the drop reasons
  uint64_t dropped[kParseStatusCount] = {};  // malformed frames by ParseStatus ('ok' stays 0)
};

struct RuleStatsSnapshot {
  std::string id;
  uint64_t packets = 0, bytes = 0;
  struct Output {
    uint64_t packets = 0, bytes = 0, errors = 0;
  };
  std::vector<Output> outputs;
};

class Forwarder {
 public:
  Forwarder(const IngressOptions& options, EgressKind egress);
  ~Forwarder();

  int fanout_id() const { return ingress_.fanout_id(); }
  // Starts receiving: joins the fanout group. Called once the rules are loaded.
  void join() { ingress_.join(); }
  void start();
  void stop();

  // Changing the fanout group under traffic without loss or reordering (the supervisor's
  // protocol, relay/src/scaling.ts, puts them in order):
  // steer: hash mode, the group's bucket table (steering.h); any member sets it for all.
  void steer(const std::vector<uint8_t>& owners) { ingress_.steer(owners); }
  // hold: the thread sends the batch in hand, then stops reading; frames wait in the ring.
  // Returns once it has stopped (false: not within timeout_ms). release: it reads again.
  bool hold(int timeout_ms);
  void release();
  // Returns once every frame waiting in the ring when it was called has been forwarded (false:
  // not within timeout_ms). For the block ring and recvmmsg, which cannot count what waits:
  // once a read found nothing 2 ms after the call (a block is handed over within 1 ms).
  bool barrier(int timeout_ms);
  // Builds a new table from specs and publishes it; the thread picks it up at its next batch.
  void set_rules(const std::vector<RuleSpec>& specs);
  ForwarderCounters counters();
  std::vector<RuleStatsSnapshot> rule_stats();

 private:
  void loop();
  void handle(const uint8_t* frame, size_t length, bool foreign, const Table& table);
  void handle_fragment(const uint8_t* frame, const ParsedPacket& p, bool foreign, const Table& table);
  void forward(const RuleEntry* rule, const ParsedPacket& p, const uint8_t* payload);
  void flush();
  void serve_control();
  void check_barrier(bool received);

  Ingress ingress_;
  TableBuilder builder_;
  std::shared_ptr<const Table> table_;  // accessed with std::atomic_load/atomic_store
  // The output links' facts, read on the watch's thread (read_links); links_changed_ counts the
  // reads that found a change, links_seen_ is the forwarding thread's last look at it.
  void read_links();
  LinkWatch link_watch_;
  std::atomic<uint64_t> links_changed_{0};
  uint64_t links_seen_ = 0;
  std::thread thread_;
  std::atomic<bool> running_{false};
  EgressBatch batch_;
  // IPv6 fragments in the making; a completed datagram's slot is held until the batch that sends
  // its bytes is flushed (flush() releases it).
  Reassembler reassembler_;
  bool in_datagram_ = false;  // forwarding a reassembled datagram: flush() keeps its slot
  // hold / barrier requests from the JS thread, served by the forwarding thread between batches.
  std::mutex control_mutex_;
  std::condition_variable control_cv_;
  std::atomic<bool> control_pending_{false};  // the thread's cheap test; set under control_mutex_
  bool hold_requested_ = false, parked_ = false;
  uint64_t barrier_requested_ = 0, barrier_passed_ = 0;  // request numbers, under control_mutex_
  // The forwarding thread's view of the barrier it is working on.
  uint64_t barrier_serving_ = 0, barrier_target_rx_ = 0, barrier_since_ns_ = 0;
  bool barrier_armed_ = false;
  std::mutex stats_mutex_;
  KernelStats kernel_total_;
  // Written by the forwarding thread only; read by stats().
  struct Counts {
#define MCR_FIELD(field, key) std::atomic<uint64_t> field{0};
    MCR_FORWARDER_COUNTERS(MCR_FIELD)
#undef MCR_FIELD
  } counts_;
  std::atomic<uint64_t> vlan_tagged_{0};
  std::atomic<uint64_t> dropped_[kParseStatusCount] = {};
};

}  // namespace mcr
