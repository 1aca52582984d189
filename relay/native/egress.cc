#include "egress.h"

#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mcr {

namespace {
std::runtime_error sock_error(const std::string& what, const std::string& ifname) {
  return std::runtime_error("egress socket on " + ifname + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

EgressSocket::EgressSocket(const std::string& ifname, unsigned ifindex, int ttl) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw sock_error("socket", ifname);
  try {
    ip_mreqn mreq{};
    mreq.imr_ifindex = static_cast<int>(ifindex);
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0) throw sock_error("IP_MULTICAST_IF", ifname);
    if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0) {
      throw sock_error("SO_BINDTODEVICE", ifname);
    }
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0) throw sock_error("IP_MULTICAST_TTL", ifname);
    int loop = 0;
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0) throw sock_error("IP_MULTICAST_LOOP", ifname);
    int sndbuf = 4 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    // Blocking sends give back-pressure to the receive ring; the timeout bounds a stall.
    timeval timeout{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

EgressSocket::~EgressSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void EgressBatch::add(int fd, const sockaddr_in& dest, const uint8_t* data, size_t length, OutputCounters* counters) {
  if (count_ == kCapacity) return;  // callers flush when full(); never overrun
  entries_[count_] = Entry{fd, dest, data, length, counters};
  ++count_;
}

uint64_t EgressBatch::flush(uint64_t* errors) {
  uint64_t sent = 0;
  for (size_t i = 0; i < count_; ++i) done_[i] = false;
  // One sendmmsg run per distinct socket, keeping each socket's packets in arrival order.
  for (size_t first = 0; first < count_; ++first) {
    if (done_[first]) continue;
    const int fd = entries_[first].fd;
    size_t n = 0;
    for (size_t i = first; i < count_; ++i) {
      if (done_[i] || entries_[i].fd != fd) continue;
      done_[i] = true;
      Entry& e = entries_[i];
      iovs_[n].iov_base = const_cast<uint8_t*>(e.data);
      iovs_[n].iov_len = e.length;
      std::memset(&msgs_[n], 0, sizeof msgs_[n]);
      msgs_[n].msg_hdr.msg_name = &e.dest;
      msgs_[n].msg_hdr.msg_namelen = sizeof e.dest;
      msgs_[n].msg_hdr.msg_iov = &iovs_[n];
      msgs_[n].msg_hdr.msg_iovlen = 1;
      index_[n] = i;
      ++n;
    }
    size_t off = 0;
    while (off < n) {
      int r = ::sendmmsg(fd, msgs_ + off, static_cast<unsigned>(n - off), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        // The datagram at 'off' failed (ENOBUFS, EAGAIN after the timeout, ...): count and skip it.
        ++*errors;
        relaxed_add(entries_[index_[off]].counters->errors, 1);
        ++off;
        continue;
      }
      for (int k = 0; k < r; ++k) {
        Entry& e = entries_[index_[off + k]];
        relaxed_add(e.counters->packets, 1);
        relaxed_add(e.counters->bytes, e.length);
      }
      sent += static_cast<uint64_t>(r);
      off += static_cast<size_t>(r);
    }
  }
  count_ = 0;
  return sent;
}

}  // namespace mcr
