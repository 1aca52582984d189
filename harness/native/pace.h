// The generator's schedule: how many packets are due by a time, and when packet i is due, for a
// constant rate or a profile of rates (--profile), as one piecewise-linear curve. Pure.
#pragma once
#include <cstdint>
#include <vector>

namespace mcr {

class Pace {
 public:
  struct Segment {
    double seconds;  // <= 0: the last segment, open-ended
    double pps;
  };

  // A constant rate; pps 0 = as fast as possible.
  static Pace constant(double pps) { return Pace({Segment{0, pps}}); }
  // The segments in order; the last one's rate goes on after its time (for rounding's last few).
  explicit Pace(std::vector<Segment> segments) : segments_(std::move(segments)) {}

  bool unpaced() const { return segments_.empty() || segments_.front().pps <= 0; }

  // Packets due by elapsed_ns after the start (at least 1: the first is due at once).
  uint64_t due(uint64_t elapsed_ns) const {
    double t = static_cast<double>(elapsed_ns) / 1e9, packets = 0;
    for (size_t k = 0; k < segments_.size(); ++k) {
      const Segment& s = segments_[k];
      const bool last = k + 1 == segments_.size();
      const double span = last ? t : std::min(t, s.seconds);
      packets += span * s.pps;
      t -= span;
      if (t <= 0) break;
    }
    return static_cast<uint64_t>(packets) + 1;
  }

  // Nanoseconds after the start at which packet i (from 0) is due: the inverse of due().
  uint64_t at(uint64_t i) const {
    double left = static_cast<double>(i), t = 0;
    for (size_t k = 0; k < segments_.size(); ++k) {
      const Segment& s = segments_[k];
      const bool last = k + 1 == segments_.size();
      const double packets = s.seconds * s.pps;
      if (last || left < packets) return static_cast<uint64_t>((t + (s.pps > 0 ? left / s.pps : 0)) * 1e9);
      left -= packets;
      t += s.seconds;
    }
    return static_cast<uint64_t>(t * 1e9);
  }

  // The same curve with every rate times f (a thread's share of the streams).
  Pace scaled(double f) const {
    std::vector<Segment> out = segments_;
    for (Segment& s : out) s.pps *= f;
    return Pace(out);
  }

 private:
  std::vector<Segment> segments_;
};

}  // namespace mcr
