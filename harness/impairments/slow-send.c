// A negative control for the CPU-per-packet gate: preloaded (LD_PRELOAD) into mcrd and its
// workers by the harness's --relay-slow-send, it makes every message sendmmsg or sendmsg sends
// cost MCR_SLOW_SEND_US more CPU, spun before the real call. Only the harness builds and loads it:
// nothing in the relay can turn it on.
#define _GNU_SOURCE
#include <dlfcn.h>
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

int sendmmsg(int fd, struct mmsghdr* messages, unsigned int count, int flags) {
  static int (*real)(int, struct mmsghdr*, unsigned int, int);
  if (!real) real = (int (*)(int, struct mmsghdr*, unsigned int, int))dlsym(RTLD_NEXT, "sendmmsg");
  spin(count);
  return real(fd, messages, count, flags);
}

ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  static ssize_t (*real)(int, const struct msghdr*, int);
  if (!real) real = (ssize_t (*)(int, const struct msghdr*, int))dlsym(RTLD_NEXT, "sendmsg");
  spin(1);
  return real(fd, message, flags);
}
