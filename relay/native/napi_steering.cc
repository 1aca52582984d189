#include "napi_steering.h"

#include <arpa/inet.h>

#include <cmath>
#include <string>

#include "steering.h"

namespace mcr {

std::vector<uint8_t> steering_owners(const Napi::Value& value, const char* what) {
  Napi::Env env = value.Env();
  const std::string expected = std::string(what) + ": owners must be an array of " + std::to_string(kSteeringBuckets) + " member indices (0-255)";
  if (!value.IsArray()) throw Napi::TypeError::New(env, expected);
  Napi::Array array = value.As<Napi::Array>();
  if (array.Length() != kSteeringBuckets) throw Napi::TypeError::New(env, expected + ", got " + std::to_string(array.Length()) + " entries");
  std::vector<uint8_t> owners(kSteeringBuckets);
  for (uint32_t i = 0; i < kSteeringBuckets; ++i) {
    Napi::Value v = array.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 255 && d == std::trunc(d))) throw Napi::TypeError::New(env, expected + ": bucket " + std::to_string(i) + " is not one");
    owners[i] = static_cast<uint8_t>(d);
  }
  return owners;
}

}  // namespace mcr
