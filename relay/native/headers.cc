#include "headers.h"

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>

#include <cstring>

namespace mcr {

namespace {

void put16(uint8_t* p, uint16_t host) {
  p[0] = static_cast<uint8_t>(host >> 8);
  p[1] = static_cast<uint8_t>(host);
}

bool is_link_local_group(const uint8_t* group) { return (group[1] & 0x0f) <= 2; }  // scopes 0-2

}  // namespace

const uint8_t* ipv6_source_for(const LinkFacts& link, const uint8_t* group) {
  if (!is_link_local_group(group) && link.has_source6) return link.source6;
  if (link.has_link_local6) return link.link_local6;
  return link.has_source6 ? link.source6 : nullptr;
}

void multicast_mac(const Destination& group, uint8_t out[6]) {
  if (group.sa.sa_family == AF_INET6) {
    out[0] = out[1] = 0x33;
    std::memcpy(out + 2, group.v6.sin6_addr.s6_addr + 12, 4);
    return;
  }
  const uint32_t g = ntohl(group.v4.sin_addr.s_addr);
  const uint8_t mac[6] = {0x01, 0x00, 0x5e, static_cast<uint8_t>((g >> 16) & 0x7f), static_cast<uint8_t>(g >> 8), static_cast<uint8_t>(g)};
  std::memcpy(out, mac, 6);
}

uint32_t ones_sum(const uint8_t* data, size_t length, uint32_t sum) {
  // 64-bit accumulator over 32-bit words: no carry is lost for any length a datagram can have.
  uint64_t acc = sum;
  size_t i = 0;
  for (; i + 4 <= length; i += 4) {
    uint32_t w;
    std::memcpy(&w, data + i, 4);
    acc += ntohl(w);
  }
  for (; i + 2 <= length; i += 2) acc += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < length) acc += static_cast<uint32_t>(data[i] << 8);  // odd byte: padded with zero
  while (acc >> 32) acc = (acc & 0xffffffffu) + (acc >> 32);
  return static_cast<uint32_t>(acc);
}

uint16_t ones_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

size_t write_udp_headers(uint8_t* out, const uint8_t src_mac[6], const Destination& dest, const UdpHeaderFields& f) {
  const bool v6 = dest.sa.sa_family == AF_INET6;
  multicast_mac(dest, out);
  std::memcpy(out + 6, src_mac, 6);
  put16(out + 12, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
  uint8_t* ip = out + kEthernetHeader;
  const size_t udp_length = kUdpHeader + f.payload_length;
  uint32_t pseudo = 0;  // the pseudo header's sum: addresses, protocol, UDP length
  if (v6) {
    const uint32_t flow = (6u << 28) | (static_cast<uint32_t>(f.tos) << 20);
    put16(ip, static_cast<uint16_t>(flow >> 16));
    put16(ip + 2, static_cast<uint16_t>(flow));
    put16(ip + 4, static_cast<uint16_t>(udp_length));
    ip[6] = IPPROTO_UDP;
    ip[7] = f.ttl;
    std::memcpy(ip + 8, f.source, 16);
    std::memcpy(ip + 24, dest.v6.sin6_addr.s6_addr, 16);
    pseudo = ones_sum(ip + 8, 32, IPPROTO_UDP + static_cast<uint32_t>(udp_length));
  } else {
    ip[0] = 0x45;
    ip[1] = f.tos;
    put16(ip + 2, static_cast<uint16_t>(kIpv4Header + udp_length));
    put16(ip + 4, f.ip_id);
    put16(ip + 6, 0);  // fragment offset 0, DF clear: a router on the way may fragment, as the relay's input may have been
    ip[8] = f.ttl;
    ip[9] = IPPROTO_UDP;
    put16(ip + 10, 0);
    std::memcpy(ip + 12, f.source, 4);
    std::memcpy(ip + 16, &dest.v4.sin_addr.s_addr, 4);
    put16(ip + 10, static_cast<uint16_t>(~ones_fold(ones_sum(ip, kIpv4Header, 0))));
    pseudo = ones_sum(ip + 12, 8, IPPROTO_UDP + static_cast<uint32_t>(udp_length));
  }
  uint8_t* udp = ip + (v6 ? kIpv6Header : kIpv4Header);
  put16(udp, f.source_port);
  put16(udp + 2, ntohs(v6 ? dest.v6.sin6_port : dest.v4.sin_port));
  put16(udp + 4, static_cast<uint16_t>(udp_length));
  put16(udp + 6, ones_fold(pseudo));
  return static_cast<size_t>(udp + kUdpHeader - out);
}

void finish_udp_checksum(uint8_t* headers, size_t header_length, const iovec* payload, size_t pieces) {
  uint8_t* udp = headers + header_length - kUdpHeader;
  // The field holds the pseudo header's sum; add the UDP header (with that field) and the payload.
  uint32_t sum = ones_sum(udp, kUdpHeader, 0);
  size_t offset = 0;  // a piece of odd length shifts the byte order of the next one
  for (size_t i = 0; i < pieces; ++i) {
    const auto* data = static_cast<const uint8_t*>(payload[i].iov_base);
    size_t length = payload[i].iov_len;
    if (offset & 1 && length > 0) {
      sum = ones_fold(sum) + data[0];  // the low byte of a word begun by the last piece
      ++data;
      --length;
      ++offset;
    }
    sum = ones_sum(data, length, sum);
    offset += length;
  }
  uint16_t check = static_cast<uint16_t>(~ones_fold(sum));
  if (check == 0) check = 0xffff;  // 0 means "no checksum" in IPv4 and is forbidden in IPv6 (RFC 768, 8200)
  put16(udp + 6, check);
}

}  // namespace mcr
