// parseFrame(frame): the relay's frame parser (parse.cc) alone, for tests: what it accepts, with
// the fields it read, or why it drops the frame.
#include <napi.h>

#include "napi_text.h"
#include "parse.h"
#include "test_bindings.h"

namespace mcr {

namespace {

Napi::Value ParseFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "parseFrame(frame): frame must be a Buffer");
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  ParsedPacket p;
  ParseStatus status = parse_frame(buf.Data(), buf.Length(), &p);
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", status_name(status));
  if (status == ParseStatus::ok) out.Set("family", p.family);
  if (status == ParseStatus::ok) out.Set("tos", p.tos);
  if (p.vlan >= 0) out.Set("vlan", p.vlan);
  if (status == ParseStatus::ok) {
    out.Set("src", p.family == 6 ? ip6_text(p.src6) : ip_text(p.src));
    out.Set("dst", p.family == 6 ? ip6_text(p.dst6) : ip_text(p.dst));
    out.Set("srcPort", p.src_port);
    out.Set("dstPort", p.dst_port);
    out.Set("ttl", p.ttl);
    out.Set("payloadOffset", static_cast<double>(p.payload_offset));
    out.Set("payloadLength", static_cast<double>(p.payload_length));
  }
  if (status == ParseStatus::fragment && p.family == 6) {  // an IPv6 fragment: its fields, for the reassembler
    out.Set("family", 6);
    out.Set("src", ip6_text(p.src6));
    out.Set("dst", ip6_text(p.dst6));
    out.Set("ttl", p.ttl);
    out.Set("tos", p.tos);
    out.Set("payloadOffset", static_cast<double>(p.payload_offset));
    out.Set("payloadLength", static_cast<double>(p.payload_length));
    Napi::Object f = Napi::Object::New(env);
    f.Set("id", static_cast<double>(p.frag_id));
    f.Set("offset", p.frag_offset);
    f.Set("more", p.frag_more != 0);
    f.Set("nextHeader", p.frag_next);
    out.Set("fragment", f);
  }
  return out;
}

}  // namespace

void RegisterParseFrame(Napi::Env env, Napi::Object exports) { exports.Set("parseFrame", Napi::Function::New<ParseFrame>(env, "parseFrame")); }

}  // namespace mcr
