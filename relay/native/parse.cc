#include "parse.h"

#include <cstring>

namespace mcr {
namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kVlanTag = 4;
constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86dd;
constexpr uint16_t kEth8021Q = 0x8100;
constexpr uint16_t kEth8021AD = 0x88a8;
constexpr size_t kUdpHeader = 8;
constexpr size_t kIpv6Header = 40;
constexpr size_t kExtensionUnit = 8;  // IPv6 extension header lengths count 8-byte units
// IPv6 next-header values the walk knows.
constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragmentHeader = 44;
constexpr uint8_t kDestinationOptions = 60;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// IPv6 from frame[ip] on. Out of line, so IPv6 adds no code to the IPv4 path.
// Fragments are reported, not reassembled here (parsing keeps no state): PACKET_FANOUT_FLAG_DEFRAG
// only reassembles IPv4 (the kernel's ip_check_defrag returns any skb whose protocol is not
// ETH_P_IP untouched), so the worker's reassembler (reassembly.h) does it for IPv6.
__attribute__((noinline)) ParseStatus parse_ipv6(const uint8_t* frame, size_t length, size_t ip, ParsedPacket* out) {
  if (length < ip + kIpv6Header) return ParseStatus::truncated;
  const uint8_t* iph = frame + ip;
  if ((iph[0] >> 4) != 6) return ParseStatus::bad_ipv6_header;
  const size_t payload = be16(iph + 4);
  // Payload length 0 announces a jumbo payload option (RFC 2675): never on Ethernet, not relayed.
  if (payload == 0) return ParseStatus::jumbogram;
  // Only the payload length counts: bytes after it are Ethernet padding.
  if (payload > length - ip - kIpv6Header) return ParseStatus::bad_ipv6_header;
  const size_t end = ip + kIpv6Header + payload;  // <= length
  size_t offset = ip + kIpv6Header;               // <= end, all along the walk
  uint8_t next = iph[6];
  for (int headers = 0; next != kUdp; ++headers) {
    if (next == kFragmentHeader) {
      if (headers == kMaxExtensionHeaders) return ParseStatus::too_many_extension_headers;
      // The fragment header is 8 bytes whatever its (reserved) length byte says: inside the payload
      // before any of it is read.
      if (end - offset < kExtensionUnit) return ParseStatus::bad_extension_header;
      const uint8_t* fh = frame + offset;
      const uint16_t offset_flags = be16(fh + 2);
      const size_t frag_offset = offset_flags & 0xfff8u;  // 13 bits of 8-byte units: bytes, <= 65528
      const bool more = (offset_flags & 1u) != 0;
      next = fh[0];
      offset += kExtensionUnit;  // <= end: checked above
      // An atomic fragment (offset 0, no more: RFC 6946) is a whole datagram: walk on past it.
      if (frag_offset == 0 && !more) continue;
      if (next != kUdp) return ParseStatus::not_udp;  // nothing to reassemble for a UDP relay
      if (!is_multicast6(iph + 24)) return ParseStatus::not_multicast;
      // The fragment's data: the rest of the payload, offset <= end.
      const size_t data = end - offset;
      // RFC 8200 4.5: but for the last, a fragment's length is a multiple of 8 (and, here, not 0:
      // an empty middle fragment carries nothing); none may reach past 65535 bytes of reassembled
      // fragmentable part (frag_offset <= 65528 and data < 65536: no overflow).
      if (more && (data == 0 || data % kExtensionUnit != 0)) return ParseStatus::bad_fragment;
      if (frag_offset + data > 65535) return ParseStatus::bad_fragment;
      std::memcpy(out->src6, iph + 8, 16);
      std::memcpy(out->dst6, iph + 24, 16);
      out->family = 6;
      out->ttl = iph[7];
      out->tos = static_cast<uint8_t>((iph[0] << 4) | (iph[1] >> 4));
      out->frag_id = be32(fh + 4);
      out->frag_offset = static_cast<uint16_t>(frag_offset);
      out->frag_more = more ? 1 : 0;
      out->frag_next = next;
      out->payload_offset = offset;
      out->payload_length = data;
      return ParseStatus::fragment;
    }
    // ESP, AH, No Next Header, TCP, ICMPv6, ...: nothing for a UDP relay.
    if (next != kHopByHop && next != kRouting && next != kDestinationOptions) return ParseStatus::not_udp;
    if (next == kHopByHop && headers != 0) return ParseStatus::bad_extension_header;  // RFC 8200: first or nowhere
    if (headers == kMaxExtensionHeaders) return ParseStatus::too_many_extension_headers;
    // Every extension header is at least 8 bytes, its next-header and length bytes first: both
    // inside the payload before they are read, then its whole length (at most 2048 bytes).
    if (end - offset < kExtensionUnit) return ParseStatus::bad_extension_header;
    const size_t size = (static_cast<size_t>(frame[offset + 1]) + 1) * kExtensionUnit;
    if (size > end - offset) return ParseStatus::bad_extension_header;
    next = frame[offset];
    offset += size;
  }
  // offset <= end <= length: the UDP header must fit in what the payload has left.
  if (end - offset < kUdpHeader) return ParseStatus::bad_udp_length;
  const uint8_t* udp = frame + offset;
  const size_t udp_length = be16(udp + 4);
  if (udp_length < kUdpHeader || udp_length > end - offset) return ParseStatus::bad_udp_length;
  if (!is_multicast6(iph + 24)) return ParseStatus::not_multicast;
  std::memcpy(out->src6, iph + 8, 16);
  std::memcpy(out->dst6, iph + 24, 16);
  out->family = 6;
  out->ttl = iph[7];
  out->tos = static_cast<uint8_t>((iph[0] << 4) | (iph[1] >> 4));  // traffic class straddles bytes 0 and 1
  out->src_port = be16(udp);
  out->dst_port = be16(udp + 2);
  out->payload_offset = offset + kUdpHeader;
  out->payload_length = udp_length - kUdpHeader;
  return ParseStatus::ok;
}

}  // namespace

ParseStatus parse_frame(const uint8_t* frame, size_t length, ParsedPacket* out) {
  if (frame == nullptr || length < kEthHeader) return ParseStatus::truncated;
  size_t offset = 12;
  uint16_t ethertype = be16(frame + offset);
  out->vlan = -1;
  // Up to two tags (802.1ad or 802.1Q outer, 802.1Q inner); the outer VLAN id is reported.
  // (On Linux the kernel usually strips the outer tag into metadata before an AF_PACKET
  // socket sees the frame; in-band tags are handled here for completeness.)
  for (int tags = 0; (ethertype == kEth8021Q || ethertype == kEth8021AD) && tags < 2; ++tags) {
    if (length < offset + 2 + kVlanTag) return ParseStatus::truncated;
    if (out->vlan < 0) out->vlan = be16(frame + offset + 2) & 0x0fff;
    offset += kVlanTag;
    ethertype = be16(frame + offset);
  }
  if (ethertype != kEthIpv4) return ethertype == kEthIpv6 ? parse_ipv6(frame, length, offset + 2, out) : ParseStatus::not_ip;
  const size_t ip = offset + 2;
  if (length < ip + 20) return ParseStatus::truncated;
  const uint8_t* iph = frame + ip;
  // EtherType says IPv4: a wrong version nibble is a malformed header, reported like a bad IHL.
  const size_t ihl = static_cast<size_t>(iph[0] & 0x0f) * 4;
  if ((iph[0] >> 4) != 4 || ihl < 20) return ParseStatus::bad_ihl;
  if (length < ip + ihl) return ParseStatus::truncated;
  const size_t total = be16(iph + 2);
  if (total < ihl + kUdpHeader || ip + total > length) return ParseStatus::bad_total_length;
  const uint16_t frag = be16(iph + 6);
  if ((frag & 0x2000) != 0 || (frag & 0x1fff) != 0) return ParseStatus::fragment;
  if (iph[9] != 17) return ParseStatus::not_udp;
  // total >= ihl + 8 and ip + total <= length: the whole UDP header is inside the frame.
  const uint8_t* udp = iph + ihl;
  const size_t udp_length = be16(udp + 4);
  if (udp_length < kUdpHeader || udp_length > total - ihl) return ParseStatus::bad_udp_length;
  const uint32_t dst = be32(iph + 16);
  if (!is_multicast(dst)) return ParseStatus::not_multicast;
  out->src = be32(iph + 12);
  out->dst = dst;
  out->family = 4;
  out->ttl = iph[8];
  out->tos = iph[1];
  out->src_port = be16(udp);
  out->dst_port = be16(udp + 2);
  out->payload_offset = ip + ihl + kUdpHeader;
  out->payload_length = udp_length - kUdpHeader;
  return ParseStatus::ok;
}

const char* status_name(ParseStatus status) {
  switch (status) {
    case ParseStatus::ok: return "ok";
    case ParseStatus::truncated: return "truncated";
    case ParseStatus::not_ip: return "not_ip";
    case ParseStatus::bad_ihl: return "bad_ihl";
    case ParseStatus::bad_total_length: return "bad_total_length";
    case ParseStatus::fragment: return "fragment";
    case ParseStatus::not_udp: return "not_udp";
    case ParseStatus::bad_udp_length: return "bad_udp_length";
    case ParseStatus::not_multicast: return "not_multicast";
    case ParseStatus::bad_ipv6_header: return "bad_ipv6_header";
    case ParseStatus::jumbogram: return "jumbogram";
    case ParseStatus::bad_extension_header: return "bad_extension_header";
    case ParseStatus::too_many_extension_headers: return "too_many_extension_headers";
    case ParseStatus::bad_fragment: return "bad_fragment";
  }
  return "unknown";
}

}  // namespace mcr
