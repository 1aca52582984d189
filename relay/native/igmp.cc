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

ip_mreqn membership(const std::string& what, const std::string& ifname, const std::string& group) {
  ip_mreqn mreq{};
  if (inet_pton(AF_INET, group.c_str(), &mreq.imr_multiaddr) != 1) throw std::invalid_argument(what + " " + group + ": not an IPv4 address");
  if (!IN_MULTICAST(ntohl(mreq.imr_multiaddr.s_addr))) throw std::invalid_argument(what + " " + group + ": not a multicast group");
  mreq.imr_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (mreq.imr_ifindex == 0) throw std::invalid_argument(what + " " + group + " on " + ifname + ": unknown interface");
  return mreq;
}

void change(int fd, int option, const char* what, const std::string& ifname, const std::string& group) {
  ip_mreqn mreq = membership(what, ifname, group);
  if (setsockopt(fd, IPPROTO_IP, option, &mreq, sizeof mreq) < 0) {
    throw std::runtime_error(std::string(what) + " " + group + " on " + ifname + ": " + std::strerror(errno));
  }
}

}  // namespace

int igmp_open_socket() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("IGMP helper socket: ") + std::strerror(errno));
  return fd;
}

void igmp_join(int fd, const std::string& ifname, const std::string& group) { change(fd, IP_ADD_MEMBERSHIP, "join", ifname, group); }

void igmp_leave(int fd, const std::string& ifname, const std::string& group) { change(fd, IP_DROP_MEMBERSHIP, "leave", ifname, group); }

namespace {

// Source-specific membership (IGMPv3 INCLUDE {source}): MCAST_JOIN_SOURCE_GROUP / MCAST_LEAVE_SOURCE_GROUP.
void change_source(int fd, int option, const char* what, const std::string& ifname, const std::string& group, const std::string& source) {
  const ip_mreqn base = membership(what, ifname, group);
  group_source_req req{};
  req.gsr_interface = static_cast<uint32_t>(base.imr_ifindex);
  auto* g = reinterpret_cast<sockaddr_in*>(&req.gsr_group);
  g->sin_family = AF_INET;
  g->sin_addr = base.imr_multiaddr;
  auto* s = reinterpret_cast<sockaddr_in*>(&req.gsr_source);
  s->sin_family = AF_INET;
  if (inet_pton(AF_INET, source.c_str(), &s->sin_addr) != 1) throw std::invalid_argument(std::string(what) + " " + group + " source " + source + ": not an IPv4 address");
  if (setsockopt(fd, IPPROTO_IP, option, &req, sizeof req) < 0) {
    throw std::runtime_error(std::string(what) + " " + group + " source " + source + " on " + ifname + ": " + std::strerror(errno));
  }
}

}  // namespace

void igmp_join_source(int fd, const std::string& ifname, const std::string& group, const std::string& source) {
  change_source(fd, MCAST_JOIN_SOURCE_GROUP, "join", ifname, group, source);
}

void igmp_leave_source(int fd, const std::string& ifname, const std::string& group, const std::string& source) {
  change_source(fd, MCAST_LEAVE_SOURCE_GROUP, "leave", ifname, group, source);
}

void igmp_close(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace mcr
