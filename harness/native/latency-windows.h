// Latency per window of send time, all streams together: the p99 of each window, so the harness can
// take a typical window's tail (the median over windows) that a few scheduling stalls of a shared
// machine do not set, beside the whole run's p99 that they do.
#pragma once
#include <cstdint>
#include <vector>

#include "histogram.h"
#include "json-writer.h"

namespace mcr {

class LatencyWindows {
 public:
  // A run of an hour at 100 ms windows; later send times are left out of the windows (not of the
  // streams' own histograms).
  static constexpr size_t kMaxWindows = 36000;

  explicit LatencyWindows(uint64_t window_ns) : window_ns_(window_ns) {}

  void add(uint64_t tx_ns, uint64_t latency_ns) {
    // The first window starts one window before the first packet's send time: packets of other
    // streams sent a little earlier but received after it still fall in a window.
    if (!origin_) origin_ = tx_ns > window_ns_ ? tx_ns - window_ns_ : 1;
    if (tx_ns < origin_) return;
    const uint64_t w = (tx_ns - origin_) / window_ns_;
    if (w >= kMaxWindows) return;
    // Grows once per window, never per packet.
    if (w >= windows_.size()) windows_.resize(static_cast<size_t>(w) + 1);
    windows_[static_cast<size_t>(w)].add(latency_ns);
  }

  // "latencyWindows": {"ms": 100, "counts": [...], "p99Ns": [...]}, one entry per window from the first.
  void write(JsonWriter& w) const {
    w.key("latencyWindows").begin_object().key("ms").fixed(static_cast<double>(window_ns_) / 1e6, 3);
    w.key("counts").begin_array();
    for (const Histogram& h : windows_) w.value(h.count());
    w.end_array().key("p99Ns").begin_array();
    for (const Histogram& h : windows_) w.value(h.quantile(0.99));
    w.end_array().end_object();
  }

 private:
  uint64_t window_ns_;
  uint64_t origin_ = 0;
  std::vector<Histogram> windows_;
};

}  // namespace mcr
