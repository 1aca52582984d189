// The RuleLookup class for tests: the native rule table (rules.cc) built from JavaScript rules and
// asked which rule a datagram would match, without any traffic.
#include <arpa/inet.h>
#include <napi.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>

#include "napi_rules.h"
#include "rules.h"
#include "test_bindings.h"

namespace mcr {

namespace {

// new RuleLookup(rules): builds a table as Forwarder.setRules does (same errors; egress sockets
// are opened for outputs on existing interfaces). find({group, port, source?}) returns the id of
// the rule a datagram from source (absent: one no source-specific rule names) to group:port
// would match, or null; outputs(id) the families and destinations of a rule's outputs.
class RuleLookup : public Napi::ObjectWrap<RuleLookup> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RuleLookup", {InstanceMethod<&RuleLookup::Find>("find"), InstanceAccessor<&RuleLookup::Size>("size")});
  }

  explicit RuleLookup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RuleLookup>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "new RuleLookup(rules): rules must be an array");
    const std::vector<RuleSpec> specs = rule_specs(info[0].As<Napi::Array>());
    try {
      table_ = builder_.build(specs);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

 private:
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(table_->size())); }

  Napi::Value Find(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "RuleLookup.find(query): query must be an object");
    Napi::Object q = info[0].As<Napi::Object>();
    const std::string group = string_field(q, "group", "RuleLookup.find");
    const int port = int_field(q, "port", "RuleLookup.find", 0, true);
    if (port < 0 || port > 65535) throw Napi::RangeError::New(env, "RuleLookup.find: port " + std::to_string(port) + " out of range");
    const std::string source = q.Get("source").IsUndefined() ? std::string() : string_field(q, "source", "RuleLookup.find");
    const RuleEntry* entry = nullptr;
    if (group.find(':') != std::string::npos) {
      in6_addr g{}, s{};  // s stays :: when no source is given
      if (inet_pton(AF_INET6, group.c_str(), &g) != 1) throw Napi::TypeError::New(env, "RuleLookup.find: group '" + group + "' is not an IPv6 address");
      if (!source.empty() && inet_pton(AF_INET6, source.c_str(), &s) != 1) throw Napi::TypeError::New(env, "RuleLookup.find: source '" + source + "' is not an IPv6 address");
      entry = table_->find6(s.s6_addr, g.s6_addr, static_cast<uint16_t>(port));
    } else {
      in_addr g{}, s{};
      if (inet_pton(AF_INET, group.c_str(), &g) != 1) throw Napi::TypeError::New(env, "RuleLookup.find: group '" + group + "' is not an IPv4 address");
      if (!source.empty() && inet_pton(AF_INET, source.c_str(), &s) != 1) throw Napi::TypeError::New(env, "RuleLookup.find: source '" + source + "' is not an IPv4 address");
      entry = table_->find(ntohl(s.s_addr), ntohl(g.s_addr), static_cast<uint16_t>(port));
    }
    if (!entry) return env.Null();
    Napi::Object out = Napi::Object::New(env);
    out.Set("id", entry->id);
    Napi::Array outputs = Napi::Array::New(env, entry->outputs.size());
    for (uint32_t i = 0; i < entry->outputs.size(); ++i) {
      const OutputEntry& o = entry->outputs[i];
      Napi::Object oo = Napi::Object::New(env);
      char text[INET6_ADDRSTRLEN] = "";
      const bool v6 = o.dest.sa.sa_family == AF_INET6;
      if (v6) inet_ntop(AF_INET6, &o.dest.v6.sin6_addr, text, sizeof text);
      else inet_ntop(AF_INET, &o.dest.v4.sin_addr, text, sizeof text);
      oo.Set("family", v6 ? 6 : 4);
      oo.Set("group", text);
      oo.Set("port", ntohs(v6 ? o.dest.v6.sin6_port : o.dest.v4.sin_port));
      if (v6) oo.Set("scopeId", o.dest.v6.sin6_scope_id);
      oo.Set("socketFamily", o.socket ? (o.socket->family() == AF_INET6 ? 6 : 4) : 0);
      outputs.Set(i, oo);
    }
    out.Set("outputs", outputs);
    return out;
  }

  TableBuilder builder_;
  std::shared_ptr<const Table> table_;
};

}  // namespace

void RegisterRuleLookup(Napi::Env env, Napi::Object exports) { exports.Set("RuleLookup", RuleLookup::Define(env)); }

}  // namespace mcr
