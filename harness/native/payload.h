// The payload every generated packet carries (little-endian, 40-byte header, then fill):
//   0 magic u32 = 0x3152434d ("MCR1")   4 version u8 = 1   5 flags u8 (bit 0: warm-up)
//   6 header length u16 = 40            8 run id u32      12 stream id u32
//  16 sequence u64                      24 tx time u64 (CLOCK_MONOTONIC ns)
//  32 payload length u32 (whole UDP payload)               36 check u32
// check = 64-bit FNV-1a over 8-byte little-endian words of the whole payload (check field zero,
// a short tail zero-padded), folded to 32 bits. Fill byte i (from offset 40) = (stream*31 + seq*17 + i) & 0xff.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mcr {

constexpr uint32_t kPayloadMagic = 0x3152434d;
constexpr uint8_t kPayloadVersion = 1;
constexpr size_t kHeaderSize = 40;
constexpr size_t kMaxPayload = 65507;  // the largest UDP payload over IPv4 (sent as fragments beyond the MTU)
constexpr uint8_t kFlagWarmup = 1;

struct PayloadHeader {
  uint8_t flags;
  uint32_t run_id;
  uint32_t stream;
  uint64_t seq;
  uint64_t tx_ns;
  uint32_t length;
};

enum class PayloadStatus { ok, foreign, corrupted };

// Writes a whole payload of `length` bytes (kHeaderSize..kMaxPayload) into buf.
void write_payload(uint8_t* buf, size_t length, const PayloadHeader& header);
// Rewrites only the timestamp and the check (for stamping just before sending).
void restamp_payload(uint8_t* buf, size_t length, uint64_t tx_ns);
// foreign: not ours (too short, magic, version, run id); corrupted: ours but check or length wrong.
PayloadStatus read_payload(const uint8_t* buf, size_t length, uint32_t run_id, PayloadHeader* out);
uint32_t payload_check(const uint8_t* buf, size_t length);
uint64_t monotonic_ns();

}  // namespace mcr
