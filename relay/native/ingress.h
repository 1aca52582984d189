// Ingress: an AF_PACKET socket on one interface, filtered in the kernel to IPv4/UDP/multicast and
// IPv6 multicast,
// blind to our own transmissions, optionally in a PACKET_FANOUT group, read through a
// TPACKET_V2 frame ring (the default), a TPACKET_V3 block ring, or with recvmmsg.
#pragma once
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mcr {

// hash: each flow stays on one worker, steered by the relay's bucket table (steering.h), so a
// change of workers moves only the flows it must. kernel_hash: the kernel's own flow hash, which
// re-deals most flows whenever the group changes (kept to measure that against).
enum class FanoutMode { hash, kernel_hash, cpu, lb, rollover, none };
bool parse_fanout_mode(const std::string& text, FanoutMode* out);

// frames: TPACKET_V2 ring, woken per frame at low rates, napping between batches at high ones.
// blocks: TPACKET_V3 ring, woken per block (full, or after the 1 ms retire timeout).
// mmsg: recvmmsg into private buffers.
enum class IngressKind { frames, blocks, mmsg };
bool parse_ingress_kind(const std::string& text, IngressKind* out);

struct IngressOptions {
  std::string ifname;
  FanoutMode fanout = FanoutMode::hash;
  int fanout_id = -1;  // -1: ask the kernel for a free id (it may hand out 0)
  IngressKind kind = IngressKind::frames;
  size_t ring_mib = 64;  // receive ring size; more rides out longer scheduling gaps
};

struct KernelStats {
  uint64_t packets = 0;
  uint64_t drops = 0;
  uint64_t freezes = 0;
};

class Ingress {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kFrameSize = 2048;  // V2 frame: an Ethernet frame of MTU 1500 and its header fit
  // recvmmsg buffer per datagram: any IPv4 frame fits, and any IPv6 one short of a jumbogram; the extra 128 B staggers the slots so their
  // headers do not all land in the same cache sets.
  static constexpr size_t kMmsgSlot = 65536 + 128;

  // Throws std::runtime_error with the failing step, interface and errno text.
  explicit Ingress(const IngressOptions& options);
  ~Ingress();
  Ingress(const Ingress&) = delete;
  Ingress& operator=(const Ingress&) = delete;

  int fanout_id() const { return fanout_id_; }

  // Joins the fanout group (or, for 'none', just starts receiving). Until then the socket is
  // bound but drops every frame. Throws with the step, interface and errno text.
  void join();

  // hash mode: steers the group's flows by `owners` (steering.h), for every member at once; the
  // kernel has stopped using the previous table when this returns. Throws with context.
  void steer(const std::vector<uint8_t>& owners);

  // Frames ready in the ring now, from the next one to read (the frame ring; 0 for the others).
  size_t ready_frames() const;
  bool counts_frames() const { return kind_ == IngressKind::frames; }

  // Ends a wait in receive() at once (any thread).
  void wake();

  // Waits up to timeout_ms for frames and calls visit(frame, length, foreign) for each one
  // received (foreign: the kernel marked it PACKET_OTHERHOST, e.g. a VLAN's frame on its parent),
  // then done() while the frames are still valid (before ring memory is handed back).
  template <typename Visit, typename Done>
  void receive(int timeout_ms, Visit&& visit, Done&& done);

  // Reads and clears the kernel's counters (PACKET_STATISTICS).
  KernelStats read_kernel_stats();

 private:
  void release();
  bool wait(int timeout_ms);
  uint8_t* current_block();
  void release_block();
  int recv_batch();
  bool mmsg_foreign(int i) const;
  uint8_t* frame_at(size_t index) const { return ring_ + index * kFrameSize; }
  bool frame_ready(size_t index) const;
  size_t walk_frames(void (*visit)(void*, const uint8_t*, size_t, bool), void* ctx);
  void release_frames(size_t count);
  bool nap_instead_of_poll();

  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd: wake() ends a wait
  int fanout_id_ = -1;
  FanoutMode fanout_ = FanoutMode::hash;
  int fanout_request_ = -1;  // -1: ask for a new unique group
  std::string ifname_;
  IngressKind kind_ = IngressKind::frames;
  // TPACKET_V2 / V3 ring
  uint8_t* ring_ = nullptr;
  size_t ring_size_ = 0;
  size_t block_size_ = 0;
  size_t block_count_ = 0;
  size_t block_index_ = 0;
  size_t frame_count_ = 0;
  size_t frame_index_ = 0;
  uint8_t* copy_buffer_ = nullptr;  // a frame too big for its V2 slot, read from the socket queue
  // Arrival rate over the current window decides between waking per frame and napping.
  uint64_t window_start_ns_ = 0;
  uint64_t window_frames_ = 0;
  uint64_t nap_ns_ = 0;  // the mean nap per empty ring; 0: wake per frame
  uint64_t nap_credit_ns_ = 0;  // naps shorter than the minimum accrue here until one is due
  bool napped_ = false;
  // recvmmsg buffers
  uint8_t* buffers_ = nullptr;
  mmsghdr* msgs_ = nullptr;
  iovec* iovs_ = nullptr;
  sockaddr_ll* names_ = nullptr;  // per message: its sll_pkttype
  struct alignas(cmsghdr) MmsgControl {
    uint8_t bytes[CMSG_SPACE(sizeof(tpacket_auxdata))];
  };
  MmsgControl* controls_ = nullptr;  // per message: its PACKET_AUXDATA (the VLAN tag's metadata)
};

// Walks one TPACKET_V3 block; defined in ingress.cc.
size_t walk_block(uint8_t* block, size_t block_size, void (*visit)(void*, const uint8_t*, size_t, bool), void* ctx);

template <typename Visit, typename Done>
void Ingress::receive(int timeout_ms, Visit&& visit, Done&& done) {
  auto thunk = [](void* ctx, const uint8_t* frame, size_t length, bool foreign) { (*static_cast<Visit*>(ctx))(frame, length, foreign); };
  if (kind_ == IngressKind::frames) {
    if (!frame_ready(frame_index_)) {
      if (nap_instead_of_poll()) return;
      if (!wait(timeout_ms)) return;
    }
    const size_t n = walk_frames(thunk, &visit);
    if (n > 0) done();
    release_frames(n);
    return;
  }
  if (kind_ == IngressKind::blocks) {
    uint8_t* block = current_block();
    if (!block) {
      if (!wait(timeout_ms)) return;
      block = current_block();
      if (!block) return;
    }
    walk_block(block, block_size_, thunk, &visit);
    done();
    release_block();
    return;
  }
  int n = recv_batch();
  if (n <= 0) {
    if (!wait(timeout_ms)) return;
    n = recv_batch();
  }
  for (int i = 0; i < n; ++i) visit(buffers_ + static_cast<size_t>(i) * kMmsgSlot, static_cast<size_t>(msgs_[i].msg_len), mmsg_foreign(i));
  if (n > 0) done();
}

}  // namespace mcr
