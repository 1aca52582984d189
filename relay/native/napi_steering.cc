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

namespace {

// steeringBucket(source, group, sourcePort, port): IPv4 (ports count) or IPv6 (addresses only)
// text addresses of one family.
Napi::Value SteeringBucket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsString() || !info[1].IsString() || !info[2].IsNumber() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "steeringBucket(source, group, sourcePort, port): two address strings and two port numbers");
  }
  const std::string source = info[0].As<Napi::String>().Utf8Value();
  const std::string group = info[1].As<Napi::String>().Utf8Value();
  uint8_t s6[16], g6[16];
  if (inet_pton(AF_INET6, source.c_str(), s6) == 1 && inet_pton(AF_INET6, group.c_str(), g6) == 1) {
    return Napi::Number::New(env, steering_bucket6(s6, g6));
  }
  uint8_t s4[4], g4[4];
  if (inet_pton(AF_INET, source.c_str(), s4) != 1 || inet_pton(AF_INET, group.c_str(), g4) != 1) {
    throw Napi::TypeError::New(env, "steeringBucket: '" + source + "' and '" + group + "' are not two addresses of one family");
  }
  const uint32_t sport = info[2].As<Napi::Number>().Uint32Value(), dport = info[3].As<Napi::Number>().Uint32Value();
  const uint8_t ports[4] = {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport), static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport)};
  return Napi::Number::New(env, steering_bucket4(s4, g4, ports));
}

}  // namespace

void RegisterSteering(Napi::Env env, Napi::Object exports) {
  exports.Set("steeringBucket", Napi::Function::New<SteeringBucket>(env, "steeringBucket"));
  exports.Set("steeringBuckets", Napi::Number::New(env, static_cast<double>(kSteeringBuckets)));
}

}  // namespace mcr
