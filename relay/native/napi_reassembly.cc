// The Reassembly class for tests: a forwarder's IPv6 reassembly table (reassembly.cc) driven frame
// by frame, with the clock in the caller's hands.
#include <arpa/inet.h>
#include <napi.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "counters.h"
#include "napi_rules.h"
#include "napi_text.h"
#include "parse.h"
#include "reassembly.h"
#include "rules.h"
#include "test_bindings.h"

namespace mcr {

namespace {

// new Reassembly({slots?, timeoutMs?, wanted?}): a forwarder's IPv6 reassembly table on its own, for
// tests. wanted: [{group, source?}], the groups (and sources) rules take, as a forwarder's table
// gives them (Table::wants6); absent: every fragment is wanted.
// add(frame, nowMs) parses the frame and hands an IPv6 fragment to the table; it returns
// {result}: the parse status when the frame is not one ('ok' for an unfragmented or atomic one),
// 'unwanted' for a fragment no wanted entry takes (counted, the table untouched),
// else pending, complete, duplicate, overlap or no_room; a complete one also has {datagram}: the
// UDP check's status and, when ok, addresses, ports, hop limit, traffic class and a copy of the
// payload (the slot is released at once). expire(nowMs) returns how many it dropped; stats the
// counters as Forwarder.stats names them, and the slots open and held.
class ReassemblyWrap : public Napi::ObjectWrap<ReassemblyWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Reassembly", {InstanceMethod<&ReassemblyWrap::Add>("add"), InstanceMethod<&ReassemblyWrap::Expire>("expire"), InstanceAccessor<&ReassemblyWrap::Stats>("stats")});
  }

  explicit ReassemblyWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReassemblyWrap>(info) {
    Napi::Env env = info.Env();
    size_t slots = Reassembler::kSlots;
    uint64_t timeout_ns = Reassembler::kTimeoutNs;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsObject()) throw Napi::TypeError::New(env, "new Reassembly(options): options must be an object");
      Napi::Object o = info[0].As<Napi::Object>();
      const int n = int_field(o, "slots", "new Reassembly", static_cast<int>(slots), false);
      const int ms = int_field(o, "timeoutMs", "new Reassembly", static_cast<int>(timeout_ns / 1000000), false);
      if (n < 1 || ms < 1) throw Napi::RangeError::New(env, "new Reassembly: slots (" + std::to_string(n) + ") and timeoutMs (" + std::to_string(ms) + ") must be at least 1");
      slots = static_cast<size_t>(n);
      timeout_ns = static_cast<uint64_t>(ms) * 1000000ull;
      const Napi::Value wanted = o.Get("wanted");
      if (!wanted.IsUndefined()) {
        if (!wanted.IsArray()) throw Napi::TypeError::New(env, "new Reassembly: 'wanted' must be an array");
        const Napi::Array list = wanted.As<Napi::Array>();
        wanted_ = std::make_unique<Groups6>();
        for (uint32_t i = 0; i < list.Length(); ++i) {
          const std::string what = "new Reassembly: wanted #" + std::to_string(i + 1);
          if (!list.Get(i).IsObject()) throw Napi::TypeError::New(env, what + " must be an object");
          const Napi::Object w = list.Get(i).As<Napi::Object>();
          in6_addr group{}, source{};
          const std::string g = string_field(w, "group", what);
          if (inet_pton(AF_INET6, g.c_str(), &group) != 1) throw Napi::TypeError::New(env, what + ": group '" + g + "' is not an IPv6 address");
          if (w.Get("source").IsUndefined()) {
            wanted_->add(group.s6_addr);
            continue;
          }
          const std::string src = string_field(w, "source", what);
          if (inet_pton(AF_INET6, src.c_str(), &source) != 1) throw Napi::TypeError::New(env, what + ": source '" + src + "' is not an IPv6 address");
          wanted_->add(source.s6_addr, group.s6_addr);
        }
      }
    }
    try {
      table_ = std::make_unique<Reassembler>(slots, timeout_ns);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("new Reassembly: ") + e.what());
    }
  }

 private:
  static uint64_t now_arg(const Napi::CallbackInfo& info, size_t i, const char* what) {
    if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + ": nowMs must be a number");
    const double ms = info[i].As<Napi::Number>().DoubleValue();
    if (!std::isfinite(ms) || ms < 0 || ms > 1e12) throw Napi::RangeError::New(info.Env(), std::string(what) + ": nowMs " + std::to_string(ms) + " out of range (0 to 1e12)");
    return static_cast<uint64_t>(ms * 1e6);
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "Reassembly.add(frame, nowMs): frame must be a Buffer");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    const uint64_t now = now_arg(info, 1, "Reassembly.add");
    ParsedPacket p;
    const ParseStatus status = parse_frame(buf.Data(), buf.Length(), &p);
    Napi::Object out = Napi::Object::New(env);
    if (status != ParseStatus::fragment || p.family != 6) {
      out.Set("result", status_name(status));
      return out;
    }
    if (wanted_ && !wanted_->wants(p.src6, p.dst6)) {  // as Forwarder::handle_fragment does
      table_->unwanted();
      out.Set("result", "unwanted");
      return out;
    }
    Reassembled d;
    const Reassembler::Result r = table_->add(p, buf.Data() + p.payload_offset, now, &d);
    static const char* const kNames[] = {"pending", "complete", "duplicate", "overlap", "no_room", "invalid"};
    out.Set("result", kNames[static_cast<int>(r)]);
    if (r != Reassembler::Result::complete) return out;
    ParsedPacket q;
    const ParseStatus udp = reassembled_udp(d, &q);
    Napi::Object g = Napi::Object::New(env);
    g.Set("status", status_name(udp));
    g.Set("length", static_cast<double>(d.length));
    g.Set("src", ip6_text(d.src6));
    g.Set("dst", ip6_text(d.dst6));
    g.Set("ttl", d.ttl);
    g.Set("tos", d.tos);
    if (udp == ParseStatus::ok) {
      g.Set("srcPort", q.src_port);
      g.Set("dstPort", q.dst_port);
      g.Set("payload", Napi::Buffer<uint8_t>::Copy(env, d.data + q.payload_offset, q.payload_length));
    }
    out.Set("datagram", g);
    table_->release();
    return out;
  }

  Napi::Value Expire(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(table_->expire(now_arg(info, 0, "Reassembly.expire")))); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const ReassemblyCounters& c = table_->counters();
    Napi::Object out = Napi::Object::New(info.Env());
#define MCR_SET(field, key) out.Set(key, static_cast<double>(c.field.load()));
    MCR_REASSEMBLY_COUNTERS(MCR_SET)
#undef MCR_SET
    out.Set("open", static_cast<double>(table_->open()));
    out.Set("held", static_cast<double>(table_->held()));
    return out;
  }

  std::unique_ptr<Reassembler> table_;
  std::unique_ptr<Groups6> wanted_;  // null: every fragment wanted
};

}  // namespace

void RegisterReassembly(Napi::Env env, Napi::Object exports) { exports.Set("Reassembly", ReassemblyWrap::Define(env)); }

}  // namespace mcr
