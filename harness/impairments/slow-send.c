// A negative control for the CPU-per-packet gate: preloaded (LD_PRELOAD) into mcrd and its
// workers by the harness's --relay-slow-send, it makes every datagram sendmmsg or sendmsg sends
// cost MCR_SLOW_SEND_US more CPU, spun before the real call (a GSO superframe on a packet socket
// counts its segments, so batching does not dilute the cost). Only the harness builds and loads
// it: nothing in the relay can turn it on.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <linux/if_packet.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

static long spin_ns = -1;

static void spin(unsigned messages) {
  if (spin_ns < 0) {
    const char* us = getenv("MCR_SLOW_SEND_US");
    spin_ns = us ? atol(us) * 1000 : 0;
  }
  if (spin_ns == 0) return;
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  const long long until = (long long)t.tv_sec * 1000000000LL + t.tv_nsec + (long long)spin_ns * messages;
  do clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  while ((long long)t.tv_sec * 1000000000LL + t.tv_nsec < until);
}

// Datagrams in one message: a packet socket's frame starts with a virtio header whose gso_size
// cuts the payload after hdr_len bytes of headers into segments; anything else is one.
static unsigned datagrams(const struct msghdr* m) {
  const struct sockaddr* to = (const struct sockaddr*)m->msg_name;
  if (!to || to->sa_family != AF_PACKET || m->msg_iovlen == 0 || m->msg_iov[0].iov_len < 10) return 1;
  uint8_t header[10];
  memcpy(header, m->msg_iov[0].iov_base, sizeof header);
  uint16_t hdr_len, gso_size;
  memcpy(&hdr_len, header + 2, 2);
  memcpy(&gso_size, header + 4, 2);
  if (header[1] == 0 || gso_size == 0) return 1;
  size_t total = 0;
  for (size_t i = 0; i < m->msg_iovlen; i++) total += m->msg_iov[i].iov_len;
  if (total <= sizeof header + hdr_len) return 1;
  return (unsigned)((total - sizeof header - hdr_len + gso_size - 1) / gso_size);
}

int sendmmsg(int fd, struct mmsghdr* messages, unsigned int count, int flags) {
  static int (*real)(int, struct mmsghdr*, unsigned int, int);
  if (!real) real = (int (*)(int, struct mmsghdr*, unsigned int, int))dlsym(RTLD_NEXT, "sendmmsg");
  unsigned n = 0;
  for (unsigned i = 0; i < count; i++) n += datagrams(&messages[i].msg_hdr);
  spin(n);
  return real(fd, messages, count, flags);
}

ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  static ssize_t (*real)(int, const struct msghdr*, int);
  if (!real) real = (ssize_t (*)(int, const struct msghdr*, int))dlsym(RTLD_NEXT, "sendmsg");
  spin(datagrams(message));
  return real(fd, message, flags);
}
