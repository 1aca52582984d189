// Egress: one UDP socket per output interface and address family, and a batch that sends with
// sendmmsg, each datagram with its own TTL and TOS (IP_TTL / IP_TOS control messages, honoured for
// multicast; IPV6_HOPLIMIT / IPV6_TCLASS for IPv6), runs of one flow's equal-size datagrams as one
// GSO message (UDP_SEGMENT).
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

// Where an output sends: an IPv4 or an IPv6 multicast group and port (sa.sa_family says which).
union Destination {
  sockaddr sa;
  sockaddr_in v4;
  sockaddr_in6 v6;
};
inline socklen_t destination_length(const Destination& d) { return d.sa.sa_family == AF_INET6 ? sizeof d.v6 : sizeof d.v4; }
bool same_destination(const Destination& a, const Destination& b);

class EgressSocket {
 public:
  // family: AF_INET or AF_INET6. Throws std::runtime_error with context when the socket cannot be set up.
  EgressSocket(const std::string& ifname, unsigned ifindex, int family = AF_INET);
  ~EgressSocket();
  EgressSocket(const EgressSocket&) = delete;
  EgressSocket& operator=(const EgressSocket&) = delete;
  int fd() const { return fd_; }
  int family() const { return family_; }

 private:
  int fd_ = -1;
  int family_ = AF_INET;
};

// Collects datagrams for one receive batch and flushes them with one sendmmsg per socket.
// Fixed capacity, no allocation after construction.
class EgressBatch {
 public:
  static constexpr size_t kCapacity = 1024;
  static constexpr int kRetries = 8;  // 1 ms POLLOUT waits per flush when congested

  bool full() const { return count_ == kCapacity; }
  // dest's family must be the socket's. ttl is the IPv4 TTL or the IPv6 hop limit, tos the IPv4
  // TOS byte or the IPv6 traffic class (the same bits: DSCP << 2 | ECN).
  void add(int fd, const Destination& dest, const uint8_t* data, size_t length, OutputCounters* counters, uint8_t ttl, uint8_t tos);
  // Sends everything queued; returns datagrams sent, adds failures to *errors and the messages
  // that carried the sent ones (a GSO message carries several) to *messages.
  uint64_t flush(uint64_t* errors, uint64_t* messages);

 private:
  struct Entry {
    int fd;
    Destination dest;
    const uint8_t* data;
    size_t length;
    OutputCounters* counters;
    uint8_t ttl;
    uint8_t tos;
  };
  struct Control;
  void fill(mmsghdr* m, iovec* iov, size_t segments, Control* control, const Entry& e, uint16_t gso_size);
  size_t gather(size_t head, size_t first_iov);

  // GSO limits: at most 64 segments (the kernel's UDP_MAX_SEGMENTS is 64 or more), one IP
  // datagram's worth of payload in all, segments no bigger than an Ethernet MTU allows:
  // 1500 - 20 (IPv4) - 8 (UDP), or 1500 - 40 (IPv6) - 8 (UDP).
  static constexpr size_t kMaxSegments = 64;
  static constexpr size_t kMaxGsoBytes = 65000;
  static constexpr size_t kMaxSegmentBytes = 1472;
  static constexpr size_t kMaxSegmentBytes6 = 1452;
  static constexpr size_t kLookahead = 128;  // how far ahead a flow's datagrams are gathered
  // Room for two int control messages (IP_TTL, IP_TOS or IPV6_HOPLIMIT, IPV6_TCLASS) and a u16
  // one (UDP_SEGMENT) per message.
  static constexpr size_t kControlBytesNoGso = CMSG_SPACE(sizeof(int)) * 2;
  static constexpr size_t kControlBytes = kControlBytesNoGso + CMSG_SPACE(sizeof(uint16_t));
  struct alignas(cmsghdr) Control {
    uint8_t bytes[kControlBytes];
  };
  Control controls_[kCapacity];
  Entry entries_[kCapacity];
  mmsghdr msgs_[kCapacity];
  iovec iovs_[kCapacity];
  size_t index_[kCapacity];      // per iovec: its entry
  size_t first_iov_[kCapacity];  // per message: its first iovec
  size_t segments_[kCapacity];   // per message: its datagrams
  bool done_[kCapacity];
  bool gso_ = true;  // cleared for good when a path refuses a GSO message
  size_t count_ = 0;
};

}  // namespace mcr
