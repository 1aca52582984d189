// Rule specs from JavaScript (relay/src/native.ts NativeRule[]), and the field readers the bindings share.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "rules.h"

namespace mcr {

// Field readers: throw Napi::TypeError naming `what` and the key.
std::string string_field(const Napi::Object& o, const char* key, const std::string& what);
int int_field(const Napi::Object& o, const char* key, const std::string& what, int fallback, bool required);

// The rules of a JS array; throws Napi::TypeError naming the rule and field. Values are checked
// by TableBuilder::build.
std::vector<RuleSpec> rule_specs(const Napi::Array& rules);

}  // namespace mcr
