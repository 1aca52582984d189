// IGMP / MLD helper sockets: plain UDP sockets whose only job is to hold group memberships.
// An AF_INET socket holds IPv4 groups (IGMP), an AF_INET6 one IPv6 groups (MLD); a group of the
// other family is refused with an error naming it.
//
// How many memberships one socket may hold (measured, kernel 6.18, fresh namespace, one veth):
// - IPv4: net.ipv4.igmp_max_memberships (default 20); the 21st join fails with ENOBUFS.
// - IPv6: no count limit. Each membership is a sock_kmalloc() charged to the socket's option
//   memory, bounded by net.core.optmem_max (131072 here): 2340 joins succeeded (~56 bytes each),
//   the 2341st failed with ENOMEM ("Cannot allocate memory"). Scales with optmem_max; a
//   source-specific join also charges its source list (net.ipv6.mld_max_msf, 64, caps its sources).
#pragma once
#include <string>

namespace mcr {

int igmp_open_socket(int family = 4);  // 4 or 6; throws on failure
void igmp_join(int fd, const std::string& ifname, const std::string& group);   // throws with context
void igmp_leave(int fd, const std::string& ifname, const std::string& group);  // throws with context
void igmp_join_source(int fd, const std::string& ifname, const std::string& group, const std::string& source);   // throws with context
void igmp_leave_source(int fd, const std::string& ifname, const std::string& group, const std::string& source);  // throws with context
void igmp_close(int fd);

}  // namespace mcr
