#include "ingress.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "clock.h"
#include "steering.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

namespace mcr {

namespace {

constexpr size_t kBlockSize = 1 << 18;  // 256 KiB
constexpr unsigned kBlockTimeoutMs = 1; // a partly filled block is handed over after 1 ms
constexpr size_t kCopyBufferSize = 65536 + 128;  // any IPv4 datagram (reassembled) or IPv6 one, with its Ethernet header

// The frame ring's wake-up policy. When the ring runs empty the worker may nap, then takes what
// came as one batch; otherwise, or when a nap found nothing, it sleeps in poll and wakes for the
// next frame (socat's latency). Why nap: at high rates a wake-up per frame costs more than the
// frame, and a batch gives GSO egress runs to merge. Why a ramp, not a step: a step (no nap up
// to 20,000 frames/s, 8 frames' time capped at 200 µs above) moved p50 latency from 49 to 156 µs
// on one worker at the step. So the mean nap per empty ring is a continuous function of the
// worker's arrival rate r (frames/s over the last 1 ms window), the least of three:
//   nap(r) = min(200 µs * (r - 20,000) / 16,000,   a ramp from 0 at 20,000/s (kNapStartRate)
//                200 µs,                           reached at 36,000/s (kNapFullRate)
//                8 frames' time, 8 / r)            below 200 µs from 40,000/s on
// e.g. 0 / 25 / 75 / 125 / 200 / 200 / 133 µs at 20 / 22 / 26 / 30 / 36 / 40 / 60 thousand/s.
// From 36,000/s on it is 8 frames' time, at most 200 µs: the nap that keeps a worker near
// 40,000/s at the CPU per packet it was measured at.
// A timer cannot sleep briefly: on a loaded VM a 5 µs nanosleep takes ~40 µs, so a nap of a few
// µs would already cost about a gap between frames and bring the step back. A nap shorter than
// kMinNapNs (50 µs, the gap at 20,000/s) is therefore dithered: a nap of kMinNapNs taken at the
// fraction nap(r) / kMinNapNs of empty rings (by a credit that accrues nap(r) at each), so the
// share of frames that wait rises from zero with the rate instead of all at once.
constexpr uint64_t kRateWindowNs = 1000000;  // the rate is judged over windows of 1 ms
constexpr uint64_t kNapStartRate = 20000;    // frames/s per worker
constexpr uint64_t kNapFullRate = 36000;
constexpr uint64_t kNapFrames = 8;
constexpr uint64_t kMaxNapNs = 200000;
constexpr uint64_t kMinNapNs = 50000;

// nap(r) above, for `frames` frames in `elapsed_ns`.
uint64_t nap_for_rate(uint64_t frames, uint64_t elapsed_ns) {
  if (frames == 0 || elapsed_ns == 0) return 0;
  const uint64_t rate = frames * 1000000000 / elapsed_ns;  // frames/s
  if (rate <= kNapStartRate) return 0;
  const uint64_t ramp = kMaxNapNs * (rate - kNapStartRate) / (kNapFullRate - kNapStartRate);
  return std::min({ramp, kMaxNapNs, kNapFrames * elapsed_ns / frames});
}

// A frame that is not this interface's: one the kernel marks PACKET_OTHERHOST, or one that came
// with a VLAN tag (VLAN id not 0; id 0 is a priority tag, which the kernel itself treats as
// untagged). The socket is bound with ETH_P_ALL, so it sees frames before the kernel's VLAN code:
// the tag has been moved into metadata (TP_STATUS_VLAN_VALID and tp_vlan_tci, or
// PACKET_AUXDATA), not yet cleared; the frame is either a VLAN interface's or, with no VLAN
// interface to take it, one the kernel would mark PACKET_OTHERHOST a moment later.
bool foreign(const void* sll) { return static_cast<const sockaddr_ll*>(sll)->sll_pkttype == PACKET_OTHERHOST; }
bool tagged(uint32_t status, uint32_t tci) { return (status & TP_STATUS_VLAN_VALID) != 0 && (tci & 0x0fff) != 0; }

// Classic BPF over the Ethernet frame: not our own transmission (pkt_type != PACKET_OUTGOING,
// which also covers kernels without PACKET_IGNORE_OUTGOING), then IPv4 UDP to 224.0.0.0/4, or IPv6
// to ff00::/8 whose first next header is UDP or an extension header the parser walks (or a
// fragment header, so fragments are counted). ICMPv6 (neighbour discovery; MLD, which sits behind
// a hop-by-hop header) stays out, as IGMP does for IPv4: neither is the relay's traffic nor
// malformed. Past that first header the parser does the rest: walking extension headers takes
// loops classic BPF does not have.
// Frames still carrying an 802.1Q/802.1ad tag in the data are accepted and left to the parser (the
// kernel normally moves the outer tag into metadata before we see the frame, so those then look
// untagged here). IHL, fragments and lengths are checked by the parser. The IPv4 checks come
// first and IPv6 adds instructions only after them, so an IPv4 frame runs the fewest.
constexpr uint32_t kAccept = 22, kDrop = 23;  // the two return instructions; jumps are relative to the next one
sock_filter kFilter[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<__u32>(SKF_AD_OFF + SKF_AD_PKTTYPE)),  // 0: pkt_type
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, kDrop - 2, 0),    // 1: outgoing -> drop
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),                                // 2: ethertype
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, kAccept - 4, 0),           // 3: 802.1Q -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x88a8, kAccept - 5, 0),           // 4: 802.1ad -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 11 - 6),              // 5: not IPv4 -> 11
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 23),                                // 6: IP protocol
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, kDrop - 8),        // 7: not UDP -> drop
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30),                                // 8: destination address
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0000000),                       // 9
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xe0000000, kAccept - 11, kDrop - 11),  // 10: 224/4 -> accept, else drop
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, kDrop - 12),        // 11: not IPv6 -> drop (A: ethertype)
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 38),                                // 12: first byte of the IPv6 destination
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xff, 0, kDrop - 14),              // 13: not ff00::/8 -> drop
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 20),                                // 14: next header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, kAccept - 16, 0),     // 15: UDP -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ROUTING, kAccept - 17, 0), // 16: routing -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_DSTOPTS, kAccept - 18, 0), // 17: destination options -> accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_FRAGMENT, kAccept - 19, 0),  // 18: fragment -> accept (counted)
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_HOPOPTS, 0, kDrop - 20),   // 19: anything else -> drop
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 54),                                // 20: hop-by-hop's next header
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_ICMPV6, kDrop - 22, 0),    // 21: ICMPv6 (MLD) -> drop
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),                                 // 22: accept, whole frame
    BPF_STMT(BPF_RET | BPF_K, 0),                                          // 23: drop
};
static_assert(sizeof kFilter / sizeof kFilter[0] == kDrop + 1, "kAccept and kDrop must be the filter's last two instructions");

sock_filter kDropAll[] = {
    BPF_STMT(BPF_RET | BPF_K, 0),
};

int fanout_type(FanoutMode mode) {
  switch (mode) {
    case FanoutMode::hash: return PACKET_FANOUT_CBPF;  // until steered, member 0 takes everything
    case FanoutMode::kernel_hash: return PACKET_FANOUT_HASH;
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
  else if (text == "kernel-hash") *out = FanoutMode::kernel_hash;
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
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) fail("eventfd");
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
    controls_ = new MmsgControl[kBatch]();
    // The VLAN tag's metadata, per frame (see foreign()): the ring has it in its frame headers.
    if (setsockopt(fd_, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) fail("PACKET_AUXDATA");
    for (size_t i = 0; i < kBatch; ++i) {
      iovs_[i] = iovec{buffers_ + i * kMmsgSlot, kMmsgSlot};
      std::memset(&msgs_[i], 0, sizeof msgs_[i]);
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
  }

  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  // ETH_P_ALL: one socket (and one fanout group) for both IPv4 and IPv6; the filter keeps the
  // rest out. Such a socket also sees the host's own transmissions: PACKET_IGNORE_OUTGOING and
  // the filter's pkt_type test drop those. PACKET_FANOUT_FLAG_DEFRAG still reassembles IPv4
  // fragments (it looks at the frame's protocol, not the socket's); IPv6 fragments it leaves alone.
  addr.sll_protocol = htons(ETH_P_ALL);
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
  auto arg = [&](int flags) {
    return new_group ? (static_cast<uint32_t>(type | flags | PACKET_FANOUT_FLAG_UNIQUEID) << 16)
                     : (static_cast<uint32_t>(type | flags) << 16) | static_cast<uint16_t>(fanout_request_);
  };
  // The group's hook is an ETH_P_ALL one: without PACKET_FANOUT_FLAG_IGNORE_OUTGOING (kernel >=
  // 6.2) every frame sent on this interface, the relay's own output included, would be cloned to
  // it and meet the filter's pkt_type test; with it the kernel skips the group on transmit. Older
  // kernels refuse the flag (EINVAL): every worker then falls back alike, so flags still match.
  uint32_t request = arg(PACKET_FANOUT_FLAG_IGNORE_OUTGOING);
  int joined = setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &request, sizeof request);
  if (joined < 0 && errno == EINVAL) {
    request = arg(0);
    joined = setsockopt(fd_, SOL_PACKET, PACKET_FANOUT, &request, sizeof request);
  }
  if (joined < 0) {
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
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
  delete[] buffers_;
  delete[] names_;
  delete[] controls_;
  delete[] copy_buffer_;
  delete[] msgs_;
  delete[] iovs_;
  ring_ = nullptr;
  copy_buffer_ = nullptr;
  names_ = nullptr;
  controls_ = nullptr;
  buffers_ = nullptr;
  msgs_ = nullptr;
  iovs_ = nullptr;
  fd_ = -1;
}

void Ingress::steer(const std::vector<uint8_t>& owners) {
  if (fanout_ != FanoutMode::hash) throw std::runtime_error("steering on " + ifname_ + ": only the 'hash' fanout mode is steered");
  std::vector<sock_filter> program;
  std::string error;
  if (!steering_program(owners, &program, &error)) throw std::runtime_error("steering on " + ifname_ + ": " + error);
  sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
  // The kernel swaps the program and waits out every packet still being steered by the old one
  // (synchronize_net) before it returns.
  if (setsockopt(fd_, SOL_PACKET, PACKET_FANOUT_DATA, &fprog, sizeof fprog) < 0) {
    throw std::runtime_error("PACKET_FANOUT_DATA (steering program, " + std::to_string(program.size()) + " instructions) on " + ifname_ + " failed: " + std::strerror(errno));
  }
}

size_t Ingress::ready_frames() const {
  if (kind_ != IngressKind::frames) return 0;
  size_t n = 0;
  for (size_t index = frame_index_; n < frame_count_ && frame_ready(index); index = (index + 1) % frame_count_) ++n;
  return n;
}

void Ingress::wake() {
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {}  // a full counter already wakes
}

bool Ingress::wait(int timeout_ms) {
  pollfd ps[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  pollfd& p = ps[0];
  if (::poll(ps, 2, timeout_ms) <= 0) return false;
  if (ps[1].revents & POLLIN) {
    uint64_t count;
    if (::read(wake_fd_, &count, sizeof count) < 0) {}  // cleared either way
    if (!(p.revents & POLLIN)) return false;
  }
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
    const bool other = foreign(block + offset + TPACKET_ALIGN(sizeof(tpacket3_hdr))) || tagged(hdr->tp_status, hdr->hv1.tp_vlan_tci);
    if (size_t{hdr->tp_mac} + hdr->tp_snaplen <= block_len - offset) visit(ctx, block + offset + hdr->tp_mac, hdr->tp_snaplen, other);
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
    const bool other_host = foreign(slot + TPACKET_ALIGN(sizeof(tpacket2_hdr))) || tagged(hdr->tp_status, hdr->tp_vlan_tci);
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
    nap_ns_ = nap_for_rate(window_frames_, elapsed);
    window_start_ns_ = now;
    window_frames_ = 0;
  }
  if (nap_ns_ == 0) nap_credit_ns_ = 0;
  if (nap_ns_ == 0 || napped_) return false;
  uint64_t nap_ns = nap_ns_;
  if (nap_ns < kMinNapNs) {  // dithered: see kMinNapNs
    nap_credit_ns_ += nap_ns;
    if (nap_credit_ns_ < kMinNapNs) return false;
    nap_credit_ns_ -= kMinNapNs;
    nap_ns = kMinNapNs;
  }
  napped_ = true;
  const timespec nap{0, static_cast<long>(nap_ns)};
  nanosleep(&nap, nullptr);
  return true;
}

bool Ingress::mmsg_foreign(int i) const {
  if (foreign(&names_[i])) return true;
  msghdr& h = msgs_[i].msg_hdr;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA || c->cmsg_len < CMSG_LEN(sizeof(tpacket_auxdata))) continue;
    tpacket_auxdata aux;
    std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
    return tagged(aux.tp_status, aux.tp_vlan_tci);
  }
  return false;
}

int Ingress::recv_batch() {
  for (size_t i = 0; i < kBatch; ++i) {  // recvmmsg shrinks msg_namelen and msg_controllen to what it wrote
    msgs_[i].msg_hdr.msg_name = &names_[i];
    msgs_[i].msg_hdr.msg_namelen = sizeof names_[i];
    msgs_[i].msg_hdr.msg_control = controls_[i].bytes;
    msgs_[i].msg_hdr.msg_controllen = sizeof controls_[i].bytes;
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
