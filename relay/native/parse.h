// Frame parsing: Ethernet (optional 802.1Q/802.1ad tag), IPv4 (with options), UDP.
// Pure functions: no allocation, no reads past the given length, whatever the bytes say.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mcr {

// Every reason a frame is dropped has its own counter (kParseStatusCount of them, 'ok' included).
enum class ParseStatus {
  ok,
  truncated,
  not_ipv4,
  bad_ihl,
  bad_total_length,
  fragment,
  not_udp,
  bad_udp_length,
  not_multicast,
};
constexpr size_t kParseStatusCount = 9;

struct ParsedPacket {
  uint32_t src = 0;  // host byte order
  uint32_t dst = 0;  // host byte order
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ttl = 0;
  uint8_t tos = 0;  // DSCP (high 6 bits) and ECN (low 2)
  int vlan = -1;  // VLAN id of the (outer) tag, -1 when untagged
  size_t payload_offset = 0;
  size_t payload_length = 0;
};

ParseStatus parse_frame(const uint8_t* frame, size_t length, ParsedPacket* out);
const char* status_name(ParseStatus status);

inline bool is_multicast(uint32_t host_order_addr) { return (host_order_addr & 0xf0000000u) == 0xe0000000u; }

}  // namespace mcr
