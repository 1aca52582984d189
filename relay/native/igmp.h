// IGMP helper sockets: plain UDP sockets whose only job is to hold group memberships.
#pragma once
#include <string>

namespace mcr {

int igmp_open_socket();                                                  // throws on failure
void igmp_join(int fd, const std::string& ifname, const std::string& group);   // throws with context
void igmp_leave(int fd, const std::string& ifname, const std::string& group);  // throws with context
void igmp_join_source(int fd, const std::string& ifname, const std::string& group, const std::string& source);   // throws with context
void igmp_leave_source(int fd, const std::string& ifname, const std::string& group, const std::string& source);  // throws with context
void igmp_close(int fd);

}  // namespace mcr
