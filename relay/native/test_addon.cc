// mcr-test.node: the relay's pure pieces and benchmarks for tests, fuzz seeds and `npm run bench`
// (the contract is relay/src/test-addon.ts). mcrd loads mcr.node only, which has none of this.
#include <arpa/inet.h>
#include <napi.h>

#include <string>
#include <vector>

#include "counters.h"
#include "links.h"
#include "napi_links.h"
#include "steering.h"
#include "test_bindings.h"

namespace mcr {

namespace {

// parseLinkMessages(datagram): the link events in one rtnetlink datagram, as LinkWatcher reports them.
Napi::Value ParseLinkMessages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "parseLinkMessages(datagram): datagram must be a Buffer");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  std::vector<LinkEvent> events;
  parse_link_messages(buf.Data(), buf.Length(), &events);
  Napi::Array out = Napi::Array::New(env, events.size());
  for (uint32_t i = 0; i < events.size(); ++i) out.Set(i, link_event_object(env, events[i]));
  return out;
}

// The keys Forwarder.stats() fills, in order: what relay/src/counters.ts must declare.
Napi::Array WorkerCounterKeys(Napi::Env env) {
  Napi::Array keys = Napi::Array::New(env);
  uint32_t i = 0;
#define MCR_KEY(field, key) keys.Set(i++, key);
  MCR_WORKER_COUNTERS(MCR_KEY)
#undef MCR_KEY
  return keys;
}

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

}  // namespace mcr

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mcr::RegisterParseFrame(env, exports);
  mcr::RegisterReassembly(env, exports);
  mcr::RegisterRuleLookup(env, exports);
  mcr::RegisterBench(env, exports);
  exports.Set("parseLinkMessages", Napi::Function::New<mcr::ParseLinkMessages>(env, "parseLinkMessages"));
  exports.Set("workerCounterKeys", mcr::WorkerCounterKeys(env));
  exports.Set("steeringBucket", Napi::Function::New<mcr::SteeringBucket>(env, "steeringBucket"));
  exports.Set("steeringBuckets", Napi::Number::New(env, static_cast<double>(mcr::kSteeringBuckets)));
  return exports;
}

}  // namespace

NODE_API_MODULE(mcr_test, Init)
