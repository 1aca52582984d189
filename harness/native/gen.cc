// mcr-gen: paced multicast traffic for many streams from one process, every packet carrying the
// MCR payload (run id, stream, sequence, CLOCK_MONOTONIC send time, check).
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../../relay/native/headers.h"
#include "../../relay/native/link_facts.h"
#include "common.h"
#include "json-writer.h"
#include "pace.h"
#include "payload.h"

using namespace mcr;

namespace {

const char* kUsage = R"(mcr-gen: send paced, sequence-numbered multicast test traffic.
  --streams G:P[,G:P...]   streams (stream id = position, from 1): 239.1.1.1:5000, or IPv6 in
                           brackets: [ff15::1:1]:5000 (one family per run)
  --streams-file FILE      one G:P per line (for many streams)
  --interface IF           send through this interface (required; IP_MULTICAST_IF / IPV6_MULTICAST_IF)
  --rate PPS               per-stream rate, 0 = as fast as possible (default 1000)
  --aggregate-rate PPS     total rate over all streams (instead of --rate)
  --count N                packets per stream (default 1000)
  --duration S             send for S seconds instead of --count (with --rate 0: until then)
  --profile S:PPS[,S:PPS]  total rate over all streams in steps: PPS for S seconds, then the next
                           (e.g. 5:10000,20:100000,20:10000 ramps up and back down); sets --count
  --size BYTES             UDP payload size, 40..65507 (default 512; beyond the MTU the kernel
                           sends IP fragments)
  --ttl N                  multicast TTL, IPv6: hop limit (default 8)
  --tos N                  IP TOS byte, IPv6: traffic class; DSCP << 2 | ECN, 0..255 (default 0)
  --source ADDR            send from this local address (e.g. a second source of one group), of
                           the streams' family
  --run-id N               run id written into every packet (default 1)
  --batch N                sendmmsg batch size, 1..256 (default 32)
  --packet                 send Ethernet frames built here on an AF_PACKET socket (the group's MAC,
                           the interface's MAC and address or --source, UDP checksum computed),
                           instead of through the IP stack: the kernel makes no neighbour entry per
                           group, which at thousands of groups costs every sender on the host.
                           Each datagram must fit one frame (--size up to the MTU's room).
  --warmup N               packets per stream sent first, flagged warm-up (default 0)
  --threads N              sender threads, 1..16 (default 1), capped at the number of streams.
                           Stream s (from 0) is sent by thread s % N over its own socket; each thread
                           paces its streams' share of the rate on its own schedule.
  --fault KIND:K           dup|swap|corrupt|skip every K-th packet of each stream (tests the sink;
                           reorder:K = swap:K). K >= 2. Counted in "faults" when the kernel accepted them.
  --dump N                 send nothing: print N payloads of stream 1 (seq 0..N-1) as hex lines
                           (with --size, --run-id; for checking other decoders)
Prints one JSON summary line on stdout; stops early (and still prints) on SIGINT/SIGTERM,
after completing the current round over the streams (and an open swap pair); with --threads,
each thread completes its own round, so streams of different threads may end a few positions apart.
)";

enum class Fault { none, dup, swap, corrupt, skip };

// "S:PPS[,S:PPS...]": seconds and total packets/s of each step of a rate profile.
std::vector<Pace::Segment> parse_profile(const std::string& text) {
  std::vector<Pace::Segment> out;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string part = text.substr(at, comma - at);
    const size_t colon = part.find(':');
    if (colon == std::string::npos) die("--profile '" + text + "': each step is SECONDS:PPS, e.g. 5:10000");
    out.push_back(Pace::Segment{parse_number("--profile seconds", part.substr(0, colon).c_str(), 0.001, 1e6), parse_number("--profile rate", part.c_str() + colon + 1, 1, 1e8)});
    at = comma + 1;
  }
  return out;
}

// One cache line per stream: neighbouring streams belong to different threads (s % N).
struct alignas(64) StreamState {
  uint64_t sent = 0;         // measured packets accepted by the kernel
  uint64_t warmup_sent = 0;  // warm-up packets accepted
  uint64_t warmup_errors = 0;
  uint64_t sequenced = 0;  // measured sequence numbers used (sent, failed or skipped)
  uint64_t first_ns = 0;   // first/last accepted packet, warm-up included
  uint64_t last_ns = 0;
  uint64_t measured_first_ns = 0;  // first/last accepted measured packet (the window of "sent")
  uint64_t measured_last_ns = 0;
  std::map<int, uint64_t> errors;  // measured packets the kernel refused, by errno
};

// What a queued message is, for the counters once the kernel accepted or refused it.
enum class Slot : uint8_t { measured, warmup, dup_copy, swapped, corrupted };

// Everything the sender threads read; fixed before they start.
struct Config {
  std::vector<StreamAddr> streams;
  int family = AF_INET;  // of every stream (checked when parsed)
  std::string ifname;
  std::string source;
  double total_rate = 0;  // packets/s over all streams, 0 = as fast as possible
  std::vector<Pace::Segment> profile;  // --profile: total rates in steps (instead of total_rate)
  uint64_t count = 1000, warmup = 0;
  uint64_t deadline_ns = 0;  // --duration without a rate: send until then
  size_t size = 512, batch = 32;
  int ttl = 8;
  int tos = 0;
  uint32_t run_id = 1;
  bool packet = false;  // --packet: frames on an AF_PACKET socket
  Fault fault = Fault::none;
  uint64_t fault_k = 0;
};

// Set by SIGINT/SIGTERM in whichever thread takes the signal, read by every sender (lock-free, so
// safe in a handler and across threads, unlike a plain sig_atomic_t).
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set in a signal handler");

const char* errno_name(int e) {
  switch (e) {
    case ENOBUFS: return "ENOBUFS";
    case EAGAIN: return "EAGAIN";
    case ENETUNREACH: return "ENETUNREACH";
    case EPERM: return "EPERM";
    case EMSGSIZE: return "EMSGSIZE";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    default: return nullptr;
  }
}

int open_socket_v4(const Config& c) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  ip_mreqn mreq{};
  mreq.imr_ifindex = static_cast<int>(interface_index(c.ifname));
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0) die("IP_MULTICAST_IF " + c.ifname + ": " + std::strerror(errno));
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &c.ttl, sizeof c.ttl);
  if (setsockopt(fd, IPPROTO_IP, IP_TOS, &c.tos, sizeof c.tos) < 0) die(std::string("IP_TOS: ") + std::strerror(errno));
  if (!c.source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, c.source.c_str(), &local.sin_addr) != 1) die("--source " + c.source + ": not an IPv4 address (the streams are IPv4)");
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) < 0) die("bind to --source " + c.source + ": " + std::strerror(errno));
  }
  int loop = 0;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  return fd;
}

// The IPv6 twin: hop limit for TTL, traffic class for TOS.
int open_socket_v6(const Config& c) {
  const int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  const int ifindex = static_cast<int>(interface_index(c.ifname));
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) < 0) die("IPV6_MULTICAST_IF " + c.ifname + ": " + std::strerror(errno));
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &c.ttl, sizeof c.ttl) < 0) die(std::string("IPV6_MULTICAST_HOPS: ") + std::strerror(errno));
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &c.tos, sizeof c.tos) < 0) die(std::string("IPV6_TCLASS: ") + std::strerror(errno));
  if (!c.source.empty()) {
    sockaddr_in6 local{};
    local.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, c.source.c_str(), &local.sin6_addr) != 1) die("--source " + c.source + ": not an IPv6 address (the streams are IPv6)");
    if (IN6_IS_ADDR_LINKLOCAL(&local.sin6_addr)) local.sin6_scope_id = static_cast<uint32_t>(ifindex);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) < 0) die("bind to --source " + c.source + ": " + std::strerror(errno));
  }
  const int loop = 0;
  setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop);
  return fd;
}

// --packet: what every frame shares: the socket bound to the interface, its MAC and the source
// address (--source, or the interface's own: its IPv4 address, its IPv6 address for the group's scope).
struct FrameSource {
  int fd = -1;
  sockaddr_ll to{};
  LinkFacts link;
  uint8_t address[16] = {};
};

FrameSource open_frames(const Config& c) {
  FrameSource f;
  std::string error;
  const unsigned ifindex = interface_index(c.ifname);
  if (!read_link_facts(ifindex, &f.link, &error)) die("--packet: " + error);
  if (!f.link.ethernet) die("--packet: " + c.ifname + " is not an Ethernet interface");
  const bool v6 = c.family == AF_INET6;
  const size_t room = f.link.mtu - kUdpHeader - (v6 ? kIpv6Header : kIpv4Header);
  if (c.size > room) die("--packet: --size " + std::to_string(c.size) + " does not fit one frame on " + c.ifname + " (MTU " + std::to_string(f.link.mtu) + ": at most " + std::to_string(room) + ")");
  if (!c.source.empty()) {
    if (inet_pton(c.family, c.source.c_str(), f.address) != 1) die("--source " + c.source + ": not an " + (v6 ? "IPv6" : "IPv4") + " address (the streams' family)");
  } else if (v6) {
    const uint8_t* a = ipv6_source_for(f.link, c.streams.front().addr.v6.sin6_addr.s6_addr);
    if (!a) die("--packet: " + c.ifname + " has no IPv6 address to send from");
    std::memcpy(f.address, a, 16);
  } else {
    if (!f.link.has_source4) die("--packet: " + c.ifname + " has no IPv4 address to send from");
    std::memcpy(f.address, &f.link.source4, 4);
  }
  f.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: sends only
  if (f.fd < 0) die(std::string("--packet: AF_PACKET socket: ") + std::strerror(errno));
  f.to.sll_family = AF_PACKET;
  f.to.sll_ifindex = static_cast<int>(ifindex);
  if (bind(f.fd, reinterpret_cast<const sockaddr*>(&f.to), sizeof f.to) < 0) die("--packet: bind to " + c.ifname + ": " + std::strerror(errno));
  f.to.sll_protocol = htons(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IP);
  int sndbuf = 4 << 20;
  if (setsockopt(f.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) setsockopt(f.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return f;
}

int open_socket(const Config& c) {
  const int fd = c.family == AF_INET6 ? open_socket_v6(c) : open_socket_v4(c);
  int sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return fd;
}

// One sender thread: streams first, first + step, ... (n of them) over its own socket and buffers,
// on its own absolute schedule at its share of the rate. Only this thread touches those streams'
// StreamState, so the hot path takes no lock.
class Sender {
 public:
  Sender(const Config& c, std::vector<StreamState>& state, size_t first, size_t step)
      : c_(c), state_(state), first_(first), step_(step),
        n_((c.streams.size() - first + step - 1) / step),
        frames_(c.packet ? open_frames(c) : FrameSource{}), fd_(c.packet ? frames_.fd : open_socket(c)), namelen_(c.streams.front().addr_len),
        // Room for a batch plus the extra copies a dup fault adds (and, for frames, their headers).
        buffers_(c.batch * 2 * c.size), msgs_(c.batch * 2), iovs_(c.batch * 2 * 2), owner_(c.batch * 2), kind_(c.batch * 2),
        headers_(c.packet ? c.batch * 2 * kMaxHeaders : 0) {}
  ~Sender() { close(fd_); }
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void run(uint64_t t0);

  // Injected faults the kernel accepted (skip: sequence numbers left out).
  uint64_t faults_dup = 0, faults_swap = 0, faults_corrupt = 0, faults_skip = 0;

 private:
  uint64_t seq_at(uint64_t j) const;
  void send(size_t m);
  void frame(size_t k);

  const Config& c_;
  std::vector<StreamState>& state_;
  const size_t first_, step_, n_;
  const FrameSource frames_;
  const int fd_;
  const socklen_t namelen_;  // every stream is of one family
  std::vector<uint8_t> buffers_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<uint32_t> owner_;
  std::vector<Slot> kind_;
  std::vector<uint8_t> headers_;  // --packet: each message's Ethernet, IP and UDP headers
  uint16_t ip_id_ = 0;
};

// Position j of a stream's measured packets -> the sequence number sent there (swap fault).
uint64_t Sender::seq_at(uint64_t j) const {
  if (c_.fault != Fault::swap) return j;
  const uint64_t r = j % c_.fault_k;
  if (r == c_.fault_k - 2 && j + 1 < c_.count) return j + 1;
  if (r == c_.fault_k - 1 && j >= 1 && (j - 1) % c_.fault_k == c_.fault_k - 2) return j - 1;
  return j;
}

void Sender::run(uint64_t t0) {
  const uint64_t warmup = c_.warmup, fault_k = c_.fault_k;
  const Fault fault = c_.fault;
  const size_t size = c_.size;
  uint64_t total = (warmup + c_.count) * n_;
  // This thread's share of the aggregate rate (or profile), in proportion to the streams it owns.
  const double share = static_cast<double>(n_) / static_cast<double>(c_.streams.size());
  const Pace pace = (c_.profile.empty() ? Pace::constant(c_.total_rate) : Pace(c_.profile)).scaled(share);
  bool paced = !pace.unpaced();
  uint64_t i = 0;  // packet i of this thread: local stream i % n_, position i / n_
  bool stopping = false;

  while (i < total) {
    const uint64_t now = monotonic_ns();
    if (!stopping && (g_interrupted.load(std::memory_order_relaxed) || (c_.deadline_ns && now >= c_.deadline_ns))) {
      // Stop cleanly: finish the current round so every stream of this thread used the same
      // positions, plus one more when that round opened a swap pair; send the rest now.
      stopping = true;
      uint64_t pos = (i + n_ - 1) / n_;
      if (fault == Fault::swap && pos > warmup && (pos - 1 - warmup) % fault_k == fault_k - 2) ++pos;
      total = std::min(total, pos * n_);
      paced = false;
      continue;
    }
    uint64_t due = total;
    if (paced) due = now < t0 ? 0 : std::min<uint64_t>(total, pace.due(now - t0));
    if (due <= i) {
      // Ahead of schedule: sleep until packet i is due (absolute time, so no drift), but at most
      // 50 ms: a signal wakes only the thread that takes it, the others must notice the flag.
      const uint64_t at = std::min(t0 + pace.at(i), now + uint64_t{50000000});
      timespec ts{static_cast<time_t>(at / 1000000000ull), static_cast<long>(at % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      continue;
    }
    const uint64_t take = std::min<uint64_t>(due - i, c_.batch);
    size_t m = 0;
    for (uint64_t k = 0; k < take; ++k, ++i) {
      const uint32_t s = static_cast<uint32_t>(first_ + (i % n_) * step_);
      const uint64_t pos = i / n_;
      const bool is_warmup = pos < warmup;
      const uint64_t j = is_warmup ? pos : pos - warmup;
      const uint64_t seq = is_warmup ? pos : seq_at(j);
      if (!is_warmup) ++state_[s].sequenced;
      if (!is_warmup && fault == Fault::skip && j % fault_k == fault_k - 1) { ++faults_skip; continue; }
      uint8_t* buf = &buffers_[m * size];
      write_payload(buf, size, PayloadHeader{static_cast<uint8_t>(is_warmup ? kFlagWarmup : 0), c_.run_id, s + 1, seq, monotonic_ns(), static_cast<uint32_t>(size)});
      owner_[m] = s;
      kind_[m] = is_warmup ? Slot::warmup : Slot::measured;
      if (!is_warmup && fault == Fault::swap && j % fault_k == fault_k - 2 && j + 1 < c_.count) kind_[m] = Slot::swapped;
      if (!is_warmup && fault == Fault::corrupt && j % fault_k == fault_k - 1) {
        buf[size - 1] ^= 0x5a;  // after the check was computed
        kind_[m] = Slot::corrupted;
      }
      ++m;
      if (!is_warmup && fault == Fault::dup && j % fault_k == fault_k - 1) {
        std::memcpy(&buffers_[m * size], buf, size);
        owner_[m] = s;
        kind_[m] = Slot::dup_copy;
        ++m;
      }
    }
    send(m);
  }
}

// --packet: message k as a frame: its headers (checksum over the payload as written) and payload.
void Sender::frame(size_t k) {
  Destination to;
  std::memcpy(&to, &c_.streams[owner_[k]].addr, sizeof to);
  UdpHeaderFields f;
  f.source = frames_.address;
  f.source_port = c_.streams[owner_[k]].port;
  f.ttl = static_cast<uint8_t>(c_.ttl);
  f.tos = static_cast<uint8_t>(c_.tos);
  f.ip_id = ip_id_++;
  f.payload_length = c_.size;
  uint8_t* headers = &headers_[k * kMaxHeaders];
  const size_t length = write_udp_headers(headers, frames_.link.mac, to, f);
  iovs_[2 * k] = iovec{headers, length};
  iovs_[2 * k + 1] = iovec{&buffers_[k * c_.size], c_.size};
  finish_udp_checksum(headers, length, &iovs_[2 * k + 1], 1);
  msgs_[k].msg_hdr.msg_name = const_cast<sockaddr_ll*>(&frames_.to);
  msgs_[k].msg_hdr.msg_namelen = sizeof frames_.to;
  msgs_[k].msg_hdr.msg_iov = &iovs_[2 * k];
  msgs_[k].msg_hdr.msg_iovlen = 2;
}

// Hands the m queued messages to the kernel and counts each as accepted or refused.
void Sender::send(size_t m) {
  for (size_t k = 0; k < m; ++k) {
    std::memset(&msgs_[k], 0, sizeof msgs_[k]);
    if (c_.packet) {
      frame(k);
      continue;
    }
    iovs_[k] = iovec{&buffers_[k * c_.size], c_.size};
    msgs_[k].msg_hdr.msg_name = const_cast<sockaddr*>(&c_.streams[owner_[k]].addr.sa);  // only read on send
    msgs_[k].msg_hdr.msg_namelen = namelen_;
    msgs_[k].msg_hdr.msg_iov = &iovs_[k];
    msgs_[k].msg_hdr.msg_iovlen = 1;
  }
  size_t off = 0;
  while (off < m) {
    const int r = sendmmsg(fd_, msgs_.data() + off, static_cast<unsigned>(m - off), 0);
    const uint64_t stamp = monotonic_ns();
    if (r < 0) {
      if (errno == EINTR) continue;
      // The first message was refused: count it and go on with the rest.
      StreamState& st = state_[owner_[off]];
      if (kind_[off] == Slot::warmup) ++st.warmup_errors;
      else if (kind_[off] != Slot::dup_copy) st.errors[errno]++;
      ++off;
      continue;
    }
    for (size_t k = off; k < off + static_cast<size_t>(r); ++k) {
      StreamState& st = state_[owner_[k]];
      switch (kind_[k]) {
        case Slot::dup_copy: ++faults_dup; continue;  // an extra copy is not a sent packet
        case Slot::warmup: ++st.warmup_sent; break;
        case Slot::swapped: ++faults_swap; ++st.sent; break;
        case Slot::corrupted: ++faults_corrupt; ++st.sent; break;
        case Slot::measured: ++st.sent; break;
      }
      if (st.first_ns == 0) st.first_ns = stamp;
      st.last_ns = stamp;
      if (kind_[k] != Slot::warmup) {
        if (st.measured_first_ns == 0) st.measured_first_ns = stamp;
        st.measured_last_ns = stamp;
      }
    }
    off += static_cast<size_t>(r);
  }
}

// The command line: the senders' Config plus what only main needs.
struct Options {
  Config c;
  double rate = 1000, aggregate = -1, duration = -1;
  uint64_t dump = 0;
  size_t threads = 1;
};

// "KIND:K" of --fault.
void parse_fault(const std::string& text, Config* c) {
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  if (kind == "dup") c->fault = Fault::dup;
  else if (kind == "swap" || kind == "reorder") c->fault = Fault::swap;
  else if (kind == "corrupt") c->fault = Fault::corrupt;
  else if (kind == "skip") c->fault = Fault::skip;
  else die("--fault '" + text + "': kind must be dup, swap, corrupt or skip");
  c->fault_k = colon == std::string::npos ? 0 : static_cast<uint64_t>(parse_number("--fault", text.c_str() + colon + 1, 2, 1e9));
  if (c->fault_k == 0) die("--fault '" + text + "' needs K >= 2, e.g. dup:100");
}

// Every flag in order; --help prints the usage and exits 0, anything wrong exits 2 saying what.
Options parse_args(int argc, char** argv) {
  Options o;
  Config& c = o.c;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto next = [&] { ++i; return v; };
    if (a == "--help" || a == "-h") { std::fputs(kUsage, stdout); std::exit(0); }
    else if (a == "--streams") { if (!v) die("--streams needs a value"); add_stream_list(next(), &c.streams); }
    else if (a == "--streams-file") { if (!v) die("--streams-file needs a value"); add_stream_file(next(), &c.streams); }
    else if (a == "--interface") { if (!v) die("--interface needs a value"); c.ifname = next(); }
    else if (a == "--source") { if (!v) die("--source needs a value"); c.source = next(); }
    else if (a == "--rate") o.rate = parse_number(a, next(), 0, 1e8);
    else if (a == "--aggregate-rate") o.aggregate = parse_number(a, next(), 1, 1e8);
    else if (a == "--count") c.count = static_cast<uint64_t>(parse_number(a, next(), 1, 1e12));
    else if (a == "--duration") o.duration = parse_number(a, next(), 0.001, 1e6);
    else if (a == "--profile") { if (!v) die("--profile needs S:PPS[,S:PPS...]"); c.profile = parse_profile(next()); }
    else if (a == "--size") c.size = static_cast<size_t>(parse_number(a, next(), kHeaderSize, kMaxPayload));
    else if (a == "--ttl") c.ttl = static_cast<int>(parse_number(a, next(), 1, 255));
    else if (a == "--tos") c.tos = static_cast<int>(parse_number(a, next(), 0, 255));
    else if (a == "--run-id") c.run_id = static_cast<uint32_t>(parse_number(a, next(), 0, 4294967295.0));
    else if (a == "--batch") c.batch = static_cast<size_t>(parse_number(a, next(), 1, 256));
    else if (a == "--warmup") c.warmup = static_cast<uint64_t>(parse_number(a, next(), 0, 1e9));
    else if (a == "--packet") c.packet = true;
    else if (a == "--threads") o.threads = static_cast<size_t>(parse_number(a, next(), 1, 16));
    else if (a == "--fault") { if (!v) die("--fault needs KIND:K"); parse_fault(next(), &c); }
    else if (a == "--dump") o.dump = static_cast<uint64_t>(parse_number(a, next(), 1, 1e6));
    else die(std::string("unknown option '") + a + "'\n" + kUsage);
  }
  return o;
}

// --dump: N payloads of stream 1 as hex lines, nothing sent.
void dump_payloads(const Config& c, uint64_t n) {
  std::vector<uint8_t> buf(c.size);
  for (uint64_t seq = 0; seq < n; ++seq) {
    write_payload(buf.data(), c.size, PayloadHeader{0, c.run_id, 1, seq, monotonic_ns(), static_cast<uint32_t>(c.size)});
    std::string line;
    char hex[3];
    for (uint8_t b : buf) { std::snprintf(hex, sizeof hex, "%02x", b); line += hex; }
    std::puts(line.c_str());
  }
}

// Checks what a sending run needs and turns rates, --duration and --profile into the senders'
// total rate, count per stream and deadline.
void plan_schedule(Options* o) {
  Config& c = o->c;
  if (c.streams.empty()) die(std::string("no streams given (--streams or --streams-file)\n") + kUsage);
  if (c.ifname.empty()) die("--interface is required");
  c.family = streams_family(c.streams);
  const size_t n_streams = c.streams.size();
  o->threads = std::min(o->threads, n_streams);  // a thread without a stream would have nothing to send
  c.total_rate = o->aggregate > 0 ? o->aggregate : o->rate * static_cast<double>(n_streams);
  if (!c.profile.empty()) {
    if (o->duration > 0) die("--profile and --duration both say how long to send: give one");
    double packets = 0;
    for (const Pace::Segment& s : c.profile) packets += s.seconds * s.pps;
    c.count = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(packets / static_cast<double>(n_streams))));
  }
  if (o->duration > 0) {
    if (c.total_rate > 0) {
      c.count = static_cast<uint64_t>(std::llround(o->duration * c.total_rate / static_cast<double>(n_streams)));
      if (c.count == 0) c.count = 1;
    } else {
      c.count = 1ull << 40;
      c.deadline_ns = monotonic_ns() + static_cast<uint64_t>(o->duration * 1e9);
    }
  }
}

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_interrupted.store(true, std::memory_order_relaxed); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Runs every sender to its end; returns the seconds it took.
double run_senders(const std::vector<std::unique_ptr<Sender>>& senders) {
  // One start time for all threads, so their schedules interleave as one stream of packets would.
  const uint64_t t0 = monotonic_ns() + 1000000;
  const uint64_t started = monotonic_ns();
  std::vector<std::thread> workers;
  for (size_t t = 1; t < senders.size(); ++t) workers.emplace_back(&Sender::run, senders[t].get(), t0);
  senders[0]->run(t0);  // thread 0 is this one: with --threads 1 no thread is started
  for (std::thread& w : workers) w.join();
  return static_cast<double>(monotonic_ns() - started) / 1e9;
}

// Refusals by errno name ("ENOBUFS", or "E<number>" for one without a name here); returns their sum.
uint64_t write_errors(JsonWriter& w, const StreamState& st) {
  uint64_t errors = 0;
  w.begin_object();
  for (const auto& kv : st.errors) {
    const char* name = errno_name(kv.first);
    const std::string key = name ? name : "E" + std::to_string(kv.first);
    w.field(key.c_str(), kv.second);
    errors += kv.second;
  }
  w.end_object();
  return errors;
}

void write_stream(JsonWriter& w, size_t s, const StreamAddr& addr, const StreamState& st) {
  w.begin_object().field("stream", s + 1).field("group", addr.group).field("port", addr.port);
  w.field("sent", st.sent).field("sequenced", st.sequenced);
  w.key("errors");
  const uint64_t errors = write_errors(w, st);
  w.field("errorCount", errors).field("warmupSent", st.warmup_sent).field("warmupErrors", st.warmup_errors);
  // firstSendNs/lastSendNs/rate cover everything the stream sent, warm-up included.
  const uint64_t all = st.sent + st.warmup_sent;
  const double span = st.last_ns > st.first_ns ? static_cast<double>(st.last_ns - st.first_ns) / 1e9 : 0;
  w.field("firstSendNs", st.first_ns).field("lastSendNs", st.last_ns);
  w.key("rate").fixed(span > 0 && all > 1 ? static_cast<double>(all - 1) / span : 0.0, 1);
  w.field("measuredFirstSendNs", st.measured_first_ns).field("measuredLastSendNs", st.measured_last_ns);
  w.end_object();
}

// The summary line: "sent" counts measured packets the kernel accepted (warm-up excluded).
std::string report(const Config& c, const std::vector<StreamState>& state, const std::vector<std::unique_ptr<Sender>>& senders, double elapsed) {
  JsonWriter w;
  w.begin_object().field("runId", c.run_id).field("size", c.size).field("warmup", c.warmup);
  w.key("streams").begin_array();
  uint64_t total_sent = 0, measured_first = 0, measured_last = 0;
  for (size_t s = 0; s < state.size(); ++s) {
    const StreamState& st = state[s];
    write_stream(w, s, c.streams[s], st);
    total_sent += st.sent;
    if (st.measured_first_ns && (measured_first == 0 || st.measured_first_ns < measured_first)) measured_first = st.measured_first_ns;
    measured_last = std::max(measured_last, st.measured_last_ns);
  }
  w.end_array();
  uint64_t dup = 0, swap = 0, corrupt = 0, skip = 0;
  for (const auto& sender : senders) {
    dup += sender->faults_dup;
    swap += sender->faults_swap;
    corrupt += sender->faults_corrupt;
    skip += sender->faults_skip;
  }
  // The measured window: delivered / measuredSeconds is the offered rate when nothing is lost.
  const double measured_seconds = total_sent >= 2 && measured_last > measured_first ? static_cast<double>(measured_last - measured_first) / 1e9 : 0;
  w.field("totalSent", total_sent).key("elapsedSec").fixed(elapsed, 3).field("interrupted", g_interrupted.load());
  w.key("faults").begin_object().field("dup", dup).field("swap", swap).field("corrupt", corrupt).field("skip", skip).end_object();
  w.field("threads", senders.size()).field("cpus", affinity_list()).field("measuredFirstSendNs", measured_first).field("measuredLastSendNs", measured_last);
  w.key("measuredSeconds").fixed(measured_seconds, 9);
  return w.end_object().text();
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  if (o.dump > 0) {
    dump_payloads(o.c, o.dump);
    return 0;
  }
  plan_schedule(&o);
  install_interrupt_handlers();

  // Sockets and buffers are set up here, so a failure ends the process before anything is sent.
  std::vector<StreamState> state(o.c.streams.size());
  std::vector<std::unique_ptr<Sender>> senders;
  for (size_t t = 0; t < o.threads; ++t) senders.push_back(std::make_unique<Sender>(o.c, state, t, o.threads));

  const double elapsed = run_senders(senders);
  std::puts(report(o.c, state, senders, elapsed).c_str());
  return 0;
}
