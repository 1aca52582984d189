// Frame parsing: Ethernet (up to two 802.1Q/802.1ad tags), then IPv4 (with options) or IPv6 (with
// a bounded walk of its extension headers), then UDP.
// Pure functions: no allocation, no reads past the given length, whatever the bytes say.
#pragma once
#include <cstddef>
#include <cstdint>

namespace mcr {

// Every reason a frame is dropped has its own counter (kParseStatusCount of them, 'ok' included).
enum class ParseStatus {
  ok,
  truncated,         // shorter than its Ethernet, VLAN or fixed IP header
  not_ip,            // neither IPv4 nor IPv6 (after at most two VLAN tags)
  bad_ihl,           // IPv4: version nibble not 4, or IHL < 5
  bad_total_length,  // IPv4: total length shorter than the headers or past the frame
  // An IPv4 fragment the kernel did not reassemble: dropped. An IPv6 fragment (of a UDP datagram to a
  // multicast group) comes back as 'fragment' with family 6 and its fields filled, for the
  // reassembler (reassembly.h): not a drop by itself.
  fragment,
  not_udp,
  bad_udp_length,
  not_multicast,
  bad_ipv6_header,             // IPv6: version nibble not 6, or payload length past the frame
  jumbogram,                   // IPv6: payload length 0 (a hop-by-hop jumbo payload option)
  bad_extension_header,        // IPv6: an extension header runs past the payload, or hop-by-hop not first
  too_many_extension_headers,  // IPv6: more than kMaxExtensionHeaders before UDP
  bad_fragment,                // IPv6 fragment: M set and a length not a nonzero multiple of 8, or past 65535 (RFC 8200 4.5)
};
constexpr size_t kParseStatusCount = 14;
// Extension headers walked before giving up (hop-by-hop, routing, destination options).
constexpr int kMaxExtensionHeaders = 8;

// Laid out so that constructing one (per frame, on the hot path) is a few aligned stores: the
// one-byte fields fill one 4-byte word, the 16-byte alignment lets the compiler zero in 16-byte
// stores. (A layout that needed byte and unaligned stores cost the IPv4 parse 0.3 ns, ~6%.)
struct alignas(16) ParsedPacket {
  uint32_t src = 0;  // IPv4, host byte order
  uint32_t dst = 0;  // IPv4, host byte order
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ttl = 0;     // IPv4 TTL or IPv6 hop limit
  uint8_t tos = 0;     // IPv4 TOS or IPv6 traffic class: DSCP (high 6 bits) and ECN (low 2)
  uint8_t family = 0;  // 4 or 6 once parsed
  uint8_t reserved_ = 0;  // completes the word of ttl, tos and family
  int vlan = -1;  // VLAN id of the (outer) tag, -1 when untagged
  size_t payload_offset = 0;
  size_t payload_length = 0;
  // IPv6 addresses, network byte order; written (and meaningful) only when family == 6, so the
  // IPv4 path never spends a store on them.
  uint8_t src6[16];
  uint8_t dst6[16];
  // An IPv6 fragment (status 'fragment', family 6): written only then, like src6 and dst6 (the
  // struct stays 80 bytes). payload_offset and payload_length then say where the fragment's data
  // (its share of the fragmentable part) lies in the frame; src6, dst6, ttl and tos are filled too.
  uint32_t frag_id;      // Identification, host byte order
  uint16_t frag_offset;  // where the data goes in the fragmentable part, bytes (a multiple of 8)
  uint8_t frag_more;     // M flag: 1 but for the last fragment
  uint8_t frag_next;     // the next header after the fragment header (always UDP: others are not_udp)
};

ParseStatus parse_frame(const uint8_t* frame, size_t length, ParsedPacket* out);
const char* status_name(ParseStatus status);

inline bool is_multicast(uint32_t host_order_addr) { return (host_order_addr & 0xf0000000u) == 0xe0000000u; }
inline bool is_multicast6(const uint8_t* addr) { return addr[0] == 0xff; }

}  // namespace mcr
