// What the frames an output interface sends need from it: its MAC, MTU and own addresses. Read
// with ioctls and /proc/net/if_inet6 (no privilege needed), again every refresh: an address, MTU
// or MAC that changes is followed from the next refresh on.
#pragma once
#include <string>

#include "headers.h"

namespace mcr {

// Fills *out for the interface with this index. Returns false with *error naming the step and the
// errno text when the interface cannot be read (gone, or not a network device).
bool read_link_facts(unsigned ifindex, LinkFacts* out, std::string* error);

// Whether two reads found the same facts (field by field: the struct has padding).
bool same_link_facts(const LinkFacts& a, const LinkFacts& b);

// Parses /proc/net/if_inet6 text (one address per line: 32 hex digits, ifindex, prefix length,
// scope, flags, name, in hex) into out's IPv6 addresses for ifindex. Tentative and
// DAD-failed addresses are not usable as sources and are skipped. Pure: exposed for tests.
void parse_if_inet6(const char* text, size_t length, unsigned ifindex, LinkFacts* out);

}  // namespace mcr
