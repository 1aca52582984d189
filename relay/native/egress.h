// Egress: one UDP socket per output interface, and a batch that sends with sendmmsg, each
// datagram with its own TTL and TOS (IP_TTL / IP_TOS control messages, honoured for multicast).
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace mcr {

// Single writer (the forwarding thread): a relaxed load + store is enough and avoids a locked add.
inline void relaxed_add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

struct OutputCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> errors{0};
};

class EgressSocket {
 public:
  // Throws std::runtime_error with context when the socket cannot be set up.
  EgressSocket(const std::string& ifname, unsigned ifindex);
  ~EgressSocket();
  EgressSocket(const EgressSocket&) = delete;
  EgressSocket& operator=(const EgressSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Collects datagrams for one receive batch and flushes them with one sendmmsg per socket.
// Fixed capacity, no allocation after construction.
class EgressBatch {
 public:
  static constexpr size_t kCapacity = 1024;
  static constexpr int kRetries = 8;  // 1 ms POLLOUT waits per flush when congested

  bool full() const { return count_ == kCapacity; }
  void add(int fd, const sockaddr_in& dest, const uint8_t* data, size_t length, OutputCounters* counters, uint8_t ttl, uint8_t tos);
  // Sends everything queued; returns packets sent and adds failures to *errors.
  uint64_t flush(uint64_t* errors);

 private:
  struct Entry {
    int fd;
    sockaddr_in dest;
    const uint8_t* data;
    size_t length;
    OutputCounters* counters;
    uint8_t ttl;
    uint8_t tos;
  };
  // Room for two int control messages (IP_TTL, IP_TOS) per datagram.
  static constexpr size_t kControlBytes = CMSG_SPACE(sizeof(int)) * 2;
  struct alignas(cmsghdr) Control {
    uint8_t bytes[kControlBytes];
  };
  Control controls_[kCapacity];
  Entry entries_[kCapacity];
  mmsghdr msgs_[kCapacity];
  iovec iovs_[kCapacity];
  size_t index_[kCapacity];
  bool done_[kCapacity];
  size_t count_ = 0;
};

}  // namespace mcr
