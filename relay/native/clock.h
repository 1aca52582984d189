#pragma once
// The forwarding thread's clocks. Both are read in the vDSO: no system call.
#include <time.h>

#include <cstdint>

namespace mcr {

inline uint64_t to_ns(const timespec& t) { return static_cast<uint64_t>(t.tv_sec) * 1000000000ull + static_cast<uint64_t>(t.tv_nsec); }

// Exact, for pacing and latency.
inline uint64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return to_ns(t);
}

// Ticks every few milliseconds, cheaper still: for timeouts and periods of a millisecond or more.
inline uint64_t coarse_monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return to_ns(t);
}

}  // namespace mcr
