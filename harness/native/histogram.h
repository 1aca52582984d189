// Log-linear latency histogram: 16 sub-buckets per power of two (about 6% resolution), fixed size.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>

namespace mcr {

class Histogram {
 public:
  static constexpr int kSub = 16;
  static constexpr int kBuckets = 64 * kSub;

  void add(uint64_t v) {
    ++buckets_[index(v)];
    ++count_;
    sum_ += static_cast<double>(v);
    max_ = std::max(max_, v);
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0; }

  // Upper bound of the bucket holding the q-quantile (never above the true max).
  uint64_t quantile(double q) const {
    if (count_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += buckets_[static_cast<size_t>(i)];
      if (seen >= rank) return std::min(upper(i), max_);
    }
    return max_;
  }

 private:
  static int index(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - 4;  // keep 4 bits below the top bit
    return (shift + 1) * kSub + static_cast<int>((v >> shift) & (kSub - 1));
  }
  static uint64_t upper(int i) {
    if (i < kSub) return static_cast<uint64_t>(i);
    const int shift = i / kSub - 1;
    const uint64_t sub = static_cast<uint64_t>(i % kSub);
    return ((static_cast<uint64_t>(kSub) + sub + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  double sum_ = 0;
  uint64_t max_ = 0;
};

}  // namespace mcr
