// JSON input for every file and flag the project reads: one loader with size, depth and
// duplicate-key limits, one strict merge of a user's object onto the defaults, and one `--set`
// implementation. Every error names where the text came from (a file, `--set ...`, a checkpoint)
// and the dotted key, never dumps a whole value, and suggests the nearest valid key.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>  // defines: nlohmann::json

namespace mlcn {

struct JsonLimits {
  size_t max_bytes = size_t(16) << 20;  // configs, devices and lanes files are a few KiB
  int max_depth = 64;                   // deepest legitimate config: 4 levels
};

// Parses `text` (comments allowed); `source` names it in errors. Rejects duplicate keys, nesting
// deeper than limits.max_depth and texts longer than limits.max_bytes.
nlohmann::json parse_json_text(const std::string& text, const std::string& source, const JsonLimits& limits = {});
// Reads a regular file of at most limits.max_bytes and parses it; errors name `path`.
nlohmann::json read_json_file(const std::string& path, const JsonLimits& limits = {});

// A value for errors: short, one line ("[1, 2, ...]" for long values).
std::string json_brief(const nlohmann::json& v);
// "a string", "an integer", ... for errors.
const char* json_kind(const nlohmann::json& v);

// The candidate closest to `key` by edit distance, or "" when none is close.
std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates);
// Every dotted key of `defaults` (objects recursed; "model.lanes.N.width" style for lists of
// objects is not listed: lists are leaves).
std::vector<std::string> dotted_keys(const nlohmann::json& defaults, const std::string& prefix = "");

// Merges `user` onto `base` (objects), checking every key and value kind against `defaults`,
// which lists every valid key. Errors name `source` and the dotted key (under prefix `path`) and
// suggest the nearest valid key. Keys in `any_kind` (dotted) are copied for the caller to check.
void merge_strict(nlohmann::json& base, const nlohmann::json& user, const nlohmann::json& defaults,
                  const std::string& path, const std::string& source, const std::set<std::string>& any_kind = {});

// Applies `--set key=value` overrides to `user`. Keys are dotted; a number selects a list
// element (`model.lanes.1.width=3`). The value is JSON, or a bare word taken as a string.
// `defaults` (may be null) is used to name the nearest valid key when a key is unknown.
void apply_set_overrides(nlohmann::json& user, const std::vector<std::string>& overrides,
                         const nlohmann::json* defaults = nullptr);

// Validates `user` with `overrides` applied: parse(json, source) builds the caller's config.
// An error the file alone does not have came from --set, so it is reported with source "--set";
// otherwise errors name `source`.
template <class Parse>
auto parse_with_overrides(const nlohmann::json& user, const std::vector<std::string>& overrides,
                          const nlohmann::json& defaults, const std::string& source, Parse parse) {
  if (overrides.empty()) return parse(user, source);
  nlohmann::json merged = user;
  apply_set_overrides(merged, overrides, &defaults);
  try {
    return parse(merged, source);
  } catch (const std::exception&) {
    bool file_ok = true;
    try {
      parse(user, source);
    } catch (const std::exception&) {
      file_ok = false;
    }
    if (!file_ok) throw;
    return parse(merged, std::string("--set"));
  }
}

// An integer value in [lo, hi]; errors name `source` and `key`. Never narrows silently.
int64_t json_int_in(const nlohmann::json& v, const std::string& key, int64_t lo, int64_t hi, const std::string& source);

}  // namespace mlcn
