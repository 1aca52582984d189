// The test addon's pieces (mcr-test.node, test_addon.cc): relay code exposed to tests, fuzz
// seeds and `npm run bench` that mcrd never calls, kept out of mcr.node.
#pragma once
#include <napi.h>

namespace mcr {

void RegisterBench(Napi::Env env, Napi::Object exports);        // bench.cc
void RegisterParseFrame(Napi::Env env, Napi::Object exports);   // napi_parse.cc
void RegisterReassembly(Napi::Env env, Napi::Object exports);   // napi_reassembly.cc
void RegisterRuleLookup(Napi::Env env, Napi::Object exports);   // napi_rule_lookup.cc

}  // namespace mcr
