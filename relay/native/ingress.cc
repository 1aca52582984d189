#include "ingress.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace mcr {

namespace {

constexpr size_t kBlockSize = 1 << 18;  // 256 KiB
constexpr unsigned kBlockTimeoutMs = 1; // a partly filled block is handed over after 1 ms
constexpr size_t kCopyBufferSize = 65536 + 128;  // any IPv4 datagram, reassembled, with its Ethernet header

// The frame ring's wake-up policy. Below kBusyGapNs between frames on average the worker wakes
// for each frame, as socat does (lowest latency). Above that rate a wake-up per frame costs more
// than the frame: the worker naps when the ring runs empty, long enough for about kNapFrames
// frames to arrive (at most kMaxNapNs), so each wake-up finds a batch, at the price of that much
// added latency where socat's own queueing costs milliseconds.
constexpr uint64_t kRateWindowNs = 1000000;  // the rate is judged over windows of 1 ms
constexpr uint64_t kBusyGapNs = 50000;       // 20,000 frames/s per worker
constexpr uint64_t kNapFrames = 8;
constexpr uint64_t kMaxNapNs = 200000;

// A multicast frame the kernel marks PACKET_OTHERHOST is not this interface's: a VLAN-tagged one
// with no VLAN interface here to take it (the kernel strips the tag and clears it from the
// metadata before our socket sees the frame, so this mark is all that is left of it).
bool foreign(const void* sll) { return static_cast<const sockaddr_ll*>(sll)->sll_pkttype == PACKET_OTHERHOST; }

uint64_t monotonic_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<uint64_t>(t.tv_sec) * 1000000000u + static_cast<uint64_t>(t.tv_nsec);
}

// Classic BPF over the Ethernet frame: not our own transmission (pkt_type != PACKET_OUTGOING,
// which also covers kernels without PACKET_IGNORE_OUTGOING), IPv4, UDP, destination in
// 224.0.0.0/4. Frames still carrying an 802.1Q/802.1ad tag in the data are accepted and left to
// the parser (the kernel normally strips the outer tag into metadata before we see the frame, so
// those then look untagged here). IHL, fragments and lengths are checked by the parser.
sock_filter kFilter[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<__u32>(SKF_AD_OFF + SKF_AD_PKTTYPE)),  // 0: pkt_type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 10, 0),      // 1: outgoing -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                           // 2: ethertype
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 7, 0),                // 3: 802.1Q -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x88a8, 6, 0),                // 4: 802.1ad -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 6),              // 5: not IPv4 -> drop
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),                           // 6: IP protocol
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 4),           // 7: not UDP -> drop
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),                           // 8: destination address
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0000000),                  // 9
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xe0000000, 0, 1),            // 10: not 224/4 -> drop
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                            // 11: accept, whole frame
    BPF_STMT(BPF_RET | BPF_K, 0),                                     // 12: drop
};

sock_filter kDropAll[] = {
    BPF_STMT(BPF_RET | BPF_K, 0),
};

int fanout_type(FanoutMode mode) {
  switch (mode) {
    case FanoutMode::hash: return PACKET_FANOUT_HASH;
    case FanoutMode::cpu: return PACKET_FANOUT_CPU;
    case FanoutMode::lb: return PACKET_FANOUT_LB;
    case FanoutMode::rollover: return PACKET_FANOUT_ROLLOVER;
    // 'none' still gets a group, of its own per socket (every worker sees every packet, the
    // control): only a fanout group can ask the kernel to reassemble IP fragments for the socket.
    case FanoutMode::none: return PACKET_FANOUT_HASH;
  }
  return PACKET_FANOUT_HASH;
}

}  // namespace

bool parse_ingress_kind(const std::string& text, IngressKind* out) {
  if (text == "ring") *out = IngressKind::frames;
  else if (text == "blocks") *out = IngressKind::blocks;
  else if (text == "mmsg") *out = IngressKind::mmsg;
  else return false;
  return true;
}

bool parse_fanout_mode(const std::string& text, FanoutMode* out) {
  if (text == "hash") *out = FanoutMode::hash;
  else if (text == "cpu") *out = FanoutMode::cpu;
  else if (text == "lb") *out = FanoutMode::lb;
  else if (text == "rollover") *out = FanoutMode::rollover;
  else if (text == "none") *out = FanoutMode::none;
  else return false;
  return true;
}

Ingress::Ingress(const IngressOptions& options) : ifname_(options.ifname) {
  auto fail = [&](const std::string& step) {
    std::string message = step + " on " + ifname_ + " failed: " + std::strerror(errno);
    release();
    throw std::runtime_error(message);
  };
  const unsigned ifindex = if_nametoindex(options.ifname.c_str());
  if (ifindex == 0) throw std::runtime_error("unknown interface '" + options.ifname + "'");

  // Protocol 0: the socket receives nothing until bind(), and by then it drops everything
  // (kDropAll) until join(): a worker takes part only once its rules are loaded.
  fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("AF_PACKET socket (needs CAP_NET_RAW)");
  sock_fprog drop_all{static_cast<unsigned short>(sizeof kDropAll / sizeof kDropAll[0]), kDropAll};
  if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &drop_all, sizeof drop_all) < 0) fail("SO_ATTACH_FILTER (drop all until joined)");
  int one = 1;
  // Our own egress must never come back in. PACKET_IGNORE_OUTGOING (kernel >= 4.20) spares the
  // kernel the clone; without it the filter's pkt_type test drops them instead.
  if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 && errno != ENOPROTOOPT) fail("PACKET_IGNORE_OUTGOING");
  int rcvbuf = 16 << 20;
  if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);

  kind_ = options.kind;
  if (kind_ != IngressKind::mmsg) {
    const bool v3 = kind_ == IngressKind::blocks;
    int version = v3 ? TPACKET_V3 : TPACKET_V2;
    if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) fail(v3 ? "PACKET_VERSION TPACKET_V3" : "PACKET_VERSION TPACKET_V2");
    if (!v3) {
      // A frame bigger than its slot (jumbo, or reassembled from fragments) is queued whole on
      // the socket as well, its slot flagged TP_STATUS_COPY: read from there, nothing truncated.
      if (setsockopt(fd_, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0) fail("PACKET_COPY_THRESH");
      copy_buffer_ = new uint8_t[kCopyBufferSize];
    }
    tpacket_req3 req{};
    req.tp_block_size = kBlockSize;
    const size_t blocks = std::max<size_t>(4, options.ring_mib * (1 << 20) / kBlockSize);
    req.tp_block_nr = static_cast<unsigned>(blocks);
    req.tp_frame_size = kFrameSize;
    req.tp_frame_nr = static_cast<unsigned>(kBlockSize / kFrameSize * blocks);
    if (v3) req.tp_retire_blk_tov = kBlockTimeoutMs;
    // V2 takes the leading tpacket_req part of the same structure.
    if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, v3 ? sizeof req : sizeof(tpacket_req)) < 0) fail("PACKET_RX_RING");
    ring_size_ = kBlockSize * blocks;
    void* mem = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd_, 0);
    if (mem == MAP_FAILED) mem = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (mem == MAP_FAILED) fail("mmap of the receive ring");
    ring_ = static_cast<uint8_t*>(mem);
    block_size_ = kBlockSize;
    block_count_ = blocks;
    frame_count_ = req.tp_frame_nr;
  } else {
    // Slots big enough for any frame (pages are only touched as far as frames reach).
    buffers_ = new uint8_t[kBatch * kMmsgSlot];
    msgs_ = new mmsghdr[kBatch];
    iovs_ = new iovec[kBatch];
    names_ = new sockaddr_ll[kBatch]();
    for (size_t i = 0; i < kBatch; ++i) {
      iovs_[i] = iovec{buffers_ + i * kMmsgSlot, kMmsgSlot};
      std::memset(&msgs_[i], 0, sizeof msgs_[i]);
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_IP);
  addr.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) fail("bind");

  fanout_ = options.fanout;
  fanout_request_ = options.fanout_id;
}

void Ingress::join() {
  auto fail = [&](const std::string& step) { throw std::runtime_error(step + " on " + ifname_ + " failed: " + std::strerror(errno)); };
  const bool own_group = fanout_ == FanoutMode::none;
  const bool new_group = own_group || fanout_request_ < 0;
  const int type = fanout_type(fanout_) | PACKET_FANOUT_FLAG_DEFRAG;
  // The first socket asks the kernel for a free id (unique in this network namespace);
  // the others join that id with the same type (the kernel drops the UNIQUEID flag once used).
  const uint32_t arg = new_group ? (static_cast<uint32_t>(type | PACKET_FANOUT_FLAG_UNIQUEID) << 16)
                                 : (static_cast<uint32_t>(type) << 16) | static_cast<uint16_t>(fanout_request_);
  if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) {
    fail(new_group ? std::string("PACKET_FANOUT (new unique group)") : "PACKET_FANOUT join id " + std::to_string(fanout_request_));
  }
  // In the group first, then open the filter: flows the kernel hands this socket from now on are
  // forwarded. (The other order would, for a moment, receive every packet of the interface:
  // duplicates of what the other workers forward.) Detaching the drop-all filter is a pointer
  // swap; attaching the real one compiles it, and packets steered here meanwhile would meet the
  // drop-all filter and be lost. So: detach first (the socket takes everything meanwhile; the parser and
  // PACKET_IGNORE_OUTGOING do the filter's work), then attach the real filter.
  // The detach comes right after the join, before anything else (even reading the group id).
  int unused = 0;  // the kernel wants an int-sized option value even here
  if (setsockopt(fd_, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) < 0) fail("SO_DETACH_FILTER");
  sock_fprog prog{static_cast<unsigned short>(sizeof kFilter / sizeof kFilter[0]), kFilter};
  if (setsockopt(fd_, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0) fail("SO_ATTACH_FILTER");
  uint32_t got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &got, &len) < 0) fail("getsockopt PACKET_FANOUT");
  if (!own_group) fanout_id_ = static_cast<int>(got & 0xffff);
}

Ingress::~Ingress() { release(); }

void Ingress::release() {
  if (ring_) munmap(ring_, ring_size_);
  if (fd_ >= 0) ::close(fd_);
  delete[] buffers_;
  delete[] names_;
  delete[] copy_buffer_;
  delete[] msgs_;
  delete[] iovs_;
  ring_ = nullptr;
  copy_buffer_ = nullptr;
  names_ = nullptr;
  buffers_ = nullptr;
  msgs_ = nullptr;
  iovs_ = nullptr;
  fd_ = -1;
}

bool Ingress::wait(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  if (p.revents & POLLERR) {
    // A pending socket error (e.g. ENETDOWN when the link goes down) keeps POLLERR raised until
    // read: clear it, and wait out the timeout so a down link does not turn into a busy loop.
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (!(p.revents & POLLIN)) {
      ::poll(nullptr, 0, timeout_ms);
      return false;
    }
  }
  return (p.revents & POLLIN) != 0;
}

uint8_t* Ingress::current_block() {
  uint8_t* block = ring_ + block_index_ * block_size_;
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
  if ((__atomic_load_n(&desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) return nullptr;
  return block;
}

void Ingress::release_block() {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(ring_ + block_index_ * block_size_);
  __atomic_store_n(&desc->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  block_index_ = (block_index_ + 1) % block_count_;
}

size_t walk_block(uint8_t* block, size_t block_size, void (*visit)(void*, const uint8_t*, size_t, bool), void* ctx) {
  auto* desc = reinterpret_cast<tpacket_block_desc*>(block);
  const uint32_t count = desc->hdr.bh1.num_pkts;
  const size_t block_len = std::min<size_t>(desc->hdr.bh1.blk_len, block_size);
  size_t offset = desc->hdr.bh1.offset_to_first_pkt;
  for (uint32_t i = 0; i < count && offset + sizeof(tpacket3_hdr) <= block_len; ++i) {
    auto* hdr = reinterpret_cast<tpacket3_hdr*>(block + offset);
    if (size_t{hdr->tp_mac} + hdr->tp_snaplen <= block_len - offset) visit(ctx, block + offset + hdr->tp_mac, hdr->tp_snaplen, foreign(block + offset + TPACKET_ALIGN(sizeof(tpacket3_hdr))));
    if (hdr->tp_next_offset == 0) break;
    offset += hdr->tp_next_offset;
  }
  return count;
}

bool Ingress::frame_ready(size_t index) const {
  auto* hdr = reinterpret_cast<tpacket2_hdr*>(frame_at(index));
  return (__atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) != 0;
}

// Visits up to kBatch ready frames from frame_index_ on and returns how many it took; they stay
// the caller's until release_frames().
size_t Ingress::walk_frames(void (*visit)(void*, const uint8_t*, size_t, bool), void* ctx) {
  size_t n = 0;
  for (size_t index = frame_index_; n < kBatch && frame_ready(index); index = (index + 1) % frame_count_) {
    uint8_t* slot = frame_at(index);
    auto* hdr = reinterpret_cast<tpacket2_hdr*>(slot);
    const bool other_host = foreign(slot + TPACKET_ALIGN(sizeof(tpacket2_hdr)));
    if (hdr->tp_status & TP_STATUS_COPY) {
      // The whole frame waits on the socket queue, in arrival order. One copy buffer: such a frame
      // is a batch of its own.
      if (n > 0) break;
      const ssize_t got = ::recv(fd_, copy_buffer_, kCopyBufferSize, MSG_DONTWAIT);
      if (got > 0) visit(ctx, copy_buffer_, static_cast<size_t>(got), other_host);
      n = 1;
      break;
    }
    // tp_mac + tp_snaplen stay inside the slot (the kernel truncates to it); checked all the same.
    if (size_t{hdr->tp_mac} + hdr->tp_snaplen <= kFrameSize) visit(ctx, slot + hdr->tp_mac, hdr->tp_snaplen, other_host);
    ++n;
  }
  window_frames_ += n;
  if (n > 0) napped_ = false;
  return n;
}

void Ingress::release_frames(size_t count) {
  for (size_t i = 0; i < count; ++i) {
    auto* hdr = reinterpret_cast<tpacket2_hdr*>(frame_at(frame_index_));
    __atomic_store_n(&hdr->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
    frame_index_ = (frame_index_ + 1) % frame_count_;
  }
}

// The ring is empty. At a high arrival rate, nap once (returns true) so the next wake-up finds a
// batch; otherwise, or when a nap found nothing, the caller sleeps in poll until a frame comes.
bool Ingress::nap_instead_of_poll() {
  const uint64_t now = monotonic_ns();
  const uint64_t elapsed = now - window_start_ns_;
  if (elapsed >= kRateWindowNs) {
    const bool busy = window_frames_ * kBusyGapNs >= elapsed;
    nap_ns_ = busy ? std::min(kMaxNapNs, kNapFrames * elapsed / window_frames_) : 0;
    window_start_ns_ = now;
    window_frames_ = 0;
  }
  if (nap_ns_ == 0 || napped_) return false;
  napped_ = true;
  const timespec nap{0, static_cast<long>(nap_ns_)};
  nanosleep(&nap, nullptr);
  return true;
}

bool Ingress::mmsg_foreign(int i) const { return foreign(&names_[i]); }

int Ingress::recv_batch() {
  for (size_t i = 0; i < kBatch; ++i) {  // recvmmsg shrinks msg_namelen to what it wrote
    msgs_[i].msg_hdr.msg_name = &names_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof names_[i];
  }
  int n = ::recvmmsg(fd_, msgs_, kBatch, MSG_DONTWAIT, nullptr);
  return n < 0 ? 0 : n;
}

KernelStats Ingress::read_kernel_stats() {
  KernelStats out;
  tpacket_stats_v3 stats{};
  socklen_t len = sizeof stats;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0) {
    out.packets = stats.tp_packets;
    out.drops = stats.tp_drops;
    if (kind_ == IngressKind::blocks) out.freezes = stats.tp_freeze_q_cnt;
  }
  return out;
}

}  // namespace mcr
