#include "steering.h"

#include <linux/if_ether.h>

namespace mcr {

namespace {

// Fibonacci hashing: the top 8 bits of the product with 2^32/phi spread any input over the
// buckets, whichever of its bits vary (group addresses differ in their low bits).
constexpr uint32_t kGolden = 0x9E3779B1u;
constexpr uint32_t kBucketShift = 24;  // 32 - log2(kSteeringBuckets)
static_assert(kSteeringBuckets == 1u << (32 - kBucketShift), "buckets and shift agree");

uint32_t word(const uint8_t* p) { return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]; }
unsigned bucket_of(uint32_t mixed) { return (mixed * kGolden) >> kBucketShift; }

sock_filter stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }
// Loads relative to the network header: the fanout hook sees the frame from there, a socket
// filter from the Ethernet header; SKF_NET_OFF means the same bytes in both.
constexpr uint32_t net(uint32_t offset) { return static_cast<uint32_t>(SKF_NET_OFF) + offset; }

// A run of consecutive buckets with one owner.
struct Run {
  unsigned first;
  uint8_t owner;
};

// A binary search over runs[lo, hi) on A (the bucket), laid out depth first: a node's false
// branch is the next instruction (the lower half), its true branch skips that half. A half of
// r runs takes 2r - 1 instructions, so at most 256 runs keep every jump within 255.
void emit_tree(const std::vector<Run>& runs, size_t lo, size_t hi, std::vector<sock_filter>* out) {
  if (hi - lo == 1) {
    out->push_back(stmt(BPF_RET | BPF_K, runs[lo].owner));
    return;
  }
  const size_t mid = lo + (hi - lo) / 2;
  const size_t lower = 2 * (mid - lo) - 1;
  out->push_back(jump(BPF_JMP | BPF_JGE | BPF_K, runs[mid].first, static_cast<uint8_t>(lower), 0));
  emit_tree(runs, lo, mid, out);
  emit_tree(runs, mid, hi, out);
}

}  // namespace

unsigned steering_bucket4(const uint8_t source[4], const uint8_t destination[4], const uint8_t ports[4]) {
  return bucket_of(word(source) ^ word(destination) ^ word(ports));
}

unsigned steering_bucket6(const uint8_t source[16], const uint8_t destination[16]) {
  uint32_t mixed = 0;
  for (int i = 0; i < 16; i += 4) mixed ^= word(source + i) ^ word(destination + i);
  return bucket_of(mixed);
}

bool steering_program(const std::vector<uint8_t>& owners, std::vector<sock_filter>* out, std::string* error) {
  if (owners.size() != kSteeringBuckets) {
    *error = "steering table has " + std::to_string(owners.size()) + " buckets, not " + std::to_string(kSteeringBuckets);
    return false;
  }
  std::vector<Run> runs;
  for (unsigned b = 0; b < kSteeringBuckets; ++b) {
    if (runs.empty() || runs.back().owner != owners[b]) runs.push_back(Run{b, owners[b]});
  }
  // The IPv6 hash: the XOR of the eight address words (bytes 8-39), in A.
  std::vector<sock_filter> v6{stmt(BPF_LD | BPF_W | BPF_ABS, net(8))};
  for (uint32_t offset = 12; offset < 40; offset += 4) {
    v6.push_back(stmt(BPF_MISC | BPF_TAX, 0));
    v6.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, net(offset)));
    v6.push_back(stmt(BPF_ALU | BPF_XOR | BPF_X, 0));
  }
  // The IPv4 hash: source ^ destination ^ the ports' word behind the header (IHL words in).
  const std::vector<sock_filter> v4{
      stmt(BPF_LD | BPF_W | BPF_ABS, net(12)),     stmt(BPF_MISC | BPF_TAX, 0),
      stmt(BPF_LD | BPF_W | BPF_ABS, net(16)),     stmt(BPF_ALU | BPF_XOR | BPF_X, 0),
      stmt(BPF_ST, 0),                             stmt(BPF_LDX | BPF_B | BPF_MSH, net(0)),
      stmt(BPF_LD | BPF_W | BPF_IND, net(0)),      stmt(BPF_LDX | BPF_MEM, 0),
      stmt(BPF_ALU | BPF_XOR | BPF_X, 0),
  };
  // Layout: protocol; IPv6? its hash, jump to mix; IPv4? its hash, jump to mix; anything else:
  // member 0 (the socket's own filter drops it); mix; the bucket's owner.
  out->clear();
  out->push_back(stmt(BPF_LD | BPF_H | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)));
  out->push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, static_cast<uint8_t>(v6.size() + 1)));
  out->insert(out->end(), v6.begin(), v6.end());
  out->push_back(stmt(BPF_JMP | BPF_JA, static_cast<uint32_t>(1 + v4.size() + 1 + 1)));  // over the IPv4 test, its hash, its jump, RET 0
  out->push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, static_cast<uint8_t>(v4.size() + 1)));
  out->insert(out->end(), v4.begin(), v4.end());
  out->push_back(stmt(BPF_JMP | BPF_JA, 1));  // over RET 0
  out->push_back(stmt(BPF_RET | BPF_K, 0));
  out->push_back(stmt(BPF_ALU | BPF_MUL | BPF_K, kGolden));
  out->push_back(stmt(BPF_ALU | BPF_RSH | BPF_K, kBucketShift));
  emit_tree(runs, 0, runs.size(), out);
  return true;
}

}  // namespace mcr
