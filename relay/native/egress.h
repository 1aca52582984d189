// Egress: per output interface and address family, frames the relay builds itself on an
// AF_PACKET socket (kind 'frames', Ethernet outputs) or datagrams on a UDP socket (kind 'udp', and
// what a frame cannot carry), and a batch that sends either with sendmmsg. Each datagram has its
// own TTL and TOS (in the headers written, or as IP_TTL / IP_TOS, IPV6_HOPLIMIT / IPV6_TCLASS
// control messages); runs of one flow's equal-size datagrams go as one GSO message (a virtio
// header's UDP_L4 segmentation on the packet socket, UDP_SEGMENT on the UDP one).
#pragma once
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
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

// frames: Ethernet frames built by the relay on an AF_PACKET socket: no neighbour (ARP/ND) entry
// per output group, the qdisc still in the path. frames_direct: the same handed straight to the
// device (PACKET_QDISC_BYPASS: no qdisc, so no tc shaping either). udp: datagrams through the IP stack.
enum class EgressKind { frames, frames_direct, udp };
bool parse_egress_kind(const std::string& text, EgressKind* out);

struct LinkFacts;

class EgressSocket {
 public:
  // family: AF_INET or AF_INET6. kind frames opens a packet socket beside the UDP one where the
  // link is Ethernet. Throws std::runtime_error with context when a socket cannot be set up.
  EgressSocket(const std::string& ifname, unsigned ifindex, int family = AF_INET, EgressKind kind = EgressKind::udp);
  ~EgressSocket();
  EgressSocket(const EgressSocket&) = delete;
  EgressSocket& operator=(const EgressSocket&) = delete;
  // The UDP socket: kind udp, non-Ethernet links, and datagrams too big for one frame (the
  // kernel fragments them).
  int fd() const { return fd_; }
  int family() const { return family_; }

  // Frames: sent on frame_fd() when frames() (kind frames, an Ethernet link).
  bool frames() const { return frame_fd_ >= 0; }
  int frame_fd() const { return frame_fd_; }
  const sockaddr_ll& frame_address() const { return frame_address_; }
  const LinkFacts& link() const { return *link_; }
  // Following the link's MAC, MTU and addresses without the forwarding thread reading them
  // (link_watch.h says why): read_link() on the link watch's thread reads them and, when they
  // changed, leaves them for adopt_link(), which the forwarding thread calls between batches.
  // read_link() returns true when they changed. The last facts stay when the interface cannot be
  // read (gone: its sends fail and are counted).
  bool read_link();
  void adopt_link();
  // An output whose link has no address of its family re-reads the link itself when a packet
  // comes for it, at most once a millisecond (egress.cc): an address just added is used from the
  // next packet on, not when the watch's thread gets to it. Returns true when it read.
  bool refresh_after_miss();
  // IPv4 identifications for n datagrams (consecutive, as the kernel's segmentation numbers them).
  uint16_t take_ip_ids(size_t n) {
    const uint16_t id = ip_id_;
    ip_id_ = static_cast<uint16_t>(ip_id_ + n);
    return id;
  }

 private:
  void open_frames(const std::string& ifname, bool bypass_qdisc);
  int fd_ = -1;
  int family_ = AF_INET;
  unsigned ifindex_ = 0;
  int frame_fd_ = -1;
  sockaddr_ll frame_address_{};
  std::unique_ptr<LinkFacts> link_;       // the forwarding thread's
  std::mutex read_mutex_;                 // guards read_ and read_pending_
  std::unique_ptr<LinkFacts> read_;      // the watch's last read
  bool read_pending_ = false;             // read_ differs from what the forwarding thread has
  uint16_t ip_id_ = 0;
  uint64_t miss_read_ns_ = 0;
};

// Collects datagrams for one receive batch and flushes them with one sendmmsg per socket.
// Fixed capacity, no allocation after construction.
class EgressBatch {
 public:
  static constexpr size_t kCapacity = 1024;
  static constexpr int kRetries = 8;  // 1 ms POLLOUT waits per flush when congested

  bool full() const { return count_ == kCapacity; }
  // dest's family must be the socket's. ttl is the IPv4 TTL or the IPv6 hop limit, tos the IPv4
  // TOS byte or the IPv6 traffic class (the same bits: DSCP << 2 | ECN). source_port goes in the
  // frames' UDP header (the UDP socket has its own). Returns false, queueing nothing, when a frame
  // is due but the link has no address of dest's family to send it from (never a wrong source).
  bool add(EgressSocket* socket, const Destination& dest, const uint8_t* data, size_t length, OutputCounters* counters, uint8_t ttl, uint8_t tos, uint16_t source_port);
  // Sends everything queued; returns datagrams sent, adds failures to *errors and the messages
  // that carried the sent ones (a GSO message carries several) to *messages.
  uint64_t flush(uint64_t* errors, uint64_t* messages);

 private:
  struct Entry {
    EgressSocket* socket;
    int fd;              // the socket's frame_fd() or fd()
    const uint8_t* source;  // frames: the address sent from (in the socket's link facts); null: a UDP datagram
    Destination dest;
    const uint8_t* data;
    size_t length;
    OutputCounters* counters;
    uint8_t ttl;
    uint8_t tos;
    uint16_t source_port;
  };
  struct Control;
  struct Head;
  void fill(mmsghdr* m, iovec* iov, size_t segments, Control* control, const Entry& e, uint16_t gso_size);
  void fill_frame(mmsghdr* m, iovec* iov, size_t segments, Head* head, const Entry& e, uint16_t gso_size);
  void fill_message(size_t n, size_t first_iov, size_t segments, const Entry& e, uint16_t gso_size);
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
  // A frame's virtio header (checksum and segmentation requests, PACKET_VNET_HDR) and its
  // Ethernet, IP and UDP headers.
  static constexpr size_t kVirtioHeader = 10;
  static constexpr size_t kMaxFrameHeaders = 62;  // Ethernet 14 + IPv6 40 + UDP 8
  struct alignas(8) Head {
    uint8_t bytes[kVirtioHeader + kMaxFrameHeaders];
  };
  Control controls_[kCapacity];
  Head heads_[kCapacity];
  Entry entries_[kCapacity];
  mmsghdr msgs_[kCapacity];
  iovec iovs_[2 * kCapacity];    // a frame's head, then its datagrams
  size_t index_[2 * kCapacity];  // per iovec: its entry
  size_t first_iov_[kCapacity];  // per message: its first datagram's iovec
  size_t segments_[kCapacity];   // per message: its datagrams
  bool done_[kCapacity];
  bool gso_ = true;  // cleared for good when a path refuses a GSO message
  size_t count_ = 0;
};

}  // namespace mcr
