// A link event as JavaScript sees it ({kind, index, name, up}, or {kind: 'overrun'}): the
// LinkWatcher's callbacks and the test addon's parseLinkMessages build the same object.
#pragma once
#include <napi.h>

#include "links.h"

namespace mcr {

inline Napi::Object link_event_object(Napi::Env env, const mcr::LinkEvent& e) {
  Napi::Object o = Napi::Object::New(env);
  const char* kind = e.kind == mcr::LinkEvent::Kind::added ? "added" : e.kind == mcr::LinkEvent::Kind::removed ? "removed" : "overrun";
  o.Set("kind", kind);
  if (e.kind != mcr::LinkEvent::Kind::overrun) {
    o.Set("index", e.index);
    o.Set("name", e.name);
    o.Set("up", e.up);
  }
  return o;
}

}  // namespace mcr
