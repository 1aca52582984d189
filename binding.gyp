{
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
    "cflags_cc!": ["-fno-exceptions"],
    "cflags!": ["-fno-exceptions"]
  },
  "targets": [
    {
      "target_name": "mcr",
      "sources": [
        "relay/native/addon.cc",
        "relay/native/parse.cc",
        "relay/native/reassembly.cc",
        "relay/native/rules.cc",
        "relay/native/ingress.cc",
        "relay/native/egress.cc",
        "relay/native/headers.cc",
        "relay/native/link_facts.cc",
        "relay/native/forwarder.cc",
        "relay/native/link_watch.cc",
        "relay/native/igmp.cc",
        "relay/native/links.cc",
        "relay/native/napi_rules.cc",
        "relay/native/napi_steering.cc",
        "relay/native/steering.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "mcr-test",
      "sources": [
        "relay/native/test_addon.cc",
        "relay/native/bench.cc",
        "relay/native/napi_parse.cc",
        "relay/native/napi_reassembly.cc",
        "relay/native/napi_rule_lookup.cc",
        "relay/native/napi_rules.cc",
        "relay/native/parse.cc",
        "relay/native/reassembly.cc",
        "relay/native/rules.cc",
        "relay/native/egress.cc",
        "relay/native/headers.cc",
        "relay/native/link_facts.cc",
        "relay/native/links.cc",
        "relay/native/steering.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_CPP_EXCEPTIONS", "NAPI_VERSION=8"],
      "libraries": ["-lpthread"]
    },
    {
      "target_name": "mcr-gen",
      "type": "executable",
      "sources": ["harness/native/gen.cc", "harness/native/payload.cc", "relay/native/headers.cc", "relay/native/link_facts.cc"]
    },
    {
      "target_name": "mcr-sink",
      "type": "executable",
      "sources": ["harness/native/sink.cc", "harness/native/payload.cc"]
    }
  ]
}
