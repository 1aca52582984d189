// Hot-path pieces, run in a loop inside the addon for `npm run bench`. An N-API call costs more
// than one frame parse, so each call repeats its piece `iterations` times and tinybench's time per
// call is divided by that. Nothing here is used by the relay itself.
#include <napi.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "egress.h"
#include "parse.h"
#include "rules.h"
#include "test_bindings.h"

namespace {

uint32_t positive_arg(const Napi::CallbackInfo& info, size_t i, const char* what, uint32_t max) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  if (!(v >= 1 && v <= max && v == static_cast<uint32_t>(v))) {
    throw Napi::RangeError::New(info.Env(), std::string(what) + " must be an integer from 1 to " + std::to_string(max));
  }
  return static_cast<uint32_t>(v);
}

// benchParse(frame, iterations): parses frame `iterations` times; returns the payload bytes seen
// (so the compiler cannot drop the work).
Napi::Value BenchParse(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "benchParse(frame, iterations): frame must be a Buffer");
  auto frame = info[0].As<Napi::Buffer<uint8_t>>();
  const uint32_t iterations = positive_arg(info, 1, "benchParse: iterations", 100000000);
  uint64_t bytes = 0;
  for (uint32_t i = 0; i < iterations; ++i) {
    mcr::ParsedPacket p;
    if (mcr::parse_frame(frame.Data(), frame.Length(), &p) == mcr::ParseStatus::ok) bytes += p.payload_length;
  }
  return Napi::Number::New(info.Env(), static_cast<double>(bytes));
}

// A table of N any-source rules (239.g.g.g:5000 → one output on lo), looked up in a scrambled
// order over all N, the way packets of N streams arrive interleaved.
class LookupBench : public Napi::ObjectWrap<LookupBench> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "LookupBench", {InstanceMethod<&LookupBench::Run>("run")}); }

  explicit LookupBench(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LookupBench>(info) {
    const uint32_t rules = positive_arg(info, 0, "new LookupBench(rules)", 1000000);
    std::vector<mcr::RuleSpec> specs(rules);
    for (uint32_t i = 0; i < rules; ++i) {
      const uint32_t group = 0xef000000u + i + 1;  // 239.0.0.1 on
      specs[i].id = std::to_string(i);
      specs[i].group = text(group);
      specs[i].port = 5000;
      specs[i].outputs.push_back(mcr::OutputSpec{"239.255.0.1", 6000, "lo"});
      keys_.push_back(group);
    }
    // Every rule once per round, in a fixed scrambled order (the same in every run).
    std::shuffle(keys_.begin(), keys_.end(), std::mt19937(42));
    try {
      table_ = builder_.build(specs);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("LookupBench: ") + e.what());
    }
  }

 private:
  static std::string text(uint32_t a) {
    in_addr addr{htonl(a)};
    char out[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &addr, out, sizeof out);
  }

  // run(iterations): returns the rules found (every lookup should hit).
  Napi::Value Run(const Napi::CallbackInfo& info) {
    const uint32_t iterations = positive_arg(info, 0, "LookupBench.run: iterations", 100000000);
    uint64_t hits = 0;
    size_t k = next_;
    for (uint32_t i = 0; i < iterations; ++i) {
      if (table_->find(0x0a000001u, keys_[k], 5000)) ++hits;
      if (++k == keys_.size()) k = 0;
    }
    next_ = k;
    return Napi::Number::New(info.Env(), static_cast<double>(hits));
  }

  mcr::TableBuilder builder_;
  std::shared_ptr<const mcr::Table> table_;
  std::vector<uint32_t> keys_;
  size_t next_ = 0;
};

// Batches of datagrams built and flushed through the relay's EgressBatch, to 127.0.0.1
// (loopback delivery is part of the cost, as veth's is in the scenarios): one flow, which goes
// as GSO messages, or `flows` interleaved ones. Each flow has a receiving socket that is never
// read: once its buffer is full the kernel drops.
class BatchBench : public Napi::ObjectWrap<BatchBench> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "BatchBench", {InstanceMethod<&BatchBench::Run>("run")}); }

  explicit BatchBench(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BatchBench>(info) {
    payload_size_ = positive_arg(info, 0, "new BatchBench(payloadBytes, flows)", 1472);
    const uint32_t flows = positive_arg(info, 1, "new BatchBench(payloadBytes, flows)", 64);
    const unsigned lo = if_nametoindex("lo");
    if (lo == 0) throw Napi::Error::New(info.Env(), "BatchBench: no loopback interface");
    try {
      socket_ = std::make_unique<mcr::EgressSocket>("lo", lo);
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("BatchBench: ") + e.what());
    }
    for (uint32_t f = 0; f < flows; ++f) {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd >= 0) sinks_.push_back(fd);
      mcr::Destination dest{};
      sockaddr_in& addr = dest.v4;
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof addr;
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
        const std::string why = std::strerror(errno);
        close_sinks();
        throw Napi::Error::New(info.Env(), "BatchBench: receiving socket on 127.0.0.1: " + why);
      }
      dests_.push_back(dest);
    }
    payload_.assign(payload_size_, 0x5a);
    batch_ = std::make_unique<mcr::EgressBatch>();
  }

  ~BatchBench() override { close_sinks(); }

 private:
  // run(batches, perBatch): returns the datagrams the kernel took.
  Napi::Value Run(const Napi::CallbackInfo& info) {
    const uint32_t batches = positive_arg(info, 0, "BatchBench.run: batches", 1000000);
    const uint32_t per_batch = positive_arg(info, 1, "BatchBench.run: perBatch", mcr::EgressBatch::kCapacity);
    uint64_t sent = 0, errors = 0, messages = 0;
    for (uint32_t b = 0; b < batches; ++b) {
      for (uint32_t i = 0; i < per_batch; ++i) batch_->add(socket_.get(), dests_[i % dests_.size()], payload_.data(), payload_.size(), &counters_, 8, 0, 5000);
      sent += batch_->flush(&errors, &messages);
    }
    return Napi::Number::New(info.Env(), static_cast<double>(sent));
  }

  void close_sinks() {
    for (int fd : sinks_) ::close(fd);
    sinks_.clear();
  }

  uint32_t payload_size_ = 0;
  std::unique_ptr<mcr::EgressSocket> socket_;
  std::unique_ptr<mcr::EgressBatch> batch_;  // ~100 KiB: on the heap
  mcr::OutputCounters counters_;
  std::vector<uint8_t> payload_;
  std::vector<mcr::Destination> dests_;
  std::vector<int> sinks_;
};

}  // namespace

void mcr::RegisterBench(Napi::Env env, Napi::Object exports) {
  exports.Set("benchParse", Napi::Function::New<BenchParse>(env, "benchParse"));
  exports.Set("LookupBench", LookupBench::Define(env));
  exports.Set("BatchBench", BatchBench::Define(env));
}
