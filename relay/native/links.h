// Link events from rtnetlink (RTM_NEWLINK / RTM_DELLINK), read on a thread: mcrd follows
// interfaces that vanish and come back without polling.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace mcr {

struct LinkEvent {
  // 'overrun': the kernel dropped events (socket buffer full): re-check every interface.
  enum class Kind { added, removed, overrun } kind = Kind::added;
  int index = 0;
  std::string name;
  bool up = false;
};

// Appends the link events found in one netlink datagram; ignores every other message type.
// Pure: lengths are checked before each header or attribute is read.
void parse_link_messages(const uint8_t* data, size_t length, std::vector<LinkEvent>* out);

class LinkWatcher {
 public:
  // Opens and binds the netlink socket (throws with the reason) and starts the reading thread.
  explicit LinkWatcher(std::function<void(const LinkEvent&)> on_event);
  ~LinkWatcher();
  LinkWatcher(const LinkWatcher&) = delete;
  LinkWatcher& operator=(const LinkWatcher&) = delete;
  void stop();

 private:
  void loop();

  std::function<void(const LinkEvent&)> on_event_;
  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop() wakes the thread's poll
  std::thread thread_;
};

}  // namespace mcr
