// Addresses as the bindings hand them to JavaScript: dotted IPv4 (from a host-order number) and
// IPv6 as inet_ntop writes it.
#pragma once
#include <arpa/inet.h>

#include <cstdint>
#include <string>

namespace mcr {

inline std::string ip_text(uint32_t host) {
  return std::to_string(host >> 24) + "." + std::to_string((host >> 16) & 255) + "." + std::to_string((host >> 8) & 255) + "." + std::to_string(host & 255);
}

inline std::string ip6_text(const uint8_t* addr) {
  char out[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, addr, out, sizeof out);
}

}  // namespace mcr
