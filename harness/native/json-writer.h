// A small JSON writer for the instrument's one-line summaries: it places the commas, colons and
// quotes, so the report code says only which fields go out, in which order, and how numbers print.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

namespace mcr {

class JsonWriter {
 public:
  JsonWriter& begin_object() { return open('{'); }
  JsonWriter& end_object() { return close('}'); }
  JsonWriter& begin_array() { return open('['); }
  JsonWriter& end_array() { return close(']'); }

  // The key of the next value in an object.
  JsonWriter& key(const char* name) {
    separate();
    append_string(name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  template <typename T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  JsonWriter& value(T v) {
    return raw(std::to_string(v));
  }
  JsonWriter& value(bool v) { return raw(v ? "true" : "false"); }
  JsonWriter& value(const std::string& v) {
    separate();
    append_string(v);
    return *this;
  }
  // A number printed with a fixed count of decimals (rates, seconds, means).
  JsonWriter& fixed(double v, int decimals) {
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, v);
    return raw(text);
  }

  // key(name) and its value in one call.
  template <typename T>
  JsonWriter& field(const char* name, T v) {
    return key(name).value(v);
  }

  const std::string& text() const { return out_; }

 private:
  JsonWriter& open(char bracket) {
    separate();
    out_ += bracket;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& close(char bracket) {
    out_ += bracket;
    if (!first_.empty()) first_.pop_back();
    return *this;
  }
  JsonWriter& raw(const std::string& text) {
    separate();
    out_ += text;
    return *this;
  }
  // A comma before every member of an object or array but its first; none after a key.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
  void append_string(const std::string& s) {
    out_ += '"';
    for (const char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned char>(c));
        out_ += escaped;
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }

  std::string out_;
  std::vector<bool> first_;  // per open object or array: nothing written in it yet
  bool after_key_ = false;
};

}  // namespace mcr
