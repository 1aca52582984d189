#include "payload.h"

#include <time.h>

#include <cstring>

namespace mcr {

namespace {

template <typename T>
void put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);  // x86/arm64 Linux are little-endian; the layout says so
}
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint32_t payload_check(const uint8_t* buf, size_t length) {
  uint64_t h = 0xcbf29ce484222325ull;
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t w = get<uint64_t>(buf + i);
    if (i == 32) w &= 0x00000000ffffffffull;  // bytes 36..39 are the check itself
    h = (h ^ w) * 0x100000001b3ull;
  }
  if (i < length) {
    uint64_t w = 0;
    std::memcpy(&w, buf + i, length - i);
    h = (h ^ w) * 0x100000001b3ull;
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

void write_payload(uint8_t* buf, size_t length, const PayloadHeader& header) {
  put<uint32_t>(buf, kPayloadMagic);
  buf[4] = kPayloadVersion;
  buf[5] = header.flags;
  put<uint16_t>(buf + 6, static_cast<uint16_t>(kHeaderSize));
  put<uint32_t>(buf + 8, header.run_id);
  put<uint32_t>(buf + 12, header.stream);
  put<uint64_t>(buf + 16, header.seq);
  put<uint64_t>(buf + 24, header.tx_ns);
  put<uint32_t>(buf + 32, static_cast<uint32_t>(length));
  const uint32_t base = static_cast<uint32_t>(header.stream * 31u + header.seq * 17u);
  for (size_t i = kHeaderSize; i < length; ++i) buf[i] = static_cast<uint8_t>(base + i);
  put<uint32_t>(buf + 36, payload_check(buf, length));
}

void restamp_payload(uint8_t* buf, size_t length, uint64_t tx_ns) {
  put<uint64_t>(buf + 24, tx_ns);
  put<uint32_t>(buf + 36, payload_check(buf, length));
}

PayloadStatus read_payload(const uint8_t* buf, size_t length, uint32_t run_id, PayloadHeader* out) {
  if (length < kHeaderSize) return PayloadStatus::foreign;
  if (get<uint32_t>(buf) != kPayloadMagic || buf[4] != kPayloadVersion || get<uint16_t>(buf + 6) != kHeaderSize) return PayloadStatus::foreign;
  out->flags = buf[5];
  out->run_id = get<uint32_t>(buf + 8);
  out->stream = get<uint32_t>(buf + 12);
  out->seq = get<uint64_t>(buf + 16);
  out->tx_ns = get<uint64_t>(buf + 24);
  out->length = get<uint32_t>(buf + 32);
  if (out->length != length || get<uint32_t>(buf + 36) != payload_check(buf, length)) return PayloadStatus::corrupted;
  if (out->run_id != run_id) return PayloadStatus::foreign;
  return PayloadStatus::ok;
}

}  // namespace mcr
