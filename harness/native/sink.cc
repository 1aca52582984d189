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

}  // namespace

int main(int argc, char** argv) {
  std::vector<StreamAddr> addrs;
  std::string ifname;
  uint32_t run_id = 1;
  double idle_ms = 2000, max_wait_ms = 0;
  int rcvbuf = 8 << 20;
  double progress_ms = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto next = [&] { ++i; return v; };
    if (a == "--help" || a == "-h") { std::fputs(kUsage, stdout); return 0; }
    else if (a == "--streams") { if (!v) die("--streams needs a value"); add_stream_list(next(), &addrs); }
    else if (a == "--streams-file") { if (!v) die("--streams-file needs a value"); add_stream_file(next(), &addrs); }
    else if (a == "--interface") { if (!v) die("--interface needs a value"); ifname = next(); }
    else if (a == "--run-id") run_id = static_cast<uint32_t>(parse_number(a, next(), 0, 4294967295.0));
    else if (a == "--idle-timeout") idle_ms = parse_number(a, next(), 1, 3.6e6);
    else if (a == "--max-wait") max_wait_ms = parse_number(a, next(), 0, 3.6e7);
    else if (a == "--progress") progress_ms = parse_number(a, next(), 100, 3.6e6);
    else if (a == "--rcvbuf") rcvbuf = static_cast<int>(parse_number(a, next(), 4096, 1 << 30));
    else die(std::string("unknown option '") + a + "'\n" + kUsage);
  }
  if (addrs.empty()) die(std::string("no streams given (--streams or --streams-file)\n") + kUsage);
  if (ifname.empty()) die("--interface is required");
  const unsigned ifindex = interface_index(ifname);
  streams_family(addrs);  // refuses a mix
  install_stop_handlers();

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
  std::vector<Socket> sockets;
  std::vector<Stream> streams(addrs.size());
  for (uint32_t s = 0; s < addrs.size(); ++s) {
    const int fd = open_joined(addrs[s], ifindex, ifname, rcvbuf);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(sockets.size());
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die(std::string("epoll_ctl: ") + std::strerror(errno));
    sockets.push_back(Socket{fd, s});
  }
  std::fprintf(stderr, "READY\n");
  std::fflush(stderr);

  std::vector<uint8_t> buffers(kBatch * kSlot);
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<iovec> iovs(kBatch);
  constexpr size_t kControl = CMSG_SPACE(sizeof(uint32_t)) + 2 * CMSG_SPACE(sizeof(int));
  std::vector<uint8_t> controls(kBatch * kControl);
  uint64_t foreign = 0, unknown = 0, total = 0;
  const uint64_t started = monotonic_ns();
  uint64_t last_packet = 0;
  epoll_event events[64];

  uint64_t last_progress = started;
  while (!g_stop) {
    const uint64_t now = monotonic_ns();
    if (progress_ms > 0 && static_cast<double>(now - last_progress) / 1e6 >= progress_ms) {
      last_progress = now;
      uint64_t received = 0, unique = 0, expected = 0;
      for (const Stream& st : streams) {
        received += st.received;
        unique += st.unique;
        expected += static_cast<uint64_t>(st.max_seq + 1);
      }
      std::fprintf(stderr, "PROGRESS {\"t\":%.3f,\"received\":%llu,\"unique\":%llu,\"expected\":%llu}\n", static_cast<double>(now - started) / 1e9,
                   static_cast<unsigned long long>(received), static_cast<unsigned long long>(unique), static_cast<unsigned long long>(expected));
      std::fflush(stderr);
    }
    if (last_packet && static_cast<double>(now - last_packet) / 1e6 >= idle_ms) break;
    if (max_wait_ms > 0 && static_cast<double>(now - started) / 1e6 >= max_wait_ms) break;
    const int n = epoll_wait(ep, events, 64, 20);
    for (int e = 0; e < n; ++e) {
      Socket& sock = sockets[events[e].data.u32];
      for (;;) {
        for (size_t k = 0; k < kBatch; ++k) {
          iovs[k] = iovec{&buffers[k * kSlot], kSlot};
          std::memset(&msgs[k], 0, sizeof msgs[k]);
          msgs[k].msg_hdr.msg_iov = &iovs[k];
          msgs[k].msg_hdr.msg_iovlen = 1;
          msgs[k].msg_hdr.msg_control = &controls[k * kControl];
          msgs[k].msg_hdr.msg_controllen = kControl;
        }
        const int r = recvmmsg(sock.fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (r <= 0) break;
        const uint64_t arrival = monotonic_ns();
        last_packet = arrival;
        for (int k = 0; k < r; ++k) {
          ++total;
          msghdr& h = msgs[static_cast<size_t>(k)].msg_hdr;
          int ttl = -1, tos = -1;
          for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) std::memcpy(&sock.overflow, CMSG_DATA(c), sizeof(uint32_t));
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) std::memcpy(&ttl, CMSG_DATA(c), sizeof(int));
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) tos = *CMSG_DATA(c);  // one byte
            if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT) std::memcpy(&ttl, CMSG_DATA(c), sizeof(int));
            if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) std::memcpy(&tos, CMSG_DATA(c), sizeof(int));
          }
          const uint8_t* data = &buffers[static_cast<size_t>(k) * kSlot];
          PayloadHeader p;
          const PayloadStatus status = read_payload(data, msgs[static_cast<size_t>(k)].msg_len, run_id, &p);
          if (status == PayloadStatus::foreign) { ++foreign; continue; }
          if (status == PayloadStatus::corrupted) {
            // The header may be damaged too: credit the socket's stream.
            ++streams[sock.stream_index].received;
            ++streams[sock.stream_index].corrupted;
            continue;
          }
          if (p.stream == 0 || p.stream > streams.size() || p.seq >= kMaxSeq) { ++unknown; continue; }
          Stream& st = streams[p.stream - 1];
          if (!st.first_arrival) st.first_arrival = arrival;
          st.last_arrival = arrival;
          if (p.flags & kFlagWarmup) { ++st.warmup; continue; }
          ++st.received;
          if (ttl >= 0) st.ttl_min = std::min(st.ttl_min, ttl), st.ttl_max = std::max(st.ttl_max, ttl);
          if (tos >= 0) st.tos_min = std::min(st.tos_min, tos), st.tos_max = std::max(st.tos_max, tos);
          if (p.stream - 1 != sock.stream_index) ++st.misdelivered;
          if (!st.mark(p.seq)) { ++st.duplicates; continue; }
          ++st.unique;
          if (static_cast<int64_t>(p.seq) < st.max_seq) ++st.reordered;  // RFC 4737: arrived after a later one
          else st.max_seq = static_cast<int64_t>(p.seq);
          st.latency.add(arrival > p.tx_ns ? arrival - p.tx_ns : 0);
        }
        if (static_cast<size_t>(r) < kBatch) break;
      }
    }
  }
  const double elapsed = static_cast<double>(monotonic_ns() - started) / 1e9;

  uint64_t overflow = 0;
  for (Socket& s : sockets) {
    s.overflow = std::max(s.overflow, socket_drops(s.fd));
    overflow += s.overflow;
  }
  std::string out = "{\"runId\":" + std::to_string(run_id) + ",\"streams\":[";
  for (size_t s = 0; s < streams.size(); ++s) {
    const Stream& st = streams[s];
    const Histogram& h = st.latency;
    char lat[256];
    std::snprintf(lat, sizeof lat, "{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu,\"mean\":%.0f}", static_cast<unsigned long long>(h.quantile(0.5)),
                  static_cast<unsigned long long>(h.quantile(0.9)), static_cast<unsigned long long>(h.quantile(0.99)), static_cast<unsigned long long>(h.quantile(0.999)),
                  static_cast<unsigned long long>(h.max()), h.mean());
    uint64_t gap_runs = 0, longest_gap = 0;
    st.gaps(&gap_runs, &longest_gap);
    out += (s ? "," : "") + std::string("{\"stream\":") + std::to_string(s + 1) + ",\"group\":\"" + json_escape(addrs[s].group) + "\",\"port\":" + std::to_string(addrs[s].port) +
           ",\"received\":" + std::to_string(st.received) + ",\"unique\":" + std::to_string(st.unique) + ",\"duplicates\":" + std::to_string(st.duplicates) +
           ",\"reordered\":" + std::to_string(st.reordered) + ",\"corrupted\":" + std::to_string(st.corrupted) + ",\"maxSeq\":" + std::to_string(st.max_seq) +
           ",\"warmup\":" + std::to_string(st.warmup) + ",\"misdelivered\":" + std::to_string(st.misdelivered) + ",\"overflowDrops\":" + std::to_string(sockets[s].overflow) + ",\"firstArrivalNs\":" + std::to_string(st.first_arrival) + ",\"lastArrivalNs\":" + std::to_string(st.last_arrival) + ",\"gaps\":" + std::to_string(gap_runs) + ",\"longestGap\":" + std::to_string(longest_gap) +
           (st.ttl_max < 0 ? std::string() : ",\"ttl\":{\"min\":" + std::to_string(st.ttl_min) + ",\"max\":" + std::to_string(st.ttl_max) + "}") +
           (st.tos_max < 0 ? std::string() : ",\"tos\":{\"min\":" + std::to_string(st.tos_min) + ",\"max\":" + std::to_string(st.tos_max) + "}") +
           ",\"latencyNs\":" + lat + "}";
  }
  char tail[200];
  std::snprintf(tail, sizeof tail, "],\"foreign\":%llu,\"unknownStream\":%llu,\"overflowDrops\":%llu,\"datagrams\":%llu,\"elapsedSec\":%.3f}", static_cast<unsigned long long>(foreign),
                static_cast<unsigned long long>(unknown), static_cast<unsigned long long>(overflow), static_cast<unsigned long long>(total), elapsed);
  out += tail;
  std::puts(out.c_str());
  for (const Socket& s : sockets) close(s.fd);
  close(ep);
  return 0;
}
