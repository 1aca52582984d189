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

}  // namespace mcr
