// mcr-sink: ordinary joined UDP sockets (as a real receiver), one per group, read with epoll and
// recvmmsg; per-stream accounting of every packet from the MCR payload.
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common.h"
#include "histogram.h"
#include "json-writer.h"
#include "latency-windows.h"
#include "payload.h"

using namespace mcr;

namespace {

const char* kUsage = R"(mcr-sink: receive MCR test traffic and account for every packet.
  --streams G:P[,G:P...]   groups to join (stream id = position, from 1): 239.1.1.1:5000, or IPv6
                           in brackets: [ff15::1:1]:5000 (one family per run; MLD joins for IPv6)
  --streams-file FILE      one G:P per line
  --interface IF           join on this interface (required)
  --run-id N               only packets of this run count (default 1)
  --idle-timeout MS        stop after MS without packets, once traffic began (default 2000)
  --max-wait MS            stop after MS in any case (default 0 = no limit)
  --rcvbuf BYTES           receive buffer per socket (default 8388608)
  --latency-window MS      the summary's latencyWindows: the p99 per MS of send time, all streams
                           together (default 100)
  --progress MS            every MS print PROGRESS {"t":s,"received":n,"unique":n,"expected":n} on
                           stderr (expected: sum of the highest sequence number + 1 per stream)
Prints READY on stderr once joined and one JSON summary line on stdout at the end
(after the idle timeout, --max-wait, or SIGINT/SIGTERM). "firstArrivalNs" and "lastArrivalNs"
are the CLOCK_MONOTONIC ns of a stream's first and last packet (0: none). "ttl" and "tos" report what arrived:
the IPv4 TTL and TOS byte, or the IPv6 hop limit and traffic class.
)";

constexpr size_t kBatch = 64;
constexpr size_t kSlot = 65536;  // any UDP datagram over IPv4 or IPv6 (fragments reassembled by the kernel)
constexpr uint64_t kMaxSeq = 1ull << 31;  // beyond this a sequence number is not believable

struct Stream {
  uint64_t received = 0, unique = 0, duplicates = 0, reordered = 0, corrupted = 0, warmup = 0, misdelivered = 0;
  int64_t max_seq = -1;
  // CLOCK_MONOTONIC ns of the first and last packet of the run for this stream (warm-up and
  // duplicates included; 0: none): when a group started and stopped arriving (join/leave delay).
  uint64_t first_arrival = 0, last_arrival = 0;
  // IP TTL and TOS (IPv6: hop limit and traffic class) the datagrams arrived with.
  int ttl_min = 256, ttl_max = -1, tos_min = 256, tos_max = -1;
  std::vector<uint64_t> seen;  // bitmap by sequence number
  Histogram latency;

  // Runs of missing sequence numbers from 0 to max_seq (what arrived after the last one is
  // unknown here; the harness knows how many were sent): how many, and the longest, in packets.
  void gaps(uint64_t* runs, uint64_t* longest) const {
    *runs = 0;
    *longest = 0;
    uint64_t current = 0;
    for (int64_t seq = 0; seq <= max_seq; ++seq) {
      const size_t word = static_cast<size_t>(seq / 64);
      if (word < seen.size() && seen[word] == ~0ull && seq % 64 == 0 && seq + 63 <= max_seq) {  // a full word: skip it
        if (current) *longest = std::max(*longest, current);
        current = 0;
        seq += 63;
        continue;
      }
      const bool present = word < seen.size() && (seen[word] >> (seq % 64)) & 1;
      if (present) {
        if (current) *longest = std::max(*longest, current);
        current = 0;
      } else if (current++ == 0) {
        ++*runs;
      }
    }
    *longest = std::max(*longest, current);
  }

  bool mark(uint64_t seq) {
    const size_t word = static_cast<size_t>(seq / 64);
    if (word >= seen.size()) seen.resize(std::max(word + 1, seen.size() * 2), 0);
    const uint64_t bit = 1ull << (seq % 64);
    if (seen[word] & bit) return false;
    seen[word] |= bit;
    return true;
  }
};

struct Socket {
  int fd;
  uint32_t stream_index;
  uint32_t overflow = 0;  // latest SO_RXQ_OVFL value (cumulative per socket)
};

// The socket's drop counter (sk_drops) read directly: SO_RXQ_OVFL only travels with a received
// packet, so drops after the last packet read would otherwise go unseen.
uint32_t socket_drops(int fd) {
  uint32_t info[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof info;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) < 0 || len <= SK_MEMINFO_DROPS * sizeof(uint32_t)) return 0;
  return info[SK_MEMINFO_DROPS];
}

#ifndef IPV6_MULTICAST_ALL
#define IPV6_MULTICAST_ALL 29
#endif

// An ordinary receiver's socket: bound to the group itself (so it gets its own group only, though
// every stream may share the port), joined on the interface, reporting TTL/hop limit and TOS/class.
int open_joined(const StreamAddr& a, unsigned ifindex, const std::string& ifname, int rcvbuf) {
  const std::string what = stream_text(a);
  const int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket for " + what + ": " + std::strerror(errno));
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  if (a.family == AF_INET) {
    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &zero, sizeof zero);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof zero);
  }
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  auto local = a.addr;
  // A link-local scope group (ff02::...) names its link in the address it is bound to.
  if (a.family == AF_INET6 && IN6_IS_ADDR_MC_LINKLOCAL(&a.addr.v6.sin6_addr)) local.v6.sin6_scope_id = ifindex;
  if (bind(fd, &local.sa, a.addr_len) < 0) die("bind " + what + ": " + std::strerror(errno));
  if (a.family == AF_INET) {
    ip_mreqn mreq{};
    mreq.imr_multiaddr = a.addr.v4.sin_addr;
    mreq.imr_ifindex = static_cast<int>(ifindex);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) die("join " + what + " on " + ifname + ": " + std::strerror(errno));
  } else {
    ipv6_mreq mreq{};
    mreq.ipv6mr_multiaddr = a.addr.v6.sin6_addr;
    mreq.ipv6mr_interface = ifindex;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof mreq) < 0) die("join " + what + " on " + ifname + ": " + std::strerror(errno));
  }
  return fd;
}

struct Options {
  std::vector<StreamAddr> addrs;
  std::string ifname;
  uint32_t run_id = 1;
  double idle_ms = 2000, max_wait_ms = 0, progress_ms = 0, latency_window_ms = 100;
  int rcvbuf = 8 << 20;
};

// Every flag in order; --help prints the usage and exits 0, anything wrong exits 2 saying what.
Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto next = [&] { ++i; return v; };
    if (a == "--help" || a == "-h") { std::fputs(kUsage, stdout); std::exit(0); }
    else if (a == "--streams") { if (!v) die("--streams needs a value"); add_stream_list(next(), &o.addrs); }
    else if (a == "--streams-file") { if (!v) die("--streams-file needs a value"); add_stream_file(next(), &o.addrs); }
    else if (a == "--interface") { if (!v) die("--interface needs a value"); o.ifname = next(); }
    else if (a == "--run-id") o.run_id = static_cast<uint32_t>(parse_number(a, next(), 0, 4294967295.0));
    else if (a == "--idle-timeout") o.idle_ms = parse_number(a, next(), 1, 3.6e6);
    else if (a == "--max-wait") o.max_wait_ms = parse_number(a, next(), 0, 3.6e7);
    else if (a == "--latency-window") o.latency_window_ms = parse_number(a, next(), 1, 3.6e6);
    else if (a == "--progress") o.progress_ms = parse_number(a, next(), 100, 3.6e6);
    else if (a == "--rcvbuf") o.rcvbuf = static_cast<int>(parse_number(a, next(), 4096, 1 << 30));
    else die(std::string("unknown option '") + a + "'\n" + kUsage);
  }
  if (o.addrs.empty()) die(std::string("no streams given (--streams or --streams-file)\n") + kUsage);
  if (o.ifname.empty()) die("--interface is required");
  return o;
}

// The IP TTL (IPv6: hop limit) and TOS (traffic class) one datagram arrived with, -1 when not reported.
struct Marks {
  int ttl = -1, tos = -1;
};

// The receiver: one joined socket per stream under one epoll, batches of recvmmsg, and the
// accounting of every datagram by the stream its payload names.
class Sink {
 public:
  explicit Sink(const Options& o);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Receives until the idle timeout, --max-wait or SIGINT/SIGTERM.
  void run();
  // The summary line (reads each socket's drop counter once more).
  std::string report();

 private:
  void progress(uint64_t now);
  void drain(Socket& sock);
  Marks read_marks(msghdr& h, Socket& sock);
  void account(Socket& sock, const uint8_t* data, size_t length, const Marks& marks, uint64_t arrival);
  void write_stream(JsonWriter& w, size_t s) const;

  static constexpr size_t kControl = CMSG_SPACE(sizeof(uint32_t)) + 2 * CMSG_SPACE(sizeof(int));

  const Options& o_;
  int ep_ = -1;
  std::vector<Socket> sockets_;
  std::vector<Stream> streams_;
  LatencyWindows windows_;
  std::vector<uint8_t> buffers_, controls_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  uint64_t foreign_ = 0, unknown_ = 0, total_ = 0;
  uint64_t started_ = 0, last_packet_ = 0, last_progress_ = 0;
  double elapsed_ = 0;
};

Sink::Sink(const Options& o)
    : o_(o), streams_(o.addrs.size()), windows_(static_cast<uint64_t>(o.latency_window_ms * 1e6)), buffers_(kBatch * kSlot), controls_(kBatch * kControl), msgs_(kBatch), iovs_(kBatch) {
  const unsigned ifindex = interface_index(o.ifname);
  streams_family(o.addrs);  // refuses a mix
  install_stop_handlers();
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
  for (uint32_t s = 0; s < o.addrs.size(); ++s) {
    const int fd = open_joined(o.addrs[s], ifindex, o.ifname, o.rcvbuf);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(sockets_.size());
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl for " + stream_text(o.addrs[s]) + ": " + std::strerror(errno));
    sockets_.push_back(Socket{fd, s});
  }
}

Sink::~Sink() {
  for (const Socket& s : sockets_) close(s.fd);
  if (ep_ >= 0) close(ep_);
}

void Sink::run() {
  started_ = last_progress_ = monotonic_ns();
  epoll_event events[64];
  while (!g_stop) {
    const uint64_t now = monotonic_ns();
    if (o_.progress_ms > 0 && static_cast<double>(now - last_progress_) / 1e6 >= o_.progress_ms) progress(now);
    if (last_packet_ && static_cast<double>(now - last_packet_) / 1e6 >= o_.idle_ms) break;
    if (o_.max_wait_ms > 0 && static_cast<double>(now - started_) / 1e6 >= o_.max_wait_ms) break;
    const int n = epoll_wait(ep_, events, 64, 20);
    for (int e = 0; e < n; ++e) drain(sockets_[events[e].data.u32]);
  }
  elapsed_ = static_cast<double>(monotonic_ns() - started_) / 1e9;
}

// --progress: one PROGRESS line on stderr.
void Sink::progress(uint64_t now) {
  last_progress_ = now;
  uint64_t received = 0, unique = 0, expected = 0;
  for (const Stream& st : streams_) {
    received += st.received;
    unique += st.unique;
    expected += static_cast<uint64_t>(st.max_seq + 1);
  }
  std::fprintf(stderr, "PROGRESS {\"t\":%.3f,\"received\":%llu,\"unique\":%llu,\"expected\":%llu}\n", static_cast<double>(now - started_) / 1e9,
               static_cast<unsigned long long>(received), static_cast<unsigned long long>(unique), static_cast<unsigned long long>(expected));
  std::fflush(stderr);
}

// Reads the socket in batches until it has nothing more.
void Sink::drain(Socket& sock) {
  for (;;) {
    for (size_t k = 0; k < kBatch; ++k) {
      iovs_[k] = iovec{&buffers_[k * kSlot], kSlot};
      std::memset(&msgs_[k], 0, sizeof msgs_[k]);
      msgs_[k].msg_hdr.msg_iov = &iovs_[k];
      msgs_[k].msg_hdr.msg_iovlen = 1;
      msgs_[k].msg_hdr.msg_control = &controls_[k * kControl];
      msgs_[k].msg_hdr.msg_controllen = kControl;
    }
    const int r = recvmmsg(sock.fd, msgs_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (r <= 0) return;
    const uint64_t arrival = monotonic_ns();
    last_packet_ = arrival;
    for (size_t k = 0; k < static_cast<size_t>(r); ++k) {
      ++total_;
      const Marks marks = read_marks(msgs_[k].msg_hdr, sock);
      account(sock, &buffers_[k * kSlot], msgs_[k].msg_len, marks, arrival);
    }
    if (static_cast<size_t>(r) < kBatch) return;
  }
}

// The datagram's TTL and TOS; the socket's overflow count travels here too (SO_RXQ_OVFL).
Marks Sink::read_marks(msghdr& h, Socket& sock) {
  Marks m;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) std::memcpy(&sock.overflow, CMSG_DATA(c), sizeof(uint32_t));
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) std::memcpy(&m.ttl, CMSG_DATA(c), sizeof(int));
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) m.tos = *CMSG_DATA(c);  // one byte
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&m.ttl, CMSG_DATA(c), sizeof(int));
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) std::memcpy(&m.tos, CMSG_DATA(c), sizeof(int));
  }
  return m;
}

// One datagram, counted against the stream its payload names.
void Sink::account(Socket& sock, const uint8_t* data, size_t length, const Marks& marks, uint64_t arrival) {
  PayloadHeader p;
  const PayloadStatus status = read_payload(data, length, o_.run_id, &p);
  if (status == PayloadStatus::foreign) { ++foreign_; return; }
  if (status == PayloadStatus::corrupted) {
    // The header may be damaged too: credit the socket's stream.
    ++streams_[sock.stream_index].received;
    ++streams_[sock.stream_index].corrupted;
    return;
  }
  if (p.stream == 0 || p.stream > streams_.size() || p.seq >= kMaxSeq) { ++unknown_; return; }
  Stream& st = streams_[p.stream - 1];
  if (!st.first_arrival) st.first_arrival = arrival;
  st.last_arrival = arrival;
  if (p.flags & kFlagWarmup) { ++st.warmup; return; }
  ++st.received;
  if (marks.ttl >= 0) st.ttl_min = std::min(st.ttl_min, marks.ttl), st.ttl_max = std::max(st.ttl_max, marks.ttl);
  if (marks.tos >= 0) st.tos_min = std::min(st.tos_min, marks.tos), st.tos_max = std::max(st.tos_max, marks.tos);
  if (p.stream - 1 != sock.stream_index) ++st.misdelivered;
  if (!st.mark(p.seq)) { ++st.duplicates; return; }
  ++st.unique;
  if (static_cast<int64_t>(p.seq) < st.max_seq) ++st.reordered;  // RFC 4737: arrived after a later one
  else st.max_seq = static_cast<int64_t>(p.seq);
  const uint64_t latency = arrival > p.tx_ns ? arrival - p.tx_ns : 0;
  st.latency.add(latency);
  windows_.add(p.tx_ns, latency);
}

void Sink::write_stream(JsonWriter& w, size_t s) const {
  const Stream& st = streams_[s];
  uint64_t gap_runs = 0, longest_gap = 0;
  st.gaps(&gap_runs, &longest_gap);
  w.begin_object().field("stream", s + 1).field("group", o_.addrs[s].group).field("port", o_.addrs[s].port);
  w.field("received", st.received).field("unique", st.unique).field("duplicates", st.duplicates).field("reordered", st.reordered);
  w.field("corrupted", st.corrupted).field("maxSeq", st.max_seq).field("warmup", st.warmup).field("misdelivered", st.misdelivered);
  w.field("overflowDrops", sockets_[s].overflow).field("firstArrivalNs", st.first_arrival).field("lastArrivalNs", st.last_arrival);
  w.field("gaps", gap_runs).field("longestGap", longest_gap);
  // Left out when nothing reported them.
  if (st.ttl_max >= 0) w.key("ttl").begin_object().field("min", st.ttl_min).field("max", st.ttl_max).end_object();
  if (st.tos_max >= 0) w.key("tos").begin_object().field("min", st.tos_min).field("max", st.tos_max).end_object();
  const Histogram& h = st.latency;
  w.key("latencyNs").begin_object().field("p50", h.quantile(0.5)).field("p90", h.quantile(0.9)).field("p99", h.quantile(0.99));
  w.field("p999", h.quantile(0.999)).field("max", h.max()).key("mean").fixed(h.mean(), 0).end_object();
  w.end_object();
}

std::string Sink::report() {
  uint64_t overflow = 0;
  for (Socket& s : sockets_) {
    s.overflow = std::max(s.overflow, socket_drops(s.fd));
    overflow += s.overflow;
  }
  JsonWriter w;
  w.begin_object().field("runId", o_.run_id).key("streams").begin_array();
  for (size_t s = 0; s < streams_.size(); ++s) write_stream(w, s);
  w.end_array();
  w.field("foreign", foreign_).field("unknownStream", unknown_).field("overflowDrops", overflow).field("datagrams", total_);
  w.key("elapsedSec").fixed(elapsed_, 3).field("cpus", affinity_list());
  windows_.write(w);
  return w.end_object().text();
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_args(argc, argv);
  Sink sink(o);
  std::fprintf(stderr, "READY\n");
  std::fflush(stderr);
  sink.run();
  std::puts(sink.report().c_str());
  return 0;
}
