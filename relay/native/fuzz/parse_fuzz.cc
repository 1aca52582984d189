// libFuzzer target: parse_frame on any bytes. libFuzzer hands over a heap buffer of exactly
// `size` bytes, so AddressSanitizer reports any read past the frame; the checks below turn a
// wrong "ok" into a crash too.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../parse.h"

namespace {

// Where the IP header starts, worked out again independently of the parser (at most two tags).
size_t ip_offset(const uint8_t* data, size_t size) {
  size_t offset = 12;
  for (int tags = 0; tags < 2 && offset + 2 <= size; ++tags) {
    const unsigned type = (data[offset] << 8) | data[offset + 1];
    if (type != 0x8100 && type != 0x88a8) break;
    offset += 4;
  }
  return offset + 2;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mcr::ParsedPacket p;
  const mcr::ParseStatus status = mcr::parse_frame(data, size, &p);
  if (static_cast<size_t>(status) >= mcr::kParseStatusCount) abort();
  if (std::strcmp(mcr::status_name(status), "unknown") == 0) abort();
  if (status == mcr::ParseStatus::fragment && p.family == 6) {
    // An IPv6 fragment for the reassembler: its data inside the frame, inside 65535 bytes of
    // fragmentable part, of a length the reassembler can take; UDP, to a multicast group.
    if (p.payload_offset > size || p.payload_length > size - p.payload_offset) abort();
    if (p.frag_offset % 8 != 0 || p.frag_offset + p.payload_length > 65535) abort();
    if (p.frag_more && (p.payload_length == 0 || p.payload_length % 8 != 0)) abort();
    if (p.frag_offset == 0 && !p.frag_more) abort();  // atomic: parsed through, never reported
    if (p.frag_next != 17 || !mcr::is_multicast6(p.dst6)) abort();
    return 0;
  }
  if (status != mcr::ParseStatus::ok) return 0;
  // An accepted datagram: multicast, its payload after Ethernet + IP + UDP headers and inside the frame.
  const size_t ip = ip_offset(data, size);
  if (p.family == 4) {
    if (!mcr::is_multicast(p.dst)) abort();
    if (p.payload_offset < ip + 20 + 8) abort();
  } else if (p.family == 6) {
    // The fixed header is in the frame, says version 6, and is where the addresses and hop limit came from.
    if (ip + 40 > size || (data[ip] >> 4) != 6) abort();
    if (std::memcmp(data + ip + 8, p.src6, 16) != 0 || std::memcmp(data + ip + 24, p.dst6, 16) != 0 || data[ip + 7] != p.ttl) abort();
    if (!mcr::is_multicast6(p.dst6)) abort();
    if (p.payload_offset < ip + 40 + 8) abort();
    // At most kMaxExtensionHeaders of at most 2048 bytes each before UDP.
    if (p.payload_offset > ip + 40 + mcr::kMaxExtensionHeaders * 2048 + 8) abort();
    // The payload ends within the IPv6 payload length.
    const size_t payload_length = (data[ip + 4] << 8) | data[ip + 5];
    if (p.payload_offset + p.payload_length > ip + 40 + payload_length) abort();
  } else {
    abort();
  }
  if (p.payload_offset > size) abort();
  if (p.payload_length > size - p.payload_offset) abort();
  if (p.vlan < -1 || p.vlan > 0x0fff) abort();
  return 0;
}
