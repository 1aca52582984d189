// IPv6 fragment reassembly for one worker (RFC 8200 4.5, RFC 5722). The kernel reassembles IPv4
// fragments for the fanout group (PACKET_FANOUT_FLAG_DEFRAG) but not IPv6 ones: parse_frame
// reports each IPv6 fragment ('fragment', family 6, fields filled) and the worker hands it here.
//
// A fixed table, all of it allocated by the constructor: kSlots datagrams in the making, each with
// a 64 KiB buffer for its fragmentable part and three bitmaps of its 8-byte units (covered, where a
// fragment starts, where one ends). Nothing is allocated per fragment, and no system call is made:
// the caller passes the time.
// - Keyed by (source, destination, identification), as RFC 8200 says.
// - Fragments in any order. One that overlaps what the datagram already holds drops the whole
//   datagram (RFC 5722), as does one inconsistent with the last fragment (a second last fragment
//   with another end, data past the end); an exact duplicate of a fragment already in is dropped
//   alone (RFC 8200 4.5 allows it) and the datagram kept.
// - Complete when the last fragment (M = 0) is in and no hole is left: the caller gets the
//   contiguous fragmentable part (UDP header + payload) and the first fragment's hop limit and
//   traffic class. The slot stays held (its bytes may sit in an egress batch) until release().
// - An incomplete datagram expires timeout_ns after its first fragment came; when the table is
//   full the oldest incomplete one is evicted. Both counted.
// - Only for datagrams a rule wants: the caller asks its rule table first (Table::wants6: any rule
//   for the destination group, and source for source-specific ones, whatever the port, which a
//   fragment but the first does not carry) and counts a refused fragment with unwanted(), so a
//   flood to groups nobody forwards never takes a slot from datagrams that do get forwarded.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "parse.h"

namespace mcr {

struct ReassemblyCounters {
  std::atomic<uint64_t> fragments{0};    // IPv6 fragments taken (exact duplicates and conflicting ones included)
  std::atomic<uint64_t> reassembled{0};  // datagrams completed
  std::atomic<uint64_t> expired{0};      // incomplete datagrams dropped at their timeout
  std::atomic<uint64_t> evicted{0};      // incomplete datagrams dropped to make room (table full)
  std::atomic<uint64_t> overlaps{0};     // datagrams dropped for an overlapping or inconsistent fragment
  std::atomic<uint64_t> duplicates{0};   // exact duplicate fragments dropped (their datagram kept)
  std::atomic<uint64_t> unwanted{0};     // fragments dropped untaken: no rule takes their group (and source)
};

// A completed datagram: valid until the next release() (or the table's destruction).
struct Reassembled {
  const uint8_t* data = nullptr;  // the fragmentable part: UDP header and payload
  size_t length = 0;
  const uint8_t* src6 = nullptr;  // 16 bytes each, network byte order
  const uint8_t* dst6 = nullptr;
  uint8_t ttl = 0;  // hop limit and traffic class of the first fragment (offset 0)
  uint8_t tos = 0;
};

class Reassembler {
 public:
  static constexpr size_t kSlots = 64;
  // 1 s: a datagram's fragments leave the sender back to back, so on any path a relay serves they
  // arrive within microseconds to milliseconds of each other; a lost fragment is never resent
  // (UDP), so waiting longer only keeps a 64 KiB slot from datagrams that can still complete. The
  // kernel's 60 s (ip6frag_time) suits hosts, which reassemble for any protocol and path.
  static constexpr uint64_t kTimeoutNs = 1000000000ull;
  // The fragmentable part of a reassembled datagram is at most 65535 bytes (the payload length
  // field's range; parse_frame refuses fragments reaching past it).
  static constexpr size_t kMaxLength = 65535;
  static constexpr size_t kUnits = (kMaxLength + 7) / 8;  // 8192 units of 8 bytes
  static constexpr size_t kWords = kUnits / 64 + 1;       // bitmap words; room for bit kUnits (an end)
  static constexpr size_t kBufferBytes = 65536;           // per slot: kMaxLength, rounded
  // Bytes a table of `slots` takes (4.2 MiB for kSlots).
  static constexpr size_t memory(size_t slots) { return slots * (kBufferBytes + 3 * kWords * 8 + sizeof(void*) * 8); }

  enum class Result {
    pending,    // taken; the datagram is not complete yet
    complete,   // *out is the whole datagram
    duplicate,  // an exact duplicate of a fragment already in: dropped, datagram kept
    overlap,    // overlapping or inconsistent: the datagram dropped (and this fragment)
    no_room,    // every slot holds a completed datagram not yet released: the fragment dropped
    invalid,    // not a fragment parse_frame would report (offset not a multiple of 8, past 65535,
                // M set with a length not a nonzero multiple of 8, offset 0 without M): dropped
                // before it touches a slot, counted nowhere (the forwarder never hands one over)
  };

  // Allocates everything; throws std::invalid_argument (with the values) for 0 slots or timeout,
  // std::bad_alloc when the memory is not there.
  explicit Reassembler(size_t slots = kSlots, uint64_t timeout_ns = kTimeoutNs);
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  // One fragment: p as parse_frame filled it for status 'fragment', family 6 (frag_* fields,
  // payload_length = the fragment's data), data = frame + p.payload_offset. now_ns: a monotonic
  // clock. Expires what is due first.
  Result add(const ParsedPacket& p, const uint8_t* data, uint64_t now_ns, Reassembled* out);
  // Frees the slots of completed datagrams: call once their bytes are no longer referenced.
  void release();
  // Counts a fragment the caller dropped before add(): no rule wants its group (see above).
  void unwanted();
  // Drops the incomplete datagrams whose time is up; returns how many.
  size_t expire(uint64_t now_ns);

  size_t slots() const { return slots_; }
  size_t open() const { return open_; }  // incomplete datagrams
  size_t held() const { return held_; }  // completed, not released
  const ReassemblyCounters& counters() const { return counters_; }

 private:
  enum class State : uint8_t { free, open, done };
  struct Slot {
    uint8_t src6[16];
    uint8_t dst6[16];
    uint64_t deadline_ns;
    uint64_t created_ns;
    size_t received;  // data bytes in (fragments never overlap: the covered bytes)
    size_t total;     // the fragmentable part's length, once the last fragment is in
    size_t max_end;   // the furthest byte any fragment reached
    size_t touched_words;  // bitmap words that may hold a set bit (cleared on reuse)
    bool has_last;
    bool has_first;
    uint8_t ttl;
    uint8_t tos;
  };
  uint8_t* buffer(size_t i) const { return buffers_.get() + i * kBufferBytes; }
  uint64_t* bitmap(size_t i, size_t which) const { return bitmaps_.get() + (i * 3 + which) * kWords; }
  size_t find(const ParsedPacket& p) const;
  size_t take(const ParsedPacket& p, uint64_t now_ns, bool* full);
  void drop(size_t i);

  size_t slots_;
  uint64_t timeout_ns_;
  size_t open_ = 0;
  size_t held_ = 0;
  uint64_t next_deadline_ns_ = UINT64_MAX;  // no open slot expires before this
  std::unique_ptr<State[]> states_;
  std::unique_ptr<uint32_t[]> ids_;  // per slot: the identification (scanned first)
  std::unique_ptr<Slot[]> table_;
  std::unique_ptr<uint8_t[]> buffers_;
  std::unique_ptr<uint64_t[]> bitmaps_;
  ReassemblyCounters counters_;
};

// The checks an unfragmented IPv6 datagram's UDP header gets, on a reassembled one: the UDP header
// fits and its length equals the reassembled length (else bad_udp_length). On ok, *out is filled
// as parse_frame fills it (family 6, addresses, ports, hop limit, traffic class), its
// payload_offset relative to d.data.
ParseStatus reassembled_udp(const Reassembled& d, ParsedPacket* out);

}  // namespace mcr
