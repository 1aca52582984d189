// The worker counters, each named once as X(field, "jsKey"). ForwarderCounters has a field of
// each, Forwarder.stats() sets each under its key, and the addon exports the keys
// (workerCounterKeys) so that a test holds relay/src/counters.ts, which gives them their
// Prometheus names, help texts and mcrctl lines, to the same list.
#pragma once

// Counted by the forwarding thread (Forwarder::counts_).
#define MCR_FORWARDER_COUNTERS(X)                                                                    \
  X(rx, "rx") X(matched, "matched") X(unmatched, "unmatched") X(malformed, "malformed") X(tx, "tx") \
      X(tx_messages, "txMessages") X(tx_errors, "txErrors") X(ttl_expired, "ttlExpired") X(tx_no_source, "txNoSource")

// The ingress socket's PACKET_STATISTICS, accumulated (they clear on read).
#define MCR_KERNEL_COUNTERS(X) X(kernel_drops, "kernelDrops") X(ring_freezes, "ringFreezes")

// The IPv6 reassembler's: fields of ReassemblyCounters (reassembly.h).
#define MCR_REASSEMBLY_COUNTERS(X)                                                                                   \
  X(fragments, "fragments") X(reassembled, "reassembled") X(expired, "reassemblyExpired") X(evicted, "reassemblyEvicted") \
      X(overlaps, "reassemblyOverlaps") X(duplicates, "fragmentDuplicates") X(unwanted, "fragmentsUnwanted")

#define MCR_WORKER_COUNTERS(X) MCR_FORWARDER_COUNTERS(X) MCR_KERNEL_COUNTERS(X) MCR_REASSEMBLY_COUNTERS(X)
