// libFuzzer target: parse_frame on any bytes. libFuzzer hands over a heap buffer of exactly
// `size` bytes, so AddressSanitizer reports any read past the frame; the checks below turn a
// wrong "ok" into a crash too.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mcr::ParsedPacket p;
  const mcr::ParseStatus status = mcr::parse_frame(data, size, &p);
  if (static_cast<size_t>(status) >= mcr::kParseStatusCount) abort();
  if (std::strcmp(mcr::status_name(status), "unknown") == 0) abort();
  if (status != mcr::ParseStatus::ok) return 0;
  // An accepted datagram: multicast, its payload after Ethernet + IPv4 + UDP headers and inside the frame.
  if (!mcr::is_multicast(p.dst)) abort();
  if (p.payload_offset < 14 + 20 + 8 || p.payload_offset > size) abort();
  if (p.payload_length > size - p.payload_offset) abort();
  if (p.vlan < -1 || p.vlan > 0x0fff) abort();
  return 0;
}
