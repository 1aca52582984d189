// Steering tables from JavaScript: the bucket owners Forwarder.steer takes.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

namespace mcr {

// An array of kSteeringBuckets member indices (0-255); throws Napi::TypeError naming `what`.
std::vector<uint8_t> steering_owners(const Napi::Value& value, const char* what);

}  // namespace mcr
