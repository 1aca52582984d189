#include "link_watch.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace mcr {

LinkWatch::LinkWatch(std::function<void()> on_change, int period_ms) : on_change_(std::move(on_change)), period_ms_(period_ms) {}

LinkWatch::~LinkWatch() { stop(); }

void LinkWatch::start() {
  if (thread_.joinable()) return;
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) throw std::runtime_error(std::string("link watch: eventfd: ") + std::strerror(errno));
  // Listening to rtnetlink's groups needs no privilege (workers run as nobody).
  netlink_fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (netlink_fd_ >= 0) {
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    if (::bind(netlink_fd_, reinterpret_cast<const sockaddr*>(&local), sizeof local) < 0) {
      ::close(netlink_fd_);
      netlink_fd_ = -1;
    }
  }
  try {
    thread_ = std::thread([this] { run(); });
  } catch (const std::exception& e) {
    stop();
    throw std::runtime_error(std::string("link watch: thread: ") + e.what());
  }
}

void LinkWatch::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (::write(stop_fd_, &one, sizeof one) < 0) {}  // an eventfd write fails only on overflow: it is then readable anyway
    thread_.join();
  }
  if (netlink_fd_ >= 0) ::close(netlink_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  netlink_fd_ = stop_fd_ = -1;
}

bool LinkWatch::drain() {
  // What changed is read again from the link itself: the messages only say that something did.
  alignas(nlmsghdr) char buffer[8192];
  bool any = false;
  for (;;) {
    const ssize_t n = ::recv(netlink_fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      any = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // ENOBUFS: notifications were lost while the queue was full; read the links as for an event.
    return any || (n < 0 && errno == ENOBUFS);
  }
}

void LinkWatch::run() {
  pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {netlink_fd_, POLLIN, 0}};
  const nfds_t count = netlink_fd_ >= 0 ? 2 : 1;
  for (;;) {
    if (::poll(fds, count, period_ms_) < 0) {
      if (errno == EINTR) continue;
      ::usleep(static_cast<useconds_t>(period_ms_) * 1000);  // ENOMEM: wait a period rather than spin
      fds[0].revents = fds[1].revents = 0;
    }
    if (fds[0].revents != 0) return;
    if (count == 2 && fds[1].revents != 0) drain();
    on_change_();
  }
}

}  // namespace mcr
