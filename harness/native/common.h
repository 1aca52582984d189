// Command-line pieces shared by mcr-gen and mcr-sink: stream lists, numbers, signals, the CPUs
// they run on.
#pragma once
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mcr {

[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(2);
}

// One stream: IPv4 "239.1.1.1:5000" or IPv6 "[ff15::1:1]:5000" (brackets, as in URLs).
struct StreamAddr {
  std::string group;  // the address alone, without brackets
  uint16_t port;
  int family;  // AF_INET or AF_INET6
  union {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } addr;
  socklen_t addr_len;
};

inline StreamAddr parse_stream(const std::string& text) {
  StreamAddr s;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') die("stream '" + text + "' must look like [GROUP]:PORT");
    s.group = text.substr(1, close - 1);
    port = text.substr(close + 2);
    s.family = AF_INET6;
  } else {
    const size_t colon = text.find(':');
    if (colon == std::string::npos) die("stream '" + text + "' must look like GROUP:PORT (IPv6: [GROUP]:PORT)");
    if (text.find(':', colon + 1) != std::string::npos) die("stream '" + text + "': an IPv6 group goes in brackets, e.g. [ff15::1:1]:5000");
    s.group = text.substr(0, colon);
    port = text.substr(colon + 1);
    s.family = AF_INET;
  }
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 1 || p > 65535) die("stream '" + text + "': port out of range (1-65535)");
  s.port = static_cast<uint16_t>(p);
  std::memset(&s.addr, 0, sizeof s.addr);
  if (s.family == AF_INET) {
    s.addr.v4.sin_family = AF_INET;
    s.addr.v4.sin_port = htons(s.port);
    s.addr_len = sizeof(sockaddr_in);
    if (inet_pton(AF_INET, s.group.c_str(), &s.addr.v4.sin_addr) != 1 || !IN_MULTICAST(ntohl(s.addr.v4.sin_addr.s_addr))) {
      die("stream '" + text + "': '" + s.group + "' is not an IPv4 multicast group");
    }
  } else {
    s.addr.v6.sin6_family = AF_INET6;
    s.addr.v6.sin6_port = htons(s.port);
    s.addr_len = sizeof(sockaddr_in6);
    if (inet_pton(AF_INET6, s.group.c_str(), &s.addr.v6.sin6_addr) != 1 || !IN6_IS_ADDR_MULTICAST(&s.addr.v6.sin6_addr)) {
      die("stream '" + text + "': '" + s.group + "' is not an IPv6 multicast group (ff00::/8)");
    }
  }
  return s;
}

// "[ff15::1:1]:5000" or "239.1.1.1:5000", for messages.
inline std::string stream_text(const StreamAddr& s) {
  return (s.family == AF_INET6 ? "[" + s.group + "]" : s.group) + ":" + std::to_string(s.port);
}

// One run sends and receives one family: its sockets, options and control messages are per family.
inline int streams_family(const std::vector<StreamAddr>& streams) {
  for (const StreamAddr& s : streams) {
    if (s.family != streams.front().family) {
      die("streams mix IPv4 and IPv6 (" + stream_text(streams.front()) + " and " + stream_text(s) + "): all streams of one run must be one family");
    }
  }
  return streams.empty() ? AF_INET : streams.front().family;
}

inline void add_stream_list(const std::string& list, std::vector<StreamAddr>* out) {
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out->push_back(parse_stream(item));
  }
}

inline void add_stream_file(const std::string& path, std::vector<StreamAddr>* out) {
  std::ifstream in(path);
  if (!in) die("cannot read streams file '" + path + "'");
  std::string line;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    out->push_back(parse_stream(line.substr(start, line.find_last_not_of(" \t\r") - start + 1)));
  }
}

inline double parse_number(const std::string& flag, const char* value, double min, double max) {
  if (value == nullptr) die(flag + " needs a value");
  char* end = nullptr;
  const double v = std::strtod(value, &end);
  if (*value == '\0' || *end != '\0' || v < min || v > max) die(flag + " '" + value + "' must be a number from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

inline unsigned interface_index(const std::string& name) {
  const unsigned index = if_nametoindex(name.c_str());
  if (index == 0) die("unknown interface '" + name + "'");
  return index;
}

// The CPUs this process may run on, written as /proc's Cpus_allowed_list ("0-1", "0,2"): the
// summary records it, so a run placed with --cpus shows where the instrument really ran.
inline std::string affinity_list() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return "";
  std::string out;
  for (int c = 0; c < CPU_SETSIZE;) {
    if (!CPU_ISSET(c, &set)) { ++c; continue; }
    int last = c;
    while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
    out += (out.empty() ? "" : ",") + std::to_string(c) + (last > c ? "-" + std::to_string(last) : "");
    c = last + 1;
  }
  return out;
}

inline volatile std::sig_atomic_t g_stop = 0;

inline void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace mcr
