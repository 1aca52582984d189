// mcr-gen: paced multicast traffic for many streams from one process, every packet carrying the
// MCR payload (run id, stream, sequence, CLOCK_MONOTONIC send time, check).
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "common.h"
#include "payload.h"

using namespace mcr;

namespace {

const char* kUsage = R"(mcr-gen: send paced, sequence-numbered multicast test traffic.
  --streams G:P[,G:P...]   streams (stream id = position, from 1)
  --streams-file FILE      one G:P per line (for many streams)
  --interface IF           send through this interface (required)
  --rate PPS               per-stream rate, 0 = as fast as possible (default 1000)
  --aggregate-rate PPS     total rate over all streams (instead of --rate)
  --count N                packets per stream (default 1000)
  --duration S             send for S seconds instead of --count (with --rate 0: until then)
  --size BYTES             UDP payload size, 40..1472 (default 512)
  --ttl N                  multicast TTL (default 8)
  --run-id N               run id written into every packet (default 1)
  --batch N                sendmmsg batch size, 1..256 (default 32)
  --warmup N               packets per stream sent first, flagged warm-up (default 0)
  --fault KIND:K           dup|swap|corrupt|skip every K-th packet of each stream (tests the sink;
                           reorder:K = swap:K). K >= 2. Counted in "faults" when the kernel accepted them.
  --dump N                 send nothing: print N payloads of stream 1 (seq 0..N-1) as hex lines
                           (with --size, --run-id; for checking other decoders)
Prints one JSON summary line on stdout; stops early (and still prints) on SIGINT/SIGTERM,
after completing the current round over the streams (and an open swap pair).
)";

enum class Fault { none, dup, swap, corrupt, skip };

struct StreamState {
  uint64_t sent = 0;         // measured packets accepted by the kernel
  uint64_t warmup_sent = 0;  // warm-up packets accepted
  uint64_t warmup_errors = 0;
  uint64_t sequenced = 0;  // measured sequence numbers used (sent, failed or skipped)
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  std::map<int, uint64_t> errors;  // measured packets the kernel refused, by errno
};

// What a queued message is, for the counters once the kernel accepted or refused it.
enum class Slot : uint8_t { measured, warmup, dup_copy, swapped, corrupted };

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

}  // namespace

int main(int argc, char** argv) {
  std::vector<StreamAddr> streams;
  std::string ifname;
  double rate = 1000, aggregate = -1, duration = -1;
  uint64_t count = 1000, warmup = 0;
  size_t size = 512, batch = 32;
  int ttl = 8;
  uint32_t run_id = 1;
  Fault fault = Fault::none;
  uint64_t fault_k = 0;
  uint64_t dump = 0;

  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto next = [&] { ++i; return v; };
    if (a == "--help" || a == "-h") { std::fputs(kUsage, stdout); return 0; }
    else if (a == "--streams") { if (!v) die("--streams needs a value"); add_stream_list(next(), &streams); }
    else if (a == "--streams-file") { if (!v) die("--streams-file needs a value"); add_stream_file(next(), &streams); }
    else if (a == "--interface") { if (!v) die("--interface needs a value"); ifname = next(); }
    else if (a == "--rate") rate = parse_number(a, next(), 0, 1e8);
    else if (a == "--aggregate-rate") aggregate = parse_number(a, next(), 1, 1e8);
    else if (a == "--count") count = static_cast<uint64_t>(parse_number(a, next(), 1, 1e12));
    else if (a == "--duration") duration = parse_number(a, next(), 0.001, 1e6);
    else if (a == "--size") size = static_cast<size_t>(parse_number(a, next(), kHeaderSize, kMaxPayload));
    else if (a == "--ttl") ttl = static_cast<int>(parse_number(a, next(), 1, 255));
    else if (a == "--run-id") run_id = static_cast<uint32_t>(parse_number(a, next(), 0, 4294967295.0));
    else if (a == "--batch") batch = static_cast<size_t>(parse_number(a, next(), 1, 256));
    else if (a == "--warmup") warmup = static_cast<uint64_t>(parse_number(a, next(), 0, 1e9));
    else if (a == "--fault") {
      if (!v) die("--fault needs KIND:K");
      const std::string f = next();
      const size_t colon = f.find(':');
      const std::string kind = f.substr(0, colon);
      if (kind == "dup") fault = Fault::dup;
      else if (kind == "swap" || kind == "reorder") fault = Fault::swap;
      else if (kind == "corrupt") fault = Fault::corrupt;
      else if (kind == "skip") fault = Fault::skip;
      else die("--fault '" + f + "': kind must be dup, swap, corrupt or skip");
      fault_k = colon == std::string::npos ? 0 : static_cast<uint64_t>(parse_number("--fault", f.c_str() + colon + 1, 2, 1e9));
      if (fault_k == 0) die("--fault '" + f + "' needs K >= 2, e.g. dup:100");
    } else if (a == "--dump") dump = static_cast<uint64_t>(parse_number(a, next(), 1, 1e6));
    else die(std::string("unknown option '") + a + "'\n" + kUsage);
  }
  if (dump > 0) {
    std::vector<uint8_t> buf(size);
    for (uint64_t seq = 0; seq < dump; ++seq) {
      write_payload(buf.data(), size, PayloadHeader{0, run_id, 1, seq, monotonic_ns(), static_cast<uint32_t>(size)});
      std::string line;
      char hex[3];
      for (uint8_t b : buf) { std::snprintf(hex, sizeof hex, "%02x", b); line += hex; }
      std::puts(line.c_str());
    }
    return 0;
  }
  if (streams.empty()) die(std::string("no streams given (--streams or --streams-file)\n") + kUsage);
  if (ifname.empty()) die("--interface is required");
  const size_t n_streams = streams.size();
  const double total_rate = aggregate > 0 ? aggregate : rate * static_cast<double>(n_streams);
  uint64_t deadline_ns = 0;  // --duration without a rate: send until then
  if (duration > 0) {
    if (total_rate > 0) {
      count = static_cast<uint64_t>(std::llround(duration * total_rate / static_cast<double>(n_streams)));
      if (count == 0) count = 1;
    } else {
      count = 1ull << 40;
      deadline_ns = monotonic_ns() + static_cast<uint64_t>(duration * 1e9);
    }
  }

  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(std::string("socket: ") + std::strerror(errno));
  ip_mreqn mreq{};
  mreq.imr_ifindex = static_cast<int>(interface_index(ifname));
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof mreq) < 0) die("IP_MULTICAST_IF " + ifname + ": " + std::strerror(errno));
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  int loop = 0;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  int sndbuf = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  install_stop_handlers();

  std::vector<StreamState> state(n_streams);
  // Room for a batch plus the extra copies a dup fault adds.
  const size_t slots = batch * 2;
  std::vector<uint8_t> buffers(slots * size);
  std::vector<mmsghdr> msgs(slots);
  std::vector<iovec> iovs(slots);
  std::vector<uint32_t> owner(slots);
  std::vector<Slot> kind(slots);
  uint64_t faults_dup = 0, faults_swap = 0, faults_corrupt = 0, faults_skip = 0;

  // Position j of a stream's measured packets -> the sequence number sent there (swap fault).
  auto seq_at = [&](uint64_t j) -> uint64_t {
    if (fault != Fault::swap) return j;
    const uint64_t r = j % fault_k;
    if (r == fault_k - 2 && j + 1 < count) return j + 1;
    if (r == fault_k - 1 && j >= 1 && (j - 1) % fault_k == fault_k - 2) return j - 1;
    return j;
  };

  const uint64_t per_stream = warmup + count;
  uint64_t total = per_stream * n_streams;
  double ns_per_packet = total_rate > 0 ? 1e9 / total_rate : 0;
  const uint64_t t0 = monotonic_ns() + 1000000;
  uint64_t i = 0;
  const uint64_t started = monotonic_ns();
  bool stopping = false;

  while (i < total) {
    const uint64_t now = monotonic_ns();
    if (!stopping && (g_stop || (deadline_ns && now >= deadline_ns))) {
      // Stop cleanly: finish the current round so every stream used the same positions, plus one
      // more when that round opened a swap pair; send the rest now.
      stopping = true;
      uint64_t pos = (i + n_streams - 1) / n_streams;
      if (fault == Fault::swap && pos > warmup && (pos - 1 - warmup) % fault_k == fault_k - 2) ++pos;
      total = std::min(total, pos * n_streams);
      ns_per_packet = 0;
      continue;
    }
    uint64_t due = total;
    if (ns_per_packet > 0) {
      if (now < t0) { due = 0; }
      else due = std::min<uint64_t>(total, static_cast<uint64_t>(static_cast<double>(now - t0) / ns_per_packet) + 1);
    }
    if (due <= i) {
      // Ahead of schedule: sleep until packet i is due (absolute time, so no drift).
      const uint64_t at = t0 + static_cast<uint64_t>(static_cast<double>(i) * ns_per_packet);
      timespec ts{static_cast<time_t>(at / 1000000000ull), static_cast<long>(at % 1000000000ull)};
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
      continue;
    }
    const uint64_t take = std::min<uint64_t>(due - i, batch);
    size_t m = 0;
    for (uint64_t k = 0; k < take; ++k, ++i) {
      const uint32_t s = static_cast<uint32_t>(i % n_streams);
      const uint64_t pos = i / n_streams;
      const bool is_warmup = pos < warmup;
      const uint64_t j = is_warmup ? pos : pos - warmup;
      const uint64_t seq = is_warmup ? pos : seq_at(j);
      if (!is_warmup) ++state[s].sequenced;
      if (!is_warmup && fault == Fault::skip && j % fault_k == fault_k - 1) { ++faults_skip; continue; }
      uint8_t* buf = &buffers[m * size];
      write_payload(buf, size, PayloadHeader{static_cast<uint8_t>(is_warmup ? kFlagWarmup : 0), run_id, s + 1, seq, monotonic_ns(), static_cast<uint32_t>(size)});
      owner[m] = s;
      kind[m] = is_warmup ? Slot::warmup : Slot::measured;
      if (!is_warmup && fault == Fault::swap && j % fault_k == fault_k - 2 && j + 1 < count) kind[m] = Slot::swapped;
      if (!is_warmup && fault == Fault::corrupt && j % fault_k == fault_k - 1) {
        buf[size - 1] ^= 0x5a;  // after the check was computed
        kind[m] = Slot::corrupted;
      }
      ++m;
      if (!is_warmup && fault == Fault::dup && j % fault_k == fault_k - 1) {
        std::memcpy(&buffers[m * size], buf, size);
        owner[m] = s;
        kind[m] = Slot::dup_copy;
        ++m;
      }
    }
    for (size_t k = 0; k < m; ++k) {
      iovs[k] = iovec{&buffers[k * size], size};
      std::memset(&msgs[k], 0, sizeof msgs[k]);
      msgs[k].msg_hdr.msg_name = &streams[owner[k]].addr;
      msgs[k].msg_hdr.msg_namelen = sizeof(sockaddr_in);
      msgs[k].msg_hdr.msg_iov = &iovs[k];
      msgs[k].msg_hdr.msg_iovlen = 1;
    }
    size_t off = 0;
    while (off < m) {
      const int r = sendmmsg(fd, msgs.data() + off, static_cast<unsigned>(m - off), 0);
      const uint64_t stamp = monotonic_ns();
      if (r < 0) {
        if (errno == EINTR) continue;
        // The first message was refused: count it and go on with the rest.
        StreamState& st = state[owner[off]];
        if (kind[off] == Slot::warmup) ++st.warmup_errors;
        else if (kind[off] != Slot::dup_copy) st.errors[errno]++;
        ++off;
        continue;
      }
      for (size_t k = off; k < off + static_cast<size_t>(r); ++k) {
        StreamState& st = state[owner[k]];
        switch (kind[k]) {
          case Slot::dup_copy: ++faults_dup; continue;  // an extra copy is not a sent packet
          case Slot::warmup: ++st.warmup_sent; break;
          case Slot::swapped: ++faults_swap; ++st.sent; break;
          case Slot::corrupted: ++faults_corrupt; ++st.sent; break;
          case Slot::measured: ++st.sent; break;
        }
        if (st.first_ns == 0) st.first_ns = stamp;
        st.last_ns = stamp;
      }
      off += static_cast<size_t>(r);
    }
  }
  const double elapsed = static_cast<double>(monotonic_ns() - started) / 1e9;

  // Summary: "sent" counts measured packets the kernel accepted (warm-up excluded).
  std::string out = "{\"runId\":" + std::to_string(run_id) + ",\"size\":" + std::to_string(size) + ",\"warmup\":" + std::to_string(warmup) + ",\"streams\":[";
  uint64_t total_sent = 0;
  for (size_t s = 0; s < n_streams; ++s) {
    const StreamState& st = state[s];
    uint64_t errors = 0;
    std::string errs = "{";
    for (const auto& kv : st.errors) {
      const char* name = errno_name(kv.first);
      errs += (errs.size() > 1 ? "," : "") + std::string("\"") + (name ? name : ("E" + std::to_string(kv.first)).c_str()) + "\":" + std::to_string(kv.second);
      errors += kv.second;
    }
    errs += "}";
    total_sent += st.sent;
    // firstSendNs/lastSendNs/rate cover everything the stream sent, warm-up included.
    const uint64_t all = st.sent + st.warmup_sent;
    const double span = st.last_ns > st.first_ns ? static_cast<double>(st.last_ns - st.first_ns) / 1e9 : 0;
    char rate_text[64];
    std::snprintf(rate_text, sizeof rate_text, "%.1f", span > 0 && all > 1 ? static_cast<double>(all - 1) / span : 0.0);
    out += (s ? "," : "") + std::string("{\"stream\":") + std::to_string(s + 1) + ",\"group\":\"" + json_escape(streams[s].group) + "\",\"port\":" + std::to_string(streams[s].port) +
           ",\"sent\":" + std::to_string(st.sent) + ",\"sequenced\":" + std::to_string(st.sequenced) + ",\"errors\":" + errs + ",\"errorCount\":" + std::to_string(errors) +
           ",\"warmupSent\":" + std::to_string(st.warmup_sent) + ",\"warmupErrors\":" + std::to_string(st.warmup_errors) + ",\"firstSendNs\":" + std::to_string(st.first_ns) +
           ",\"lastSendNs\":" + std::to_string(st.last_ns) + ",\"rate\":" + rate_text + "}";
  }
  char tail[256];
  std::snprintf(tail, sizeof tail, "],\"totalSent\":%llu,\"elapsedSec\":%.3f,\"interrupted\":%s,\"faults\":{\"dup\":%llu,\"swap\":%llu,\"corrupt\":%llu,\"skip\":%llu}}",
                static_cast<unsigned long long>(total_sent), elapsed, g_stop ? "true" : "false", static_cast<unsigned long long>(faults_dup),
                static_cast<unsigned long long>(faults_swap), static_cast<unsigned long long>(faults_corrupt), static_cast<unsigned long long>(faults_skip));
  out += tail;
  std::puts(out.c_str());
  close(fd);
  return 0;
}
