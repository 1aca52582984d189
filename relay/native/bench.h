// Microbenchmark entry points for `npm run bench` (see bench.cc).
#pragma once
#include <napi.h>

void RegisterBench(Napi::Env env, Napi::Object exports);
