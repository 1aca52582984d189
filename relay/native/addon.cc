// JavaScript bindings (node-addon-api). The contract is relay/src/native.ts.
#include <arpa/inet.h>
#include <napi.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "counters.h"
#include "forwarder.h"
#include "igmp.h"
#include "links.h"
#include "napi_links.h"
#include "napi_rules.h"
#include "napi_steering.h"
#include "parse.h"

namespace {

using mcr::Forwarder;
using mcr::int_field;
using mcr::string_field;

class ForwarderWrap : public Napi::ObjectWrap<ForwarderWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Forwarder",
                       {InstanceAccessor<&ForwarderWrap::FanoutId>("fanoutId"), InstanceMethod<&ForwarderWrap::Start>("start"),
                        InstanceMethod<&ForwarderWrap::Join>("join"), InstanceMethod<&ForwarderWrap::Steer>("steer"),
                        InstanceMethod<&ForwarderWrap::Hold>("hold"), InstanceMethod<&ForwarderWrap::Release>("release"),
                        InstanceMethod<&ForwarderWrap::Barrier>("barrier"), InstanceMethod<&ForwarderWrap::Load>("load"),
                        InstanceMethod<&ForwarderWrap::SetRules>("setRules"), InstanceMethod<&ForwarderWrap::Stats>("stats"),
                        InstanceMethod<&ForwarderWrap::Stop>("stop")});
  }

  explicit ForwarderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ForwarderWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "new Forwarder(options): options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    mcr::IngressOptions options;
    options.ifname = string_field(o, "interface", "Forwarder options");
    if (options.ifname.empty() || options.ifname.size() >= IF_NAMESIZE) throw Napi::TypeError::New(env, "Forwarder options: bad interface name '" + options.ifname + "'");
    std::string fanout = string_field(o, "fanout", "Forwarder options");
    if (!mcr::parse_fanout_mode(fanout, &options.fanout)) throw Napi::TypeError::New(env, "Forwarder options: fanout '" + fanout + "' is not one of hash, kernel-hash, cpu, lb, rollover, none");
    int id = int_field(o, "fanoutId", "Forwarder options", -1, true);
    if (id < -1 || id > 0xffff) throw Napi::RangeError::New(env, "Forwarder options: fanoutId " + std::to_string(id) + " out of range (-1 for a new group, or 0-65535)");
    options.fanout_id = id;
    Napi::Value ingress = o.Get("ingress");
    if (!ingress.IsUndefined()) {
      std::string mode = ingress.IsString() ? ingress.As<Napi::String>().Utf8Value() : "";
      if (!mcr::parse_ingress_kind(mode, &options.kind)) throw Napi::TypeError::New(env, "Forwarder options: ingress must be 'ring', 'blocks' or 'mmsg'");
    }
    Napi::Value ring_mib = o.Get("ringMiB");
    if (!ring_mib.IsUndefined()) {
      int mib = int_field(o, "ringMiB", "Forwarder options", 64, true);
      if (mib < 1 || mib > 4096) throw Napi::RangeError::New(env, "Forwarder options: ringMiB " + std::to_string(mib) + " out of range (1-4096)");
      options.ring_mib = static_cast<size_t>(mib);
    }
    mcr::EgressKind egress = mcr::EgressKind::frames;
    Napi::Value egress_value = o.Get("egress");
    if (!egress_value.IsUndefined()) {
      std::string mode = egress_value.IsString() ? egress_value.As<Napi::String>().Utf8Value() : "";
      if (!mcr::parse_egress_kind(mode, &egress)) throw Napi::TypeError::New(env, "Forwarder options: egress must be 'frames', 'frames-direct' or 'udp'");
    }
    try {
      forwarder_ = std::make_unique<Forwarder>(options, egress);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
  }

 private:
  Forwarder& get(Napi::Env env) {
    if (!forwarder_) throw Napi::Error::New(env, "forwarder is stopped");
    return *forwarder_;
  }

  Napi::Value FanoutId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), forwarder_ ? forwarder_->fanout_id() : -1); }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Forwarder& f = get(info.Env());
    try {
      f.start();
    } catch (const std::exception& e) {  // std::system_error when no thread can be created
      throw Napi::Error::New(info.Env(), std::string("start: ") + e.what());
    }
    return info.Env().Undefined();
  }

  Napi::Value Join(const Napi::CallbackInfo& info) {
    Forwarder& f = get(info.Env());
    try {
      f.join();
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
    return Napi::Number::New(info.Env(), f.fanout_id());
  }

  Napi::Value Steer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const std::vector<uint8_t> owners = mcr::steering_owners(info.Length() > 0 ? info[0] : env.Undefined(), "steer(owners)");
    try {
      get(env).steer(owners);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  static int timeout_arg(const Napi::CallbackInfo& info, const char* fn) {
    const double ms = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(ms >= 0 && ms <= 60000)) throw Napi::TypeError::New(info.Env(), std::string(fn) + "(timeoutMs): a number of milliseconds, 0-60000");
    return static_cast<int>(ms);
  }

  Napi::Value Hold(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), get(info.Env()).hold(timeout_arg(info, "hold"))); }

  Napi::Value Release(const Napi::CallbackInfo& info) {
    get(info.Env()).release();
    return info.Env().Undefined();
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), get(info.Env()).barrier(timeout_arg(info, "barrier"))); }

  // The few counters the autoscaler reads each second, without the per-rule ones stats() builds.
  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const mcr::ForwarderCounters c = get(env).counters();
    Napi::Object out = Napi::Object::New(env);
    out.Set("rx", static_cast<double>(c.rx));
    out.Set("kernelDrops", static_cast<double>(c.kernel_drops));
    return out;
  }

  Napi::Value SetRules(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "setRules(rules): rules must be an array");
    const std::vector<mcr::RuleSpec> specs = mcr::rule_specs(info[0].As<Napi::Array>());
    try {
      get(env).set_rules(specs);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Forwarder& f = get(env);
    mcr::ForwarderCounters c = f.counters();
    Napi::Object out = Napi::Object::New(env);
#define MCR_SET(field, key) out.Set(key, static_cast<double>(c.field));
    MCR_WORKER_COUNTERS(MCR_SET)
#undef MCR_SET
    Napi::Object dropped = Napi::Object::New(env);
    for (size_t i = 1; i < mcr::kParseStatusCount; ++i) dropped.Set(mcr::status_name(static_cast<mcr::ParseStatus>(i)), static_cast<double>(c.dropped[i]));
    dropped.Set("vlan_tagged", static_cast<double>(c.vlan_tagged));  // well-formed, but another VLAN's
    out.Set("dropped", dropped);
    Napi::Array rules = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& r : f.rule_stats()) {
      Napi::Object ro = Napi::Object::New(env);
      ro.Set("id", r.id);
      ro.Set("packets", static_cast<double>(r.packets));
      ro.Set("bytes", static_cast<double>(r.bytes));
      Napi::Array outs = Napi::Array::New(env);
      uint32_t k = 0;
      for (const auto& o : r.outputs) {
        Napi::Object oo = Napi::Object::New(env);
        oo.Set("packets", static_cast<double>(o.packets));
        oo.Set("bytes", static_cast<double>(o.bytes));
        oo.Set("errors", static_cast<double>(o.errors));
        outs.Set(k++, oo);
      }
      ro.Set("outputs", outs);
      rules.Set(i++, ro);
    }
    out.Set("rules", rules);
    return out;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (forwarder_) forwarder_->stop();
    return info.Env().Undefined();
  }

  std::unique_ptr<Forwarder> forwarder_;
};

// new LinkWatcher(callback): calls callback({kind, index, name, up}) on the JS thread for every
// RTM_NEWLINK/RTM_DELLINK, and {kind: 'overrun'} when the kernel dropped events. Does not keep
// the process alive; stop() ends the thread.
class LinkWatcherWrap : public Napi::ObjectWrap<LinkWatcherWrap> {
 public:
  static Napi::Function Define(Napi::Env env) { return DefineClass(env, "LinkWatcher", {InstanceMethod<&LinkWatcherWrap::Stop>("stop")}); }

  explicit LinkWatcherWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LinkWatcherWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "new LinkWatcher(callback): callback must be a function");
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "mcr link watcher", 0, 1);
    tsfn_.Unref(env);
    Napi::ThreadSafeFunction tsfn = tsfn_;
    try {
      watcher_ = std::make_unique<mcr::LinkWatcher>([tsfn](const mcr::LinkEvent& e) mutable {
        auto* copy = new mcr::LinkEvent(e);
        napi_status status = tsfn.NonBlockingCall(copy, [](Napi::Env env, Napi::Function callback, mcr::LinkEvent* event) {
          std::unique_ptr<mcr::LinkEvent> owned(event);
          if (env != nullptr && callback != nullptr) callback.Call({link_event_object(env, *owned)});
        });
        if (status != napi_ok) delete copy;  // queue closing: mcrd is shutting down
      });
    } catch (const std::exception& e) {
      tsfn_.Release();
      released_ = true;
      throw Napi::Error::New(env, e.what());
    }
  }

  ~LinkWatcherWrap() override { shutdown(); }

 private:
  void shutdown() {
    watcher_.reset();  // joins the thread: no call is queued after this
    if (!released_) tsfn_.Release();
    released_ = true;
  }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    shutdown();
    return info.Env().Undefined();
  }

  Napi::ThreadSafeFunction tsfn_;
  std::unique_ptr<mcr::LinkWatcher> watcher_;
  bool released_ = false;
};

int fd_arg(const Napi::CallbackInfo& info, const char* fn) {
  const double d = info.Length() < 1 || !info[0].IsNumber() ? -1 : info[0].As<Napi::Number>().DoubleValue();
  // NaN or 1.5 must not become fd 0 or 1 (ToInt32 would): only a non-negative integer is an fd.
  if (!(d >= 0 && d <= 2147483647.0 && d == std::trunc(d))) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": fd must be a non-negative integer");
  return static_cast<int>(d);
}

std::string str_arg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": " + name + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

template <void (*Op)(int, const std::string&, const std::string&)>
Napi::Value Membership(const Napi::CallbackInfo& info) {
  const char* fn = Op == mcr::igmp_join ? "igmpJoin" : "igmpLeave";
  int fd = fd_arg(info, fn);
  std::string ifname = str_arg(info, 1, fn, "ifname");
  std::string group = str_arg(info, 2, fn, "group");
  try {
    Op(fd, ifname, group);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

template <void (*Op)(int, const std::string&, const std::string&, const std::string&)>
Napi::Value SourceMembership(const Napi::CallbackInfo& info) {
  const char* fn = Op == mcr::igmp_join_source ? "igmpJoinSource" : "igmpLeaveSource";
  int fd = fd_arg(info, fn);
  std::string ifname = str_arg(info, 1, fn, "ifname");
  std::string group = str_arg(info, 2, fn, "group");
  std::string source = str_arg(info, 3, fn, "source");
  try {
    Op(fd, ifname, group, source);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

// igmpOpenSocket(family?: 4 | 6): an IGMP (4, the default) or MLD (6) helper socket.
Napi::Value IgmpOpen(const Napi::CallbackInfo& info) {
  int family = 4;
  if (info.Length() >= 1 && !info[0].IsUndefined()) {
    const double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    if (d != 4 && d != 6) throw Napi::TypeError::New(info.Env(), "igmpOpenSocket: family must be 4 or 6");
    family = static_cast<int>(d);
  }
  try {
    return Napi::Number::New(info.Env(), mcr::igmp_open_socket(family));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
}

Napi::Value IgmpClose(const Napi::CallbackInfo& info) {
  mcr::igmp_close(fd_arg(info, "igmpClose"));
  return info.Env().Undefined();
}

// peerCredentials(fd): the pid, uid and gid of the process at the other end of a Unix socket
// (SO_PEERCRED, fixed when it connected), so mcrd can log who changed what.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  const int fd = fd_arg(info, "peerCredentials");
  ucred cred{};
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0) {
    throw Napi::Error::New(info.Env(), std::string("peerCredentials: SO_PEERCRED on fd ") + std::to_string(fd) + ": " + std::strerror(errno));
  }
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("pid", static_cast<double>(cred.pid));
  out.Set("uid", static_cast<double>(cred.uid));
  out.Set("gid", static_cast<double>(cred.gid));
  return out;
}

Napi::Value InterfaceIndex(const Napi::CallbackInfo& info) {
  std::string name = str_arg(info, 0, "interfaceIndex", "name");
  return Napi::Number::New(info.Env(), name.size() < IF_NAMESIZE ? if_nametoindex(name.c_str()) : 0);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Forwarder", ForwarderWrap::Define(env));
  exports.Set("igmpOpenSocket", Napi::Function::New<IgmpOpen>(env, "igmpOpenSocket"));
  exports.Set("igmpJoin", Napi::Function::New<Membership<mcr::igmp_join>>(env, "igmpJoin"));
  exports.Set("igmpLeave", Napi::Function::New<Membership<mcr::igmp_leave>>(env, "igmpLeave"));
  exports.Set("igmpJoinSource", Napi::Function::New<SourceMembership<mcr::igmp_join_source>>(env, "igmpJoinSource"));
  exports.Set("igmpLeaveSource", Napi::Function::New<SourceMembership<mcr::igmp_leave_source>>(env, "igmpLeaveSource"));
  exports.Set("igmpClose", Napi::Function::New<IgmpClose>(env, "igmpClose"));
  exports.Set("LinkWatcher", LinkWatcherWrap::Define(env));
  exports.Set("peerCredentials", Napi::Function::New<PeerCredentials>(env, "peerCredentials"));
  exports.Set("interfaceIndex", Napi::Function::New<InterfaceIndex>(env, "interfaceIndex"));
  return exports;
}

}  // namespace

NODE_API_MODULE(mcr, Init)
