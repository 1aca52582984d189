#include "egress.h"

#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "clock.h"
#include "headers.h"
#include "link_facts.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace mcr {

namespace {
std::runtime_error sock_error(const std::string& what, const std::string& ifname) {
  return std::runtime_error("egress socket on " + ifname + ": " + what + ": " + std::strerror(errno));
}
}  // namespace

bool parse_egress_kind(const std::string& text, EgressKind* out) {
  if (text == "frames") *out = EgressKind::frames;
  else if (text == "frames-direct") *out = EgressKind::frames_direct;
  else if (text == "udp") *out = EgressKind::udp;
  else return false;
  return true;
}

EgressSocket::EgressSocket(const std::string& ifname, unsigned ifindex, int family, EgressKind kind) : family_(family), ifindex_(ifindex), link_(std::make_unique<LinkFacts>()), read_(std::make_unique<LinkFacts>()) {
  if (family != AF_INET && family != AF_INET6) throw std::runtime_error("egress socket on " + ifname + ": address family " + std::to_string(family) + " is neither IPv4 nor IPv6");
  const bool v6 = family == AF_INET6;
  fd_ = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw sock_error(v6 ? "IPv6 socket" : "socket", ifname);
  try {
    if (v6) {
      int index = static_cast<int>(ifindex);
      if (setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof index) < 0) throw sock_error("IPV6_MULTICAST_IF", ifname);
    } else {
      ip_mreqn mreq{};
      mreq.imr_ifindex = static_cast<int>(ifindex);
      if (setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0) throw sock_error("IP_MULTICAST_IF", ifname);
    }
    if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size())) < 0) {
      throw sock_error("SO_BINDTODEVICE", ifname);
    }
    int loop = 0;
    if (v6 ? setsockopt(fd_, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop) < 0 : setsockopt(fd_, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0) {
      throw sock_error(v6 ? "IPV6_MULTICAST_LOOP" : "IP_MULTICAST_LOOP", ifname);
    }
    int sndbuf = 4 << 20;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
    if (kind != EgressKind::udp) open_frames(ifname, kind == EgressKind::frames_direct);
  } catch (...) {
    ::close(fd_);
    if (frame_fd_ >= 0) ::close(frame_fd_);
    throw;
  }
}

void EgressSocket::open_frames(const std::string& ifname, bool bypass_qdisc) {
  std::string error;
  if (!read_link_facts(ifindex_, link_.get(), &error)) throw std::runtime_error("egress frames on " + ifname + ": " + error);
  *read_ = *link_;
  if (!link_->ethernet) return;  // tun and other non-Ethernet links: the UDP socket sends
  // Protocol 0: the socket sends only, it is handed no received frame.
  frame_fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (frame_fd_ < 0) throw sock_error("AF_PACKET socket (needs CAP_NET_RAW)", ifname);
  // Frames carry a virtio header: the checksum is left to the device (or the kernel) and runs of
  // equal datagrams are cut into segments there, as UDP GSO does on the IP path.
  int one = 1;
  if (setsockopt(frame_fd_, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) throw sock_error("PACKET_VNET_HDR", ifname);
  if (bypass_qdisc && setsockopt(frame_fd_, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) throw sock_error("PACKET_QDISC_BYPASS", ifname);
  frame_address_.sll_family = AF_PACKET;
  frame_address_.sll_ifindex = static_cast<int>(ifindex_);
  if (::bind(frame_fd_, reinterpret_cast<const sockaddr*>(&frame_address_), sizeof frame_address_) < 0) throw sock_error("bind AF_PACKET", ifname);
  frame_address_.sll_protocol = htons(family_ == AF_INET6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
  int sndbuf = 4 << 20;
  if (setsockopt(frame_fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) {
    setsockopt(frame_fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  }
  ip_id_ = static_cast<uint16_t>(std::random_device{}());  // like the kernel: not guessable from 0
}

bool EgressSocket::read_link() {
  if (frame_fd_ < 0) return false;
  LinkFacts facts;
  std::string error;
  if (!read_link_facts(ifindex_, &facts, &error) || !facts.ethernet) return false;
  std::lock_guard<std::mutex> lock(read_mutex_);
  if (same_link_facts(facts, *read_)) return false;
  *read_ = facts;
  read_pending_ = true;
  return true;
}

void EgressSocket::adopt_link() {
  std::lock_guard<std::mutex> lock(read_mutex_);
  if (!read_pending_) return;
  *link_ = *read_;
  read_pending_ = false;
}

// 1 ms: while an output has no address, at most a thousand reads of its link per second, a few
// system calls each, and none once it has one.
constexpr uint64_t kMissRereadNs = 1'000'000;

bool EgressSocket::refresh_after_miss() {
  const uint64_t now = coarse_monotonic_ns();
  if (now - miss_read_ns_ < kMissRereadNs) return false;
  miss_read_ns_ = now;
  LinkFacts facts;
  std::string error;
  if (read_link_facts(ifindex_, &facts, &error) && facts.ethernet) *link_ = facts;
  return true;
}

EgressSocket::~EgressSocket() {
  if (fd_ >= 0) ::close(fd_);
  if (frame_fd_ >= 0) ::close(frame_fd_);
}

bool EgressBatch::add(EgressSocket* socket, const Destination& dest, const uint8_t* data, size_t length, OutputCounters* counters, uint8_t ttl, uint8_t tos, uint16_t source_port) {
  if (count_ == kCapacity) return true;  // callers flush when full(); never overrun
  const uint8_t* source = nullptr;
  const bool v6 = dest.sa.sa_family == AF_INET6;
  if (socket->frames()) {
    const LinkFacts& link = socket->link();
    // A datagram too big for one frame goes to the UDP socket, which fragments it.
    if (length + kUdpHeader + (v6 ? kIpv6Header : kIpv4Header) <= link.mtu) {
      auto pick = [&] { return v6 ? ipv6_source_for(link, dest.v6.sin6_addr.s6_addr) : link.has_source4 ? reinterpret_cast<const uint8_t*>(&link.source4) : nullptr; };
      source = pick();
      if (!source && socket->refresh_after_miss()) source = pick();
      if (!source) return false;
    }
  }
  entries_[count_] = Entry{socket, source ? socket->frame_fd() : socket->fd(), source, dest, data, length, counters, ttl, tos, source_port};
  ++count_;
  return true;
}

bool same_destination(const Destination& a, const Destination& b) {
  if (a.sa.sa_family != b.sa.sa_family) return false;
  if (a.sa.sa_family == AF_INET6) {
    return a.v6.sin6_port == b.v6.sin6_port && a.v6.sin6_scope_id == b.v6.sin6_scope_id && std::memcmp(&a.v6.sin6_addr, &b.v6.sin6_addr, sizeof a.v6.sin6_addr) == 0;
  }
  return a.v4.sin_addr.s_addr == b.v4.sin_addr.s_addr && a.v4.sin_port == b.v4.sin_port;
}

namespace {

// Errors that say this path cannot take a GSO message (no checksum offload on the device, a
// segment bigger than the path MTU, a kernel without UDP_SEGMENT): send its datagrams one by one.
bool gso_refused(int err) { return err == EINVAL || err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT; }

// The header PACKET_VNET_HDR reads before each frame (struct virtio_net_hdr; linux/virtio_net.h
// does not compile as C++, a member is named 'class', and older copies lack GSO_UDP_L4). Host
// byte order: packet sockets use the legacy little-endian layout on little-endian hosts.
struct VirtioNetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;      // Ethernet, IP and UDP headers
  uint16_t gso_size;     // payload bytes per segment
  uint16_t csum_start;   // where the UDP header starts
  uint16_t csum_offset;  // where its checksum field is, from there
};
constexpr uint8_t kVirtioNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
// VIRTIO_NET_HDR_GSO_UDP_L4: packet sockets take it from Linux 6.2 on; an older kernel refuses the
// superframe (EINVAL) and the batch goes on a frame per datagram (gso_refused).
constexpr uint8_t kVirtioGsoUdpL4 = 5;

}  // namespace

// A frame: iov[0] takes the head (virtio header, then Ethernet, IP and UDP headers), iov[1..]
// hold the datagram(s). The device, or the kernel when it cannot, finishes the UDP checksum
// (NEEDS_CSUM) and cuts a run into segments (GSO_UDP_L4), fixing each one's lengths, checksums
// and IPv4 identification.
void EgressBatch::fill_frame(mmsghdr* m, iovec* iov, size_t segments, Head* head, const Entry& e, uint16_t gso_size) {
  size_t payload = 0;
  for (size_t k = 1; k <= segments; ++k) payload += iov[k].iov_len;
  UdpHeaderFields f;
  f.source = e.source;
  f.source_port = e.source_port;
  f.ttl = e.ttl;
  f.tos = e.tos;
  f.ip_id = e.dest.sa.sa_family == AF_INET ? e.socket->take_ip_ids(segments) : 0;
  f.payload_length = payload;
  const size_t headers = write_udp_headers(head->bytes + kVirtioHeader, e.socket->link().mac, e.dest, f);
  VirtioNetHeader v{};
  v.flags = kVirtioNeedsChecksum;
  v.csum_start = static_cast<uint16_t>(udp_offset(e.dest));
  v.csum_offset = 6;  // offsetof(udphdr, check)
  v.hdr_len = static_cast<uint16_t>(headers);
  if (gso_size) {
    v.gso_type = kVirtioGsoUdpL4;
    v.gso_size = gso_size;
  }
  static_assert(sizeof v == kVirtioHeader, "the virtio header is 10 bytes");
  std::memcpy(head->bytes, &v, sizeof v);
  iov[0] = iovec{head->bytes, kVirtioHeader + headers};
  std::memset(m, 0, sizeof *m);
  m->msg_hdr.msg_name = const_cast<sockaddr_ll*>(&e.socket->frame_address());
  m->msg_hdr.msg_namelen = sizeof(sockaddr_ll);
  m->msg_hdr.msg_iov = iov;
  m->msg_hdr.msg_iovlen = segments + 1;
}

void EgressBatch::fill(mmsghdr* m, iovec* iov, size_t segments, Control* control, const Entry& e, uint16_t gso_size) {
  std::memset(m, 0, sizeof *m);
  m->msg_hdr.msg_name = const_cast<Destination*>(&e.dest);
  m->msg_hdr.msg_namelen = destination_length(e.dest);
  m->msg_hdr.msg_iov = iov;
  m->msg_hdr.msg_iovlen = segments;
  m->msg_hdr.msg_control = control->bytes;
  m->msg_hdr.msg_controllen = gso_size ? kControlBytes : kControlBytesNoGso;
  cmsghdr* c = CMSG_FIRSTHDR(&m->msg_hdr);
  const int values[2] = {e.ttl, e.tos};
  const bool v6 = e.dest.sa.sa_family == AF_INET6;
  static constexpr int kTypes[2] = {IP_TTL, IP_TOS};
  static constexpr int kTypes6[2] = {IPV6_HOPLIMIT, IPV6_TCLASS};
  const int* types = v6 ? kTypes6 : kTypes;
  for (int k = 0; k < 2; ++k, c = CMSG_NXTHDR(&m->msg_hdr, c)) {
    c->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    c->cmsg_type = types[k];
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &values[k], sizeof(int));
  }
  if (gso_size) {
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    std::memcpy(CMSG_DATA(c), &gso_size, sizeof gso_size);
  }
}

void EgressBatch::fill_message(size_t n, size_t first_iov, size_t segments, const Entry& e, uint16_t gso_size) {
  if (e.source) fill_frame(&msgs_[n], &iovs_[first_iov - 1], segments, &heads_[n], e, gso_size);
  else fill(&msgs_[n], &iovs_[first_iov], segments, &controls_[n], e, gso_size);
}

// Collects, from entry head on, the datagrams of head's flow (same socket, destination, TTL and
// TOS) that can travel as one GSO message: equal lengths, but for a shorter last one, within the
// kernel's limits. Looks at most kLookahead entries ahead, so a batch of many interleaved flows
// costs O(n) rather than O(n^2). Marks them done and returns how many (1: a plain datagram).
size_t EgressBatch::gather(size_t head, size_t first_iov) {
  const Entry& h = entries_[head];
  // A frame fits its link's MTU by construction (add()). A UDP datagram is held to Ethernet's, and
  // one that took the UDP socket because it fits no frame is to be fragmented: GSO cannot.
  const bool mergeable = gso_ && (h.source || (!h.socket->frames() && h.length <= (h.dest.sa.sa_family == AF_INET6 ? kMaxSegmentBytes6 : kMaxSegmentBytes)));
  size_t segments = 0;
  size_t bytes = 0;
  const size_t end = std::min(count_, head + kLookahead);
  for (size_t i = head; i < end; ++i) {
    const Entry& e = entries_[i];
    if (done_[i] || e.fd != h.fd || !same_destination(e.dest, h.dest) || e.ttl != h.ttl || e.tos != h.tos || e.source_port != h.source_port) continue;
    if (segments > 0 && (!mergeable || e.length > h.length || segments == kMaxSegments || bytes + e.length > kMaxGsoBytes)) break;
    done_[i] = true;
    iovs_[first_iov + segments] = iovec{const_cast<uint8_t*>(e.data), e.length};
    index_[first_iov + segments] = i;
    ++segments;
    bytes += e.length;
    if (e.length < h.length) break;  // only the last segment may be shorter
  }
  return segments;
}

uint64_t EgressBatch::flush(uint64_t* errors, uint64_t* messages) {
  uint64_t sent = 0;
  int retries = kRetries;  // shared by all sockets of this flush: a flush never waits more than ~kRetries ms
  for (size_t i = 0; i < count_; ++i) done_[i] = false;
  auto credit = [&](size_t i) {  // entry i went out
    relaxed_add(entries_[i].counters->packets, 1);
    relaxed_add(entries_[i].counters->bytes, entries_[i].length);
    ++sent;
  };
  auto debit = [&](size_t i) {  // entry i did not
    relaxed_add(entries_[i].counters->errors, 1);
    ++*errors;
  };
  auto count_sent = [&](size_t m) {
    for (size_t k = 0; k < segments_[m]; ++k) credit(index_[first_iov_[m] + k]);
    ++*messages;
  };
  auto count_failed = [&](size_t m) {
    for (size_t k = 0; k < segments_[m]; ++k) debit(index_[first_iov_[m] + k]);
  };
  // One sendmmsg run per distinct socket, keeping each flow's datagrams in arrival order; runs of
  // one flow go as GSO messages (UDP_SEGMENT): the stack is walked once per message, and the
  // datagrams are cut apart at the device (in hardware where it can).
  for (size_t first = 0; first < count_; ++first) {
    if (done_[first]) continue;
    const int fd = entries_[first].fd;
    size_t n = 0;
    size_t iov = 0;
    for (size_t head = first; head < count_; ++head) {
      if (done_[head] || entries_[head].fd != fd) continue;
      const Entry& h = entries_[head];
      const size_t datagrams = iov + (h.source ? 1 : 0);  // a frame's head comes first
      const size_t segments = gather(head, datagrams);
      fill_message(n, datagrams, segments, h, segments > 1 ? static_cast<uint16_t>(h.length) : 0);
      first_iov_[n] = datagrams;
      segments_[n] = segments;
      iov = datagrams + segments;
      ++n;
    }
    // Nonblocking sends. When the socket buffer or the device queue is full (EAGAIN, ENOBUFS)
    // wait at most 1 ms at a time, kRetries times per flush (back-pressure into the
    // receive ring without ever stalling for long); past that budget the rest is dropped and counted.
    size_t off = 0;
    while (off < n) {
      int r = ::sendmmsg(fd, msgs_ + off, static_cast<unsigned>(n - off), MSG_DONTWAIT);
      if (r > 0) {
        for (int k = 0; k < r; ++k) count_sent(off + static_cast<size_t>(k));
        off += static_cast<size_t>(r);
        continue;
      }
      const int err = r < 0 ? errno : EIO;
      if (err == EINTR) continue;
      if (segments_[off] > 1 && (gso_refused(err) || err == EMSGSIZE)) {
        // This path takes no GSO: from now on neither does the batch. Or its segments are bigger
        // than the path's MTU (EMSGSIZE): one by one, the kernel fragments them. Either way this
        // message goes datagram by datagram.
        if (err != EMSGSIZE) gso_ = false;
        for (size_t k = 0; k < segments_[off]; ++k) {
          const size_t i = index_[first_iov_[off] + k];
          mmsghdr one;
          iovec two[2] = {{}, iovs_[first_iov_[off] + k]};  // a frame's head, its datagram
          Head head;
          Control control;
          if (entries_[i].source) fill_frame(&one, two, 1, &head, entries_[i], 0);
          else fill(&one, &two[1], 1, &control, entries_[i], 0);
          if (::sendmsg(fd, &one.msg_hdr, MSG_DONTWAIT) >= 0) {
            credit(i);
            ++*messages;
          } else {
            debit(i);
          }
        }
        ++off;
        continue;
      }
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
      // (EMSGSIZE, EPERM from a firewall, ENETDOWN, ...) concerns the message at 'off': skip it.
      const size_t drop_end = congested ? n : off + 1;
      for (; off < drop_end; ++off) count_failed(off);
    }
  }
  count_ = 0;
  return sent;
}

}  // namespace mcr
