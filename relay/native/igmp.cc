#include "igmp.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mcr {

namespace {

const char* family_name(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

// The family a group's text names: IPv6 when it has a ':'.
int text_family(const std::string& address) { return address.find(':') != std::string::npos ? AF_INET6 : AF_INET; }

int socket_family(int fd, const char* what, const std::string& group) {
  int family = 0;
  socklen_t len = sizeof family;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &len) < 0) {
    throw std::runtime_error(std::string(what) + " " + group + ": helper socket " + std::to_string(fd) + ": " + std::strerror(errno));
  }
  return family;
}

unsigned interface_index(const char* what, const std::string& ifname, const std::string& group) {
  const unsigned index = ifname.size() < IF_NAMESIZE ? if_nametoindex(ifname.c_str()) : 0;
  if (index == 0) throw std::invalid_argument(std::string(what) + " " + group + " on " + ifname + ": unknown interface");
  return index;
}

// The group (and source) as a socket address of the helper socket's family; refuses the other
// family, and a group that is not multicast.
sockaddr_storage group_address(int fd, const char* what, const std::string& group) {
  const int family = socket_family(fd, what, group);
  if (family != AF_INET && family != AF_INET6) throw std::invalid_argument(std::string(what) + " " + group + ": fd " + std::to_string(fd) + " is not an IGMP/MLD helper socket");
  if (text_family(group) != family) {
    throw std::invalid_argument(std::string(what) + " " + group + ": an " + family_name(text_family(group)) + " group on an " + family_name(family) + " helper socket");
  }
  sockaddr_storage ss{};
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, group.c_str(), &a->sin6_addr) != 1) throw std::invalid_argument(std::string(what) + " " + group + ": not an IPv6 address");
    if (!IN6_IS_ADDR_MULTICAST(&a->sin6_addr)) throw std::invalid_argument(std::string(what) + " " + group + ": not a multicast group");
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, group.c_str(), &a->sin_addr) != 1) throw std::invalid_argument(std::string(what) + " " + group + ": not an IPv4 address");
    if (!IN_MULTICAST(ntohl(a->sin_addr.s_addr))) throw std::invalid_argument(std::string(what) + " " + group + ": not a multicast group");
  }
  return ss;
}

void change(int fd, bool join, const std::string& ifname, const std::string& group) {
  const char* what = join ? "join" : "leave";
  const sockaddr_storage ss = group_address(fd, what, group);
  const unsigned index = interface_index(what, ifname, group);
  int r;
  if (ss.ss_family == AF_INET6) {
    ipv6_mreq mreq{};
    mreq.ipv6mr_multiaddr = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    mreq.ipv6mr_interface = index;
    r = setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mreq, sizeof mreq);
  } else {
    ip_mreqn mreq{};
    mreq.imr_multiaddr = reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr;
    mreq.imr_ifindex = static_cast<int>(index);
    r = setsockopt(fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &mreq, sizeof mreq);
  }
  if (r < 0) throw std::runtime_error(std::string(what) + " " + group + " on " + ifname + ": " + std::strerror(errno));
}

// Source-specific membership (IGMPv3 / MLDv2 INCLUDE {source}): MCAST_JOIN_SOURCE_GROUP /
// MCAST_LEAVE_SOURCE_GROUP, at the socket family's level.
void change_source(int fd, bool join, const std::string& ifname, const std::string& group, const std::string& source) {
  const char* what = join ? "join" : "leave";
  const sockaddr_storage g = group_address(fd, what, group);
  const unsigned index = interface_index(what, ifname, group);
  group_source_req req{};
  req.gsr_interface = index;
  std::memcpy(&req.gsr_group, &g, sizeof g);
  const bool v6 = g.ss_family == AF_INET6;
  const std::string context = std::string(what) + " " + group + " source " + source;
  if (text_family(source) != g.ss_family) throw std::invalid_argument(context + ": not an " + family_name(g.ss_family) + " address");
  void* source_addr = v6 ? static_cast<void*>(&reinterpret_cast<sockaddr_in6*>(&req.gsr_source)->sin6_addr) : static_cast<void*>(&reinterpret_cast<sockaddr_in*>(&req.gsr_source)->sin_addr);
  req.gsr_source.ss_family = g.ss_family;
  if (inet_pton(g.ss_family, source.c_str(), source_addr) != 1) throw std::invalid_argument(context + ": not an " + family_name(g.ss_family) + " address");
  if (setsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, &req, sizeof req) < 0) {
    throw std::runtime_error(context + " on " + ifname + ": " + std::strerror(errno));
  }
}

}  // namespace

int igmp_open_socket(int family) {
  if (family != 4 && family != 6) throw std::invalid_argument("helper socket: family " + std::to_string(family) + " is neither 4 nor 6");
  int fd = ::socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string(family == 6 ? "MLD" : "IGMP") + " helper socket: " + std::strerror(errno));
  return fd;
}

void igmp_join(int fd, const std::string& ifname, const std::string& group) { change(fd, true, ifname, group); }

void igmp_leave(int fd, const std::string& ifname, const std::string& group) { change(fd, false, ifname, group); }

void igmp_join_source(int fd, const std::string& ifname, const std::string& group, const std::string& source) { change_source(fd, true, ifname, group, source); }

void igmp_leave_source(int fd, const std::string& ifname, const std::string& group, const std::string& source) { change_source(fd, false, ifname, group, source); }

void igmp_close(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace mcr
