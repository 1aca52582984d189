#include "reassembly.h"

#include <cstring>
#include <stdexcept>
#include <string>

namespace mcr {

namespace {

constexpr size_t kUnit = 8;
constexpr size_t kUdpHeader = 8;
constexpr size_t kCovered = 0, kStarts = 1, kEnds = 2;  // the three bitmaps of a slot

// Single writer (the forwarding thread): a relaxed load + store, as relaxed_add in egress.h.
inline void bump(std::atomic<uint64_t>& counter) { counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

// Bits [a, b) of a bitmap, b <= 64 * words. Each helper walks whole words.
inline uint64_t mask(size_t a, size_t b) {  // bits a..b-1 of one word, 0 <= a < b <= 64
  const uint64_t high = b == 64 ? ~0ull : (1ull << b) - 1;
  return high & ~((1ull << a) - 1);
}
template <typename F>
void for_words(size_t a, size_t b, F f) {  // f(word index, mask); stops when f returns false
  while (a < b) {
    const size_t w = a / 64;
    const size_t end = (w + 1) * 64 < b ? (w + 1) * 64 : b;
    if (!f(w, mask(a % 64, end - w * 64))) return;
    a = end;
  }
}
bool any(const uint64_t* bits, size_t a, size_t b) {
  bool found = false;
  for_words(a, b, [&](size_t w, uint64_t m) { return !(found = (bits[w] & m) != 0); });
  return found;
}
bool all(const uint64_t* bits, size_t a, size_t b) {
  bool full = true;
  for_words(a, b, [&](size_t w, uint64_t m) { return (full = (bits[w] & m) == m); });
  return full;
}
void set(uint64_t* bits, size_t a, size_t b) {
  for_words(a, b, [&](size_t w, uint64_t m) {
    bits[w] |= m;
    return true;
  });
}
inline bool test(const uint64_t* bits, size_t i) { return (bits[i / 64] >> (i % 64)) & 1u; }

}  // namespace

Reassembler::Reassembler(size_t slots, uint64_t timeout_ns) : slots_(slots), timeout_ns_(timeout_ns) {
  if (slots == 0 || slots > 4096) throw std::invalid_argument("IPv6 reassembly table: " + std::to_string(slots) + " slots (1 to 4096)");
  if (timeout_ns == 0) throw std::invalid_argument("IPv6 reassembly table: a timeout of 0 ns");
  states_.reset(new State[slots]);
  ids_.reset(new uint32_t[slots]());
  table_.reset(new Slot[slots]());
  buffers_.reset(new uint8_t[slots * kBufferBytes]);  // written before read: no need to clear
  bitmaps_.reset(new uint64_t[slots * 3 * kWords]());
  for (size_t i = 0; i < slots; ++i) states_[i] = State::free;
}

void Reassembler::unwanted() { bump(counters_.unwanted); }

size_t Reassembler::find(const ParsedPacket& p) const {
  for (size_t i = 0; i < slots_; ++i) {
    if (ids_[i] != p.frag_id || states_[i] != State::open) continue;
    const Slot& s = table_[i];
    if (std::memcmp(s.src6, p.src6, 16) == 0 && std::memcmp(s.dst6, p.dst6, 16) == 0) return i;
  }
  return slots_;
}

// A slot for a new datagram: a free one, else the oldest incomplete one (evicted, counted). With
// every slot held by a completed datagram (the caller has not released them) there is none:
// returns slots_ and sets *full.
size_t Reassembler::take(const ParsedPacket& p, uint64_t now_ns, bool* full) {
  size_t pick = slots_;
  size_t oldest = slots_;
  for (size_t i = 0; i < slots_ && pick == slots_; ++i) {
    if (states_[i] == State::free) pick = i;
    else if (states_[i] == State::open && (oldest == slots_ || table_[i].created_ns < table_[oldest].created_ns)) oldest = i;
  }
  if (pick == slots_) {
    if (oldest == slots_) {
      *full = true;
      return slots_;
    }
    drop(oldest);
    bump(counters_.evicted);
    pick = oldest;
  }
  Slot& s = table_[pick];
  std::memcpy(s.src6, p.src6, 16);
  std::memcpy(s.dst6, p.dst6, 16);
  s.created_ns = now_ns;
  // now_ns + timeout_ns: a monotonic clock's nanoseconds stay far from wrapping a uint64_t (584
  // years); saturate anyway, so a fuzzer's clock cannot wrap a deadline into the past.
  s.deadline_ns = now_ns > UINT64_MAX - timeout_ns_ ? UINT64_MAX : now_ns + timeout_ns_;
  s.received = 0;
  s.total = 0;
  s.max_end = 0;
  s.touched_words = 0;
  s.has_last = false;
  s.has_first = false;
  s.ttl = 0;
  s.tos = 0;
  ids_[pick] = p.frag_id;
  states_[pick] = State::open;
  ++open_;
  if (s.deadline_ns < next_deadline_ns_) next_deadline_ns_ = s.deadline_ns;
  return pick;
}

// Frees slot i (open or done) and clears the bitmap words it may have set.
void Reassembler::drop(size_t i) {
  if (states_[i] == State::open) --open_;
  else if (states_[i] == State::done) --held_;
  states_[i] = State::free;
  const size_t words = table_[i].touched_words;  // <= kWords
  for (size_t which = 0; which < 3; ++which) std::memset(bitmap(i, which), 0, words * sizeof(uint64_t));
  table_[i].touched_words = 0;
}

size_t Reassembler::expire(uint64_t now_ns) {
  if (open_ == 0 || now_ns < next_deadline_ns_) return 0;
  size_t n = 0;
  uint64_t next = UINT64_MAX;
  for (size_t i = 0; i < slots_; ++i) {
    if (states_[i] != State::open) continue;
    if (table_[i].deadline_ns <= now_ns) {
      drop(i);
      bump(counters_.expired);
      ++n;
    } else if (table_[i].deadline_ns < next) {
      next = table_[i].deadline_ns;
    }
  }
  next_deadline_ns_ = next;
  return n;
}

void Reassembler::release() {
  if (held_ == 0) return;
  for (size_t i = 0; i < slots_ && held_ > 0; ++i) {
    if (states_[i] == State::done) drop(i);
  }
}

Reassembler::Result Reassembler::add(const ParsedPacket& p, const uint8_t* data, uint64_t now_ns, Reassembled* out) {
  bump(counters_.fragments);
  expire(now_ns);
  // parse_frame guarantees offset + length <= 65535 and, with M set, a length that is a nonzero
  // multiple of 8; checked again (a caller other than the forwarder, a fuzzer): anything else is
  // not a fragment this table can hold, refused before it touches a slot. From here on
  // offset + length <= kMaxLength < kBufferBytes.
  const size_t offset = p.frag_offset;
  const size_t length = p.payload_length;
  const bool more = p.frag_more != 0;
  if (offset % kUnit != 0 || length > kMaxLength || offset + length > kMaxLength || (more && (length == 0 || length % kUnit != 0)) || (offset == 0 && !more)) {
    return Result::invalid;
  }
  const size_t end = offset + length;  // <= kMaxLength
  size_t i = find(p);
  if (i == slots_) {
    bool full = false;
    i = take(p, now_ns, &full);
    if (full) {
      bump(counters_.evicted);  // this fragment's datagram is the one lost
      return Result::no_room;
    }
  }
  Slot& s = table_[i];
  // Units [first, last): the 8-byte units this fragment covers; only the last fragment may end
  // inside a unit, and nothing follows it. first <= last <= kUnits, end bit index <= kUnits < 64 * kWords.
  const size_t first = offset / kUnit;
  const size_t last = (end + kUnit - 1) / kUnit;
  uint64_t* covered = bitmap(i, kCovered);
  uint64_t* starts = bitmap(i, kStarts);
  uint64_t* ends = bitmap(i, kEnds);
  // Consistency with the last fragment: there is one end, and nothing lies past it.
  const bool inconsistent = more ? (s.has_last && end > s.total) : ((s.has_last && end != s.total) || s.max_end > end);
  if (!inconsistent && any(covered, first, last)) {
    // Some of it is in already: an exact duplicate (the same units, one fragment starting where
    // it starts and none inside, one ending where it ends; a last fragment's byte end equal too)
    // is dropped alone; anything else overlaps (RFC 5722: the whole datagram goes).
    const bool exact = all(covered, first, last) && test(starts, first) && test(ends, last) && !any(starts, first + 1, last) && (more || (s.has_last && s.total == end));
    if (exact) {
      bump(counters_.duplicates);
      return Result::duplicate;
    }
    drop(i);
    bump(counters_.overlaps);
    return Result::overlap;
  }
  if (inconsistent) {
    drop(i);
    bump(counters_.overlaps);
    return Result::overlap;
  }
  if (length == 0 && s.has_last) {
    // An empty last fragment when the last is in with the same end (a duplicate of it); a
    // different end was inconsistent above.
    bump(counters_.duplicates);
    return Result::duplicate;
  }
  // New data: end <= kMaxLength < kBufferBytes, so buffer + offset .. + length stays in the slot.
  std::memcpy(buffer(i) + offset, data, length);
  set(covered, first, last);
  if (first < last) set(starts, first, first + 1);
  set(ends, last, last + 1);
  const size_t words = last / 64 + 1;  // the furthest word written, + 1 (last <= kUnits: <= kWords)
  if (words > s.touched_words) s.touched_words = words;
  s.received += length;
  if (end > s.max_end) s.max_end = end;
  if (!more) {
    s.has_last = true;
    s.total = end;
  }
  if (offset == 0) {
    s.has_first = true;
    s.ttl = p.ttl;
    s.tos = p.tos;
  }
  // No two fragments share a byte and none lies past total: received == total means every byte
  // of [0, total) is in, the one at 0 (fragments start on unit boundaries) included.
  if (!s.has_last || s.received != s.total || !s.has_first) return Result::pending;
  states_[i] = State::done;
  --open_;
  ++held_;
  bump(counters_.reassembled);
  out->data = buffer(i);
  out->length = s.total;
  out->src6 = s.src6;
  out->dst6 = s.dst6;
  out->ttl = s.ttl;
  out->tos = s.tos;
  return Result::complete;
}

ParseStatus reassembled_udp(const Reassembled& d, ParsedPacket* out) {
  // The UDP header inside the datagram, and its length field the datagram's length: a reassembled
  // datagram has no padding after it, so (unlike a frame's) its UDP length must be exact.
  if (d.data == nullptr || d.length < kUdpHeader) return ParseStatus::bad_udp_length;
  const size_t udp_length = be16(d.data + 4);
  if (udp_length != d.length) return ParseStatus::bad_udp_length;
  std::memcpy(out->src6, d.src6, 16);
  std::memcpy(out->dst6, d.dst6, 16);
  out->family = 6;
  out->ttl = d.ttl;
  out->tos = d.tos;
  out->src_port = be16(d.data);
  out->dst_port = be16(d.data + 2);
  out->payload_offset = kUdpHeader;
  out->payload_length = udp_length - kUdpHeader;
  return ParseStatus::ok;
}

}  // namespace mcr
