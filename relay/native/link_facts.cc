#include "link_facts.h"

#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mcr {

namespace {

constexpr unsigned kFlagDadFailed = 0x08;  // IFA_F_DADFAILED
constexpr unsigned kFlagTentative = 0x40;  // IFA_F_TENTATIVE
constexpr unsigned kScopeGlobal = 0x00;
constexpr unsigned kScopeLink = 0x20;  // IPV6_ADDR_LINKLOCAL as /proc shows it

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads one whitespace-delimited hex field of at most max_digits; false when there is none.
bool hex_field(const char*& p, const char* end, unsigned long* value, int max_digits) {
  while (p < end && (*p == ' ' || *p == '\t')) ++p;
  unsigned long v = 0;
  int digits = 0;
  for (int d; p < end && (d = hex_digit(*p)) >= 0; ++p) {
    if (++digits > max_digits) return false;
    v = v << 4 | static_cast<unsigned long>(d);
  }
  *value = v;
  return digits > 0;
}

bool std_error(std::string* error, const std::string& what) {
  *error = what + ": " + std::strerror(errno);
  return false;
}

}  // namespace

bool same_link_facts(const LinkFacts& a, const LinkFacts& b) {
  return a.ethernet == b.ethernet && std::memcmp(a.mac, b.mac, sizeof a.mac) == 0 && a.mtu == b.mtu && a.has_source4 == b.has_source4 &&
         a.source4 == b.source4 && a.has_source6 == b.has_source6 && std::memcmp(a.source6, b.source6, sizeof a.source6) == 0 &&
         a.has_link_local6 == b.has_link_local6 && std::memcmp(a.link_local6, b.link_local6, sizeof a.link_local6) == 0;
}

void parse_if_inet6(const char* text, size_t length, unsigned ifindex, LinkFacts* out) {
  const char* end = text + length;
  for (const char* line = text; line < end;) {
    const char* eol = static_cast<const char*>(std::memchr(line, '\n', static_cast<size_t>(end - line)));
    if (!eol) eol = end;
    const char* p = line;
    uint8_t address[16];
    bool ok = eol - p >= 32;
    for (int i = 0; ok && i < 16; ++i) {
      const int hi = hex_digit(p[2 * i]), lo = hex_digit(p[2 * i + 1]);
      ok = hi >= 0 && lo >= 0;
      address[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    unsigned long index = 0, prefix = 0, scope = 0, flags = 0;
    if (ok) {
      p += 32;
      ok = hex_field(p, eol, &index, 8) && hex_field(p, eol, &prefix, 2) && hex_field(p, eol, &scope, 2) && hex_field(p, eol, &flags, 8);
    }
    if (ok && index == ifindex && !(flags & (kFlagTentative | kFlagDadFailed))) {
      if (scope == kScopeGlobal && !out->has_source6) {
        std::memcpy(out->source6, address, 16);
        out->has_source6 = true;
      } else if (scope == kScopeLink && !out->has_link_local6) {
        std::memcpy(out->link_local6, address, 16);
        out->has_link_local6 = true;
      }
    }
    line = eol + 1;
  }
}

bool read_link_facts(unsigned ifindex, LinkFacts* out, std::string* error) {
  LinkFacts facts;
  ifreq ifr{};
  if (!if_indextoname(ifindex, ifr.ifr_name)) return std_error(error, "interface index " + std::to_string(ifindex));
  const std::string name = ifr.ifr_name;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std_error(error, name + ": socket for ioctls");
  bool ok = true;
  if (::ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    ok = std_error(error, name + ": SIOCGIFHWADDR");
  } else {
    facts.ethernet = ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
    std::memcpy(facts.mac, ifr.ifr_hwaddr.sa_data, 6);
  }
  if (ok && ::ioctl(fd, SIOCGIFMTU, &ifr) < 0) ok = std_error(error, name + ": SIOCGIFMTU");
  if (ok) facts.mtu = static_cast<unsigned>(ifr.ifr_mtu);
  if (ok) {
    ifr.ifr_addr.sa_family = AF_INET;
    if (::ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
      facts.has_source4 = true;
      facts.source4 = reinterpret_cast<const sockaddr_in*>(&ifr.ifr_addr)->sin_addr.s_addr;
    } else if (errno != EADDRNOTAVAIL) {
      ok = std_error(error, name + ": SIOCGIFADDR");
    }
  }
  ::close(fd);
  if (!ok) return false;
  // IPv6 may be disabled (no file): then the interface simply has no IPv6 source.
  const int f = ::open("/proc/net/if_inet6", O_RDONLY | O_CLOEXEC);
  if (f >= 0) {
    // Read in chunks, parsing the whole lines of each: any number of addresses, a fixed buffer.
    char buffer[4096];
    size_t kept = 0;
    for (ssize_t n; (n = ::read(f, buffer + kept, sizeof buffer - kept)) > 0;) {
      const size_t used = kept + static_cast<size_t>(n);
      size_t whole = used;
      while (whole > 0 && buffer[whole - 1] != '\n') --whole;
      if (whole == 0) whole = used;  // a line longer than the buffer: not an address line anyway
      parse_if_inet6(buffer, whole, ifindex, &facts);
      kept = used - whole;
      std::memmove(buffer, buffer + whole, kept);
    }
    parse_if_inet6(buffer, kept, ifindex, &facts);
    ::close(f);
  }
  *out = facts;
  return true;
}

}  // namespace mcr
