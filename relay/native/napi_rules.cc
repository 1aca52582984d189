#include "napi_rules.h"

#include <arpa/inet.h>

#include <cmath>
#include <memory>
#include <stdexcept>

namespace mcr {

std::string string_field(const Napi::Object& o, const char* key, const std::string& what) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), what + ": '" + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

int int_field(const Napi::Object& o, const char* key, const std::string& what, int fallback, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return fallback;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), what + ": '" + key + "' must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  // Range first: casting NaN or a huge double to int is undefined behaviour.
  if (!std::isfinite(d) || d != std::trunc(d) || d < -2147483648.0 || d > 2147483647.0) {
    throw Napi::TypeError::New(o.Env(), what + ": '" + key + "' must be an integer");
  }
  return static_cast<int>(d);
}

std::vector<RuleSpec> rule_specs(const Napi::Array& arr) {
  Napi::Env env = arr.Env();
  std::vector<RuleSpec> specs;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    std::string what = "rule #" + std::to_string(i + 1);
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, what + " must be an object");
    Napi::Object r = v.As<Napi::Object>();
    RuleSpec spec;
    spec.id = string_field(r, "id", what);
    what = "rule " + spec.id;
    spec.group = string_field(r, "group", what);
    if (!r.Get("source").IsUndefined()) spec.source = string_field(r, "source", what);
    spec.port = int_field(r, "port", what, 0, true);
    Napi::Value outs = r.Get("outputs");
    if (!outs.IsArray()) throw Napi::TypeError::New(env, what + ": 'outputs' must be an array");
    Napi::Array oarr = outs.As<Napi::Array>();
    for (uint32_t k = 0; k < oarr.Length(); ++k) {
      std::string owhat = what + " output " + std::to_string(k + 1);
      Napi::Value ov = oarr.Get(k);
      if (!ov.IsObject()) throw Napi::TypeError::New(env, owhat + " must be an object");
      Napi::Object oo = ov.As<Napi::Object>();
      OutputSpec out{string_field(oo, "group", owhat), int_field(oo, "port", owhat, 0, true), string_field(oo, "interface", owhat), int_field(oo, "ttl", owhat, 8, false)};
      Napi::Value fixed = oo.Get("fixedTtl");
      if (!fixed.IsUndefined() && !fixed.IsBoolean()) throw Napi::TypeError::New(env, owhat + ": 'fixedTtl' must be true or false");
      out.fixed_ttl = fixed.IsBoolean() && fixed.As<Napi::Boolean>().Value();
      out.dscp = int_field(oo, "dscp", owhat, -1, false);
      spec.outputs.push_back(std::move(out));
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

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
