#include "links.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mcr {

namespace {
std::runtime_error netlink_error(const char* what) { return std::runtime_error(std::string("link watcher: ") + what + ": " + std::strerror(errno)); }
}  // namespace

void parse_link_messages(const uint8_t* data, size_t length, std::vector<LinkEvent>* out) {
  // NLMSG_OK checks that the header fits in what is left and that nlmsg_len neither undercuts
  // the header nor overruns the datagram; NLMSG_NEXT then steps by the aligned length.
  int left = length > 0x7fffffff ? 0x7fffffff : static_cast<int>(length);
  for (auto* nh = reinterpret_cast<const nlmsghdr*>(data); NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
    if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) continue;
    if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) continue;  // too short for its body
    const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(nh));
    LinkEvent event;
    event.kind = nh->nlmsg_type == RTM_NEWLINK ? LinkEvent::Kind::added : LinkEvent::Kind::removed;
    event.index = ifi->ifi_index;
    event.up = (ifi->ifi_flags & IFF_UP) != 0;
    // Attributes follow the aligned ifinfomsg; RTA_OK bounds each one by what is left.
    int attr_left = static_cast<int>(nh->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)));
    for (auto* rta = IFLA_RTA(ifi); RTA_OK(rta, attr_left); rta = RTA_NEXT(rta, attr_left)) {
      if (rta->rta_type != IFLA_IFNAME) continue;
      const char* name = static_cast<const char*>(RTA_DATA(rta));
      const size_t room = RTA_PAYLOAD(rta);
      event.name.assign(name, strnlen(name, room < IF_NAMESIZE ? room : IF_NAMESIZE));
    }
    out->push_back(std::move(event));
  }
}

LinkWatcher::LinkWatcher(std::function<void(const LinkEvent&)> on_event) : on_event_(std::move(on_event)) {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd_ < 0) throw netlink_error("socket(NETLINK_ROUTE)");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = RTMGRP_LINK;
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    auto err = netlink_error("bind(RTMGRP_LINK)");
    ::close(fd_);
    throw err;
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    auto err = netlink_error("eventfd");
    ::close(fd_);
    throw err;
  }
  try {
    thread_ = std::thread([this] { loop(); });
  } catch (...) {
    ::close(fd_);
    ::close(wake_fd_);
    throw;
  }
}

LinkWatcher::~LinkWatcher() {
  stop();
  ::close(fd_);
  ::close(wake_fd_);
}

void LinkWatcher::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    // An eventfd write fails only when the counter would overflow: the thread is being woken anyway.
  }
  thread_.join();
}

void LinkWatcher::loop() {
  // Large enough for a burst of link messages (each well under 4 KiB with its attributes).
  std::vector<uint8_t> buffer(64 * 1024);
  std::vector<LinkEvent> events;
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    for (;;) {
      ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {  // events were lost: the listener must look at every interface again
          LinkEvent overrun;
          overrun.kind = LinkEvent::Kind::overrun;
          on_event_(overrun);
          continue;
        }
        break;  // EAGAIN: drained
      }
      events.clear();
      parse_link_messages(buffer.data(), static_cast<size_t>(n), &events);
      for (const LinkEvent& e : events) on_event_(e);
    }
  }
}

}  // namespace mcr
