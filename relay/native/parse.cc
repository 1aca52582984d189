#include "parse.h"

namespace mcr {
namespace {

constexpr size_t kEthHeader = 14;
constexpr size_t kVlanTag = 4;
constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEth8021Q = 0x8100;
constexpr uint16_t kEth8021AD = 0x88a8;
constexpr size_t kUdpHeader = 8;

inline uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
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
  if (ethertype != kEthIpv4) return ParseStatus::not_ipv4;
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
    case ParseStatus::not_ipv4: return "not_ipv4";
    case ParseStatus::bad_ihl: return "bad_ihl";
    case ParseStatus::bad_total_length: return "bad_total_length";
    case ParseStatus::fragment: return "fragment";
    case ParseStatus::not_udp: return "not_udp";
    case ParseStatus::bad_udp_length: return "bad_udp_length";
    case ParseStatus::not_multicast: return "not_multicast";
  }
  return "unknown";
}

}  // namespace mcr
