// The project's one JSON loader, strict merge and `--set` (json_io.h).
#include "base/json_io.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "base/check.h"  // defines: MLCN_CHECK, MLCN_FAIL

namespace mlcn {
using nlohmann::json;

namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at ...".
std::string strip_exception_prefix(const std::string& what) {
  const size_t close = what.find("] ");
  return what.rfind("[json.exception", 0) == 0 && close != std::string::npos ? what.substr(close + 2) : what;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

bool same_kind(const json& def, const json& v) {
  if (def.is_number_float()) return v.is_number();
  if (def.is_number_integer() || def.is_number_unsigned()) return v.is_number_integer() || v.is_number_unsigned();
  if (def.is_boolean()) return v.is_boolean();
  if (def.is_string()) return v.is_string();
  if (def.is_array()) return v.is_array();
  if (def.is_object()) return v.is_object();
  return false;
}

std::string did_you_mean(const std::string& key, const json* defaults) {
  if (!defaults) return "";
  const std::string near = nearest_key(key, dotted_keys(*defaults));
  return near.empty() ? "" : " (did you mean '" + near + "'?)";
}

bool is_index(const std::string& part) {
  return !part.empty() && part.size() <= 9 && std::all_of(part.begin(), part.end(), ::isdigit);
}

}  // namespace

const char* json_kind(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  return "null";
}

std::string json_brief(const json& v) {
  std::string s;
  if (v.is_array()) s = v.empty() ? "[]" : "[" + json_brief(v[0]) + (v.size() > 1 ? ", ...]" : "]");
  else if (v.is_object()) s = v.empty() ? "{}" : "{\"" + v.begin().key() + "\": ...}";
  else s = v.dump(-1, ' ', false, json::error_handler_t::replace);  // never throws on bad UTF-8
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

json parse_json_text(const std::string& text, const std::string& source, const JsonLimits& limits) {
  MLCN_CHECK(text.size() <= limits.max_bytes,
             source << ": " << text.size() << " bytes is more than the " << limits.max_bytes << " allowed for JSON");
  // Depth and duplicate keys are checked while parsing, so a hostile file never builds a deep tree.
  std::vector<std::set<std::string>> keys;  // keys seen in each open object
  std::string error;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (!error.empty()) return false;
    if (depth > limits.max_depth) {
      error = "nesting deeper than " + std::to_string(limits.max_depth) + " levels";
      return false;
    }
    if (event == json::parse_event_t::object_start) keys.emplace_back();
    else if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
    else if (event == json::parse_event_t::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
      error = "duplicate key '" + parsed.get<std::string>() + "'";
    return true;
  };
  json j;
  try {
    j = json::parse(text, callback, true, true);
  } catch (const json::exception& e) {
    if (error.empty()) MLCN_FAIL(source << ": invalid JSON: " << strip_exception_prefix(e.what()));
  }
  MLCN_CHECK(error.empty(), source << ": invalid JSON: " << error);
  return j;
}

json read_json_file(const std::string& path, const JsonLimits& limits) {
  struct stat st {};
  MLCN_CHECK(::stat(path.c_str(), &st) == 0, path << ": cannot open (no such file)");
  MLCN_CHECK(S_ISREG(st.st_mode), path << ": not a regular file");
  MLCN_CHECK(size_t(st.st_size) <= limits.max_bytes,
             path << ": " << st.st_size << " bytes is more than the " << limits.max_bytes << " allowed for JSON");
  std::ifstream in(path, std::ios::binary);
  MLCN_CHECK(in.good(), path << ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json_text(ss.str(), path, limits);
}

std::string nearest_key(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, key.size() / 3) + 1;
  for (const std::string& c : candidates) {
    const size_t d = edit_distance(key, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::vector<std::string> dotted_keys(const json& defaults, const std::string& prefix) {
  std::vector<std::string> out;
  if (!defaults.is_object()) return out;
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    out.push_back(key);
    for (const std::string& k : dotted_keys(*it, key)) out.push_back(k);
  }
  return out;
}

void merge_strict(json& base, const json& user, const json& defaults, const std::string& path, const std::string& src,
                  const std::set<std::string>& any_kind) {
  MLCN_CHECK(user.is_object(), src << ": " << (path.empty() ? "the config" : path) << " must be an object");
  for (auto it = user.begin(); it != user.end(); ++it) {
    const std::string key = path.empty() ? it.key() : path + "." + it.key();
    if (!defaults.contains(it.key())) {
      std::vector<std::string> siblings;
      for (auto d = defaults.begin(); d != defaults.end(); ++d) siblings.push_back(path.empty() ? d.key() : path + "." + d.key());
      const std::string near = nearest_key(key, siblings);
      MLCN_FAIL(src << ": unknown config key '" << key << "'" << (near.empty() ? "" : " (did you mean '" + near + "'?)"));
    }
    const json& d = defaults.at(it.key());
    if (any_kind.count(key)) {
      base[it.key()] = *it;
      continue;
    }
    MLCN_CHECK(same_kind(d, *it), src << ": config key '" << key << "' must be " << json_kind(d) << ", got "
                                      << json_kind(*it) << " (" << json_brief(*it) << ")");
    if (d.is_object()) {
      if (!base[it.key()].is_object()) base[it.key()] = d;
      merge_strict(base[it.key()], *it, d, key, src, any_kind);
    } else {
      base[it.key()] = *it;
    }
  }
}

namespace {
// The first n parts of a dotted key, joined again ("model.lanes.1").
std::string join_parts(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? "." : "") + parts[i];
  return out;
}
}  // namespace

void apply_set_overrides(json& user, const std::vector<std::string>& overrides, const json* defaults) {
  for (const std::string& o : overrides) {
    const size_t eq = o.find('=');
    MLCN_CHECK(eq != std::string::npos && eq > 0, "--set " << o << ": expected key=value");
    const std::string key = o.substr(0, eq), text = o.substr(eq + 1);
    std::vector<std::string> parts;
    std::stringstream ks(key);
    for (std::string p; std::getline(ks, p, '.');) parts.push_back(p);
    // getline drops a trailing empty part ("a.b."): the key's last character is checked too.
    MLCN_CHECK(!parts.empty() && key.back() != '.' &&
                   std::none_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }),
               "--set " << o << ": '" << key << "' is not a dotted key");
    if (defaults) {  // unknown sections and keys are named here, with the nearest valid key
      const json* d = defaults;
      std::string path;
      for (const std::string& p : parts) {
        if (d->is_array() && is_index(p)) break;  // list elements are checked by the config's own parser
        path += (path.empty() ? "" : ".") + p;
        MLCN_CHECK(d->is_object() && d->contains(p), "--set " << o << ": unknown config key '" << path << "'"
                                                              << did_you_mean(path, defaults));
        d = &(*d)[p];
      }
    }
    json* node = &user;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      const std::string& p = parts[i];
      // A list element an earlier --set made a value has no keys to set.
      MLCN_CHECK(node->is_object() || node->is_array(),
                 "--set " << o << ": '" << join_parts(parts, i) << "' is not a section");
      if (node->is_array()) {
        MLCN_CHECK(is_index(p) && std::stoul(p) < node->size(),
                   "--set " << o << ": '" << p << "' is not an index of a list of " << node->size());
        node = &(*node)[std::stoul(p)];
        continue;
      }
      json& next = (*node)[p];
      if (next.is_null()) {
        const json* d = defaults;  // a list the user did not write starts from its default
        for (size_t k = 0; d && k <= i; ++k) d = d->is_object() && d->contains(parts[k]) ? &(*d)[parts[k]] : nullptr;
        next = (d && d->is_array() && is_index(parts[i + 1])) ? *d : json::object();
      }
      MLCN_CHECK(next.is_object() || next.is_array(), "--set " << o << ": '" << p << "' is not a section");
      node = &next;
    }
    json v;
    try {  // the one loader: size, depth and duplicate-key limits apply to --set values too
      v = parse_json_text(text, "--set " + key);
    } catch (const Error&) {
      if (!text.empty() && (text[0] == '[' || text[0] == '{')) throw;  // meant as JSON
      v = json(text);  // a bare word is a string
      try {
        (void)v.dump();
      } catch (const json::exception&) {
        MLCN_FAIL("--set " << key << ": the value is not valid UTF-8");
      }
    }
    if (node->is_array()) {
      const std::string& p = parts.back();
      MLCN_CHECK(is_index(p) && std::stoul(p) < node->size(),
                 "--set " << o << ": '" << p << "' is not an index of a list of " << node->size());
      (*node)[std::stoul(p)] = v;
    } else {
      MLCN_CHECK(node->is_object(),
                 "--set " << o << ": '" << join_parts(parts, parts.size() - 1) << "' is not a section");
      (*node)[parts.back()] = v;
    }
  }
}

int64_t json_int_in(const json& v, const std::string& key, int64_t lo, int64_t hi, const std::string& src) {
  bool ok = v.is_number_integer() || v.is_number_unsigned();
  if (ok && v.is_number_unsigned()) ok = v.get<uint64_t>() <= uint64_t(INT64_MAX);
  MLCN_CHECK(ok && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi,
             src << ": " << key << " must be an integer in " << lo << ".." << hi << ", got " << json_brief(v));
  return v.get<int64_t>();
}

}  // namespace mlcn
