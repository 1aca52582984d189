#include "egress.h"

#include <net/if.h>
#include <poll.h>
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

EgressSocket::EgressSocket(const std::string& ifname, unsigned ifindex) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw sock_error("socket", ifname);
  try {
    ip_mreqn mreq{};
    mreq.imr_ifindex = static_cast<int>(ifindex);
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0) throw sock_error("IP_MULTICAST_IF", ifname);
    if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0) {
      throw sock_error("SO_BINDTODEVICE", ifname);
    }
    int loop = 0;
    if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0) throw sock_error("IP_MULTICAST_LOOP", ifname);
    int sndbuf = 4 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

EgressSocket::~EgressSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void EgressBatch::add(int fd, const sockaddr_in& dest, const uint8_t* data, size_t length, OutputCounters* counters, uint8_t ttl, uint8_t tos) {
  if (count_ == kCapacity) return;  // callers flush when full(); never overrun
  entries_[count_] = Entry{fd, dest, data, length, counters, ttl, tos};
  ++count_;
}

uint64_t EgressBatch::flush(uint64_t* errors) {
  uint64_t sent = 0;
  int retries = kRetries;  // shared by all sockets of this flush: a flush never waits more than ~kRetries ms
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
      msgs_[n].msg_hdr.msg_control = controls_[n].bytes;
      msgs_[n].msg_hdr.msg_controllen = kControlBytes;
      cmsghdr* c = CMSG_FIRSTHDR(&msgs_[n].msg_hdr);
      const int values[2] = {e.ttl, e.tos};
      const int types[2] = {IP_TTL, IP_TOS};
      for (int k = 0; k < 2; ++k, c = CMSG_NXTHDR(&msgs_[n].msg_hdr, c)) {
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = types[k];
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &values[k], sizeof(int));
      }
      index_[n] = i;
      ++n;
    }
    // Nonblocking sends. When the socket buffer or the device queue is full (EAGAIN, ENOBUFS)
    // wait at most 1 ms at a time, kRetries times per flush (back-pressure into the
    // receive ring without ever stalling for long); past that budget the rest is dropped and counted.
    size_t off = 0;
    while (off < n) {
      int r = ::sendmmsg(fd, msgs_ + off, static_cast<unsigned>(n - off), MSG_DONTWAIT);
      if (r > 0) {
        for (int k = 0; k < r; ++k) {
          Entry& e = entries_[index_[off + k]];
          relaxed_add(e.counters->packets, 1);
          relaxed_add(e.counters->bytes, e.length);
        }
        sent += static_cast<uint64_t>(r);
        off += static_cast<size_t>(r);
        continue;
      }
      const int err = r < 0 ? errno : EIO;
      if (err == EINTR) continue;
      const bool congested = err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
      if (congested && retries > 0) {
        --retries;
        if (err == ENOBUFS) {
          ::poll(nullptr, 0, 1);  // device queue full: POLLOUT would not wait, just pause 1 ms
        } else {
          pollfd p{fd, POLLOUT, 0};
          ::poll(&p, 1, 1);
        }
        continue;
      }
      // Congested past the budget: drop what is left for this socket. Any other error
      // (EMSGSIZE, EPERM from a firewall, ENETDOWN, ...) concerns the datagram at 'off': skip it.
      const size_t drop_end = congested ? n : off + 1;
      for (; off < drop_end; ++off) {
        ++*errors;
        relaxed_add(entries_[index_[off]].counters->errors, 1);
      }
    }
  }
  count_ = 0;
  return sent;
}

}  // namespace mcr
