// Command-line pieces shared by mcr-gen and mcr-sink: stream lists, numbers, signals.
#pragma once
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>

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

struct StreamAddr {
  std::string group;
  uint16_t port;
  sockaddr_in addr;
};

[[noreturn]] inline void die(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(2);
}

inline StreamAddr parse_stream(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) die("stream '" + text + "' must look like GROUP:PORT");
  StreamAddr s;
  s.group = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  char* end = nullptr;
  const long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 1 || p > 65535) die("stream '" + text + "': port out of range (1-65535)");
  s.port = static_cast<uint16_t>(p);
  std::memset(&s.addr, 0, sizeof s.addr);
  s.addr.sin_family = AF_INET;
  s.addr.sin_port = htons(s.port);
  if (inet_pton(AF_INET, s.group.c_str(), &s.addr.sin_addr) != 1 || !IN_MULTICAST(ntohl(s.addr.sin_addr.s_addr))) {
    die("stream '" + text + "': '" + s.group + "' is not a multicast group");
  }
  return s;
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

inline volatile std::sig_atomic_t g_stop = 0;

inline void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

inline std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace mcr
