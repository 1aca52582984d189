// Steering tables from JavaScript, and steeringBucket(): the bucket of a flow, as the kernel
// will compute it from the steering program, so the supervisor and tests can predict owners.
#pragma once
#include <napi.h>

#include <cstdint>
#include <vector>

namespace mcr {

// An array of kSteeringBuckets member indices (0-255); throws Napi::TypeError naming `what`.
std::vector<uint8_t> steering_owners(const Napi::Value& value, const char* what);

void RegisterSteering(Napi::Env env, Napi::Object exports);

}  // namespace mcr
