// Flow steering for the fanout group in 'hash' mode: a classic BPF program the kernel runs for
// each packet to pick the member socket (PACKET_FANOUT_CBPF). It hashes the packet's flow into
// one of kSteeringBuckets buckets and looks the bucket up in a table the supervisor keeps, so a
// change of workers moves only the flows whose bucket changes owner (the kernel's own hash mode
// re-deals nearly every flow when the group grows or shrinks).
#pragma once
#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mcr {

constexpr size_t kSteeringBuckets = 256;

// The program for `owners` (kSteeringBuckets entries, each the fanout member index, 0-255, that
// takes the bucket's flows). false, with the reason in *error, for a table of another size.
bool steering_program(const std::vector<uint8_t>& owners, std::vector<sock_filter>* out, std::string* error);

// The flow's bucket, exactly as the program computes it. A flow is, for IPv4, the source and
// destination addresses and ports (fragments are reassembled before steering,
// PACKET_FANOUT_FLAG_DEFRAG); for IPv6, the addresses only, so a datagram's fragments, which the
// worker reassembles, stay together. All in network byte order, as on the wire.
unsigned steering_bucket4(const uint8_t source[4], const uint8_t destination[4], const uint8_t ports[4]);
unsigned steering_bucket6(const uint8_t source[16], const uint8_t destination[16]);

}  // namespace mcr
