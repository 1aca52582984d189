// libFuzzer target: the IPv6 reassembly table fed a sequence of fragments read from the input.
// Input: one byte of setup (slots 1-8), then 6-byte records:
//   flags: bit 0 M (more), bit 1 release() after, bit 2 expire() before, bits 3-5 the key (two
//          sources x four identifications), bit 6 an offset not a multiple of 8 (refused), bit 7 the
//          16-bit length used as is (else: its low 11 bits, a multiple of 8 with M set, as
//          parse_frame requires)
//   offset: 2 bytes, big-endian, in bytes (the low 3 bits kept only with flag bit 6)
//   length: 2 bytes, big-endian
//   time: 1 byte, milliseconds since the previous record (the table's timeout is 100 ms)
// Each fragment's bytes come from a heap buffer of exactly its length (AddressSanitizer reports a
// read past it) filled with pattern(key, position in the datagram). Invariants: a completed
// datagram is at most 65535 bytes, every byte of it is its key's pattern (so every byte came from
// one of its fragments, none from another datagram or a stale one), its length is the sum of the
// fragment lengths the table took for it (when no expiry or eviction could have hidden which
// datagram went), the counters add up, reassembled_udp never reads past the datagram.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../reassembly.h"

namespace {

constexpr int kKeys = 8;
constexpr uint64_t kMs = 1000000ull;

uint8_t pattern(int key, size_t position) { return static_cast<uint8_t>((position * 131 + (position >> 8) * 7 + key * 29 + 1) & 0xff); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t slots = 1 + (data[0] & 7);
  mcr::Reassembler table(slots, 100 * kMs);
  uint64_t now = 1000 * kMs;
  // Per key: the bytes the table took for its datagram in the making; -1 when an expiry or
  // eviction may have dropped it unseen (which datagram went is not said).
  long long taken[kKeys];
  for (long long& t : taken) t = 0;
  uint64_t completes = 0;
  for (size_t at = 1; at + 6 <= size; at += 6) {
    const uint8_t flags = data[at];
    const int key = (flags >> 3) & 7;
    size_t offset = static_cast<size_t>((data[at + 1] << 8) | data[at + 2]);
    size_t length = static_cast<size_t>((data[at + 3] << 8) | data[at + 4]);
    now += data[at + 5] * kMs;
    const bool more = (flags & 1) != 0;
    if ((flags & 0x40) == 0) offset &= ~static_cast<size_t>(7);
    if ((flags & 0x80) == 0) {  // mostly short fragments (quicker inputs), rounded as parse_frame's are with M
      length &= 0x7ff;
      if (more) length &= ~static_cast<size_t>(7);
    }
    const uint64_t lost_before = table.counters().expired.load() + table.counters().evicted.load();
    if (flags & 4) table.expire(now);

    mcr::ParsedPacket p;
    std::memset(p.src6, 0, 16);
    std::memset(p.dst6, 0, 16);
    p.src6[0] = 0xfd;
    p.src6[15] = static_cast<uint8_t>(1 + (key & 1));
    p.dst6[0] = 0xff;
    p.dst6[1] = 0x15;
    p.dst6[15] = 1;
    p.family = 6;
    p.ttl = static_cast<uint8_t>(key + 1);
    p.tos = static_cast<uint8_t>(key);
    p.frag_id = static_cast<uint32_t>(0x1000 + (key >> 1));
    p.frag_offset = static_cast<uint16_t>(offset);  // as parse_frame fills it: at most 65535
    p.frag_more = more ? 1 : 0;
    p.frag_next = 17;
    p.payload_length = length;
    // Exactly `length` bytes on the heap (at least one, so the pointer is a real allocation).
    std::vector<uint8_t> bytes(length == 0 ? 1 : length);
    for (size_t i = 0; i < length; ++i) bytes[i] = pattern(key, (offset & 0xffff) + i);
    mcr::Reassembled out;
    const mcr::Reassembler::Result r = table.add(p, bytes.data(), now, &out);
    if (table.counters().expired.load() + table.counters().evicted.load() != lost_before) {
      for (long long& t : taken) t = -1;
    }
    switch (r) {
      case mcr::Reassembler::Result::pending:
        if (taken[key] >= 0) taken[key] += static_cast<long long>(length);
        break;
      case mcr::Reassembler::Result::complete: {
        ++completes;
        if (out.data == nullptr || out.length > mcr::Reassembler::kMaxLength) abort();
        if (taken[key] >= 0 && static_cast<long long>(out.length) != taken[key] + static_cast<long long>(length)) abort();
        for (size_t i = 0; i < out.length; ++i) {
          if (out.data[i] != pattern(key, i)) abort();
        }
        if (out.ttl != key + 1 || out.tos != key || out.src6[15] != 1 + (key & 1)) abort();
        mcr::ParsedPacket q;
        const mcr::ParseStatus s = mcr::reassembled_udp(out, &q);
        if (s == mcr::ParseStatus::ok && (q.payload_offset != 8 || q.payload_offset + q.payload_length != out.length)) abort();
        taken[key] = 0;
        break;
      }
      case mcr::Reassembler::Result::overlap:
        taken[key] = 0;
        break;
      case mcr::Reassembler::Result::invalid:
        // Refused before any slot: only what parse_frame would never report.
        if (offset % 8 == 0 && offset + length <= 65535 && !(more && (length == 0 || length % 8 != 0)) && (offset != 0 || more)) abort();
        break;
      case mcr::Reassembler::Result::duplicate:
      case mcr::Reassembler::Result::no_room:
        break;
      default:
        abort();
    }
    if (table.open() + table.held() > table.slots()) abort();
    if (table.counters().reassembled.load() != completes) abort();
    if (flags & 2) table.release();
    if (table.held() == table.slots()) table.release();
  }
  return 0;
}
