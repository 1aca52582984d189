// Follows the output links for the forwarding thread without making it wait. Reading a link's
// address takes the kernel's RTNL lock, which any namespace or link being created or deleted on
// the host holds for milliseconds (measured here with other work on the machine: SIOCGIFADDR up
// to 19 ms, /proc/net/if_inet6 up to 2.4 ms); a forwarding thread that read it would hold every
// packet that long. So a thread of its own sleeps on rtnetlink's link and address events, and a
// period in case one is lost, and calls back on each; the callback reads, the forwarding thread
// only takes what changed.
#pragma once
#include <cstdint>
#include <functional>
#include <thread>

namespace mcr {

class LinkWatch {
 public:
  // on_change runs on the watch's thread after any link or address event of this namespace, and
  // every period_ms whatever happened.
  LinkWatch(std::function<void()> on_change, int period_ms);
  ~LinkWatch();
  LinkWatch(const LinkWatch&) = delete;
  LinkWatch& operator=(const LinkWatch&) = delete;
  // Throws std::runtime_error with context when the thread cannot start. Without rtnetlink (the
  // socket refused) it keeps the period alone.
  void start();
  void stop();  // idempotent; joins the thread

 private:
  void run();
  // Reads every queued notification; true when there was any (or the queue overflowed).
  bool drain();

  std::function<void()> on_change_;
  int period_ms_;
  int netlink_fd_ = -1;
  int stop_fd_ = -1;  // eventfd: stop() writes it
  std::thread thread_;
};

}  // namespace mcr
