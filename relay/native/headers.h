// The headers the relay writes itself when it sends frames on an AF_PACKET socket (egress
// 'frames'): Ethernet to the group's multicast MAC, IPv4 or IPv6, UDP. Going around the IP stack
// means no neighbour (ARP/ND) entry per output group, which at thousands of groups is what the
// kernel's path spends its time on. Pure functions: no allocation, no system calls.
#pragma once
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "egress.h"

namespace mcr {

constexpr size_t kEthernetHeader = 14;
constexpr size_t kIpv4Header = 20;  // no options
constexpr size_t kIpv6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr size_t kMaxHeaders = kEthernetHeader + kIpv6Header + kUdpHeader;

// What a frame needs from its output interface, read by link_facts.cc.
struct LinkFacts {
  bool ethernet = false;  // ARPHRD_ETHER: frames can be built (else the UDP socket sends)
  uint8_t mac[6] = {};
  unsigned mtu = 0;
  bool has_source4 = false;
  uint32_t source4 = 0;  // network byte order
  bool has_source6 = false;
  uint8_t source6[16] = {};       // preferred for groups wider than link-local scope
  bool has_link_local6 = false;
  uint8_t link_local6[16] = {};  // for link-local groups (ff02::/16) and when no wider one exists
};

// The IPv6 source for a group: a link-local group (scope 2) is answered from the link-local
// address, any wider one from a global address if the interface has one (RFC 6724's scope rule).
// Null when the interface has no usable address.
const uint8_t* ipv6_source_for(const LinkFacts& link, const uint8_t* group);

// 01:00:5e + the low 23 bits of an IPv4 group (RFC 1112); 33:33 + the low 32 bits of an IPv6 one (RFC 2464).
void multicast_mac(const Destination& group, uint8_t out[6]);

// One's complement arithmetic (RFC 1071): add bytes to a running 32-bit sum; fold to 16 bits.
uint32_t ones_sum(const uint8_t* data, size_t length, uint32_t sum);
uint16_t ones_fold(uint32_t sum);

struct UdpHeaderFields {
  const uint8_t* source = nullptr;  // 4 or 16 bytes, network order: the destination's family
  uint16_t source_port = 0;         // host order
  uint8_t ttl = 0;                  // TTL or hop limit
  uint8_t tos = 0;                  // TOS or traffic class
  uint16_t ip_id = 0;               // IPv4 identification (host order); unused for IPv6
  // Bytes of UDP payload the headers announce: one datagram's, or a GSO frame's whole run (the
  // kernel rewrites the lengths of each segment it cuts).
  size_t payload_length = 0;
};

// Writes Ethernet, IP and UDP headers for dest into out (room for kMaxHeaders) and returns their
// length. The UDP checksum field is left holding the pseudo-header sum, as a device finishing the
// checksum expects (CHECKSUM_PARTIAL: the virtio header's NEEDS_CSUM); finish_udp_checksum
// completes it in software instead. payload_length must fit the IP length fields (caller's rule).
size_t write_udp_headers(uint8_t* out, const uint8_t src_mac[6], const Destination& dest, const UdpHeaderFields& f);

// Completes the UDP checksum of headers written by write_udp_headers over the payload pieces.
void finish_udp_checksum(uint8_t* headers, size_t header_length, const iovec* payload, size_t pieces);

// Where the UDP header starts in those headers (for the virtio header's csum_start).
inline size_t udp_offset(const Destination& dest) { return kEthernetHeader + (dest.sa.sa_family == AF_INET6 ? kIpv6Header : kIpv4Header); }

}  // namespace mcr
