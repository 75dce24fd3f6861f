// base/json_io: the limits of the one JSON loader (size, depth, duplicate keys), errors that name
// the source without dumping values, the strict merge's suggestions and `--set` with list indices.
#include <catch2/catch.hpp>

#include <string>

#include "base/check.h"
#include "base/json_io.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;
using nlohmann::json;
using Catch::Matchers::Contains;

TEST_CASE("json_io: deep nesting is refused without recursing through it", "[base][json]") {
  // 100k levels would overflow the stack of a recursive parser or destructor.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_THROWS_WITH(parse_json_text(deep, "deep.json"), Contains("deep.json") && Contains("nesting deeper than 64"));
  const std::string in_object = "{\"a\": " + std::string(5000, '[') + std::string(5000, ']') + "}";
  CHECK_THROWS_WITH(parse_json_text(in_object, "cfg.json"), Contains("nesting deeper"));
  CHECK_NOTHROW(parse_json_text(std::string(10, '[') + std::string(10, ']'), "ok.json"));
}

TEST_CASE("json_io: duplicate keys, size limit, syntax errors name the source", "[base][json]") {
  CHECK_THROWS_WITH(parse_json_text(R"({"train": {"epochs": 1, "epochs": 2}})", "dup.json"),
                    Contains("dup.json") && Contains("duplicate key 'epochs'"));
  CHECK_NOTHROW(parse_json_text(R"({"a": {"x": 1}, "b": {"x": 2}})", "same key in two objects"));
  JsonLimits small;
  small.max_bytes = 10;
  CHECK_THROWS_WITH(parse_json_text(R"({"abcdefghijk": 1})", "big.json", small), Contains("big.json") &&
                                                                                  Contains("more than the 10"));
  const std::string msg = error_of([] { parse_json_text("{\"a\": }", "bad.json"); });
  CHECK_THAT(msg, Contains("bad.json: invalid JSON") && Contains("line 1"));
  CHECK(msg.find("[json.exception") == std::string::npos);
  CHECK_NOTHROW(parse_json_text("{\"a\": 1 // a comment\n}", "comments.json"));
}

TEST_CASE("json_io: read_json_file refuses what is not a small regular file", "[base][json]") {
  TempDir dir;
  CHECK_THROWS_WITH(read_json_file(dir.file("missing.json")), Contains("missing.json") && Contains("cannot open"));
  CHECK_THROWS_WITH(read_json_file(dir.path), Contains("not a regular file"));
  CHECK_THROWS_WITH(read_json_file("/dev/zero"), Contains("/dev/zero") && Contains("not a regular file"));
  write_bytes(dir.file("ok.json"), {'{', '}'});
  CHECK(read_json_file(dir.file("ok.json")).is_object());
}

TEST_CASE("json_io: merge_strict names the key, its kind and the nearest valid key", "[base][json]") {
  const json defaults = json::parse(R"({"train": {"epochs": 3, "lr": 0.001}, "data": {"path": ""}})");
  json base = defaults;
  CHECK_THROWS_WITH(merge_strict(base, json::parse(R"({"train": {"epoch": 1}})"), defaults, "", "c.json"),
                    Contains("c.json: unknown config key 'train.epoch' (did you mean 'train.epochs'?)"));
  CHECK_THROWS_WITH(merge_strict(base, json::parse(R"({"train": {"lr": "fast"}})"), defaults, "", "c.json"),
                    Contains("'train.lr' must be a number, got a string"));
  const json long_list = json::parse("{\"data\": {\"path\": [" + std::string(200, '1') + ", 2, 3]}}");
  const std::string msg = error_of([&] { merge_strict(base, long_list, defaults, "", "c.json"); });
  CHECK(msg.size() < 200);  // a value is abbreviated, never dumped whole
  merge_strict(base, json::parse(R"({"train": {"epochs": 7}})"), defaults, "", "c.json");
  CHECK(base["train"]["epochs"] == 7);
  CHECK(base["train"]["lr"] == 0.001);
}

TEST_CASE("json_io: --set sets nested keys and list elements, and names --set in errors", "[base][json]") {
  const json defaults = json::parse(R"({"model": {"lanes": [{"width": 4}, {"width": 4}], "routings": 3}})");
  json user = json::object();
  apply_set_overrides(user, {"model.routings=2", "model.lanes.1.width=3"}, &defaults);
  CHECK(user["model"]["routings"] == 2);
  REQUIRE(user["model"]["lanes"].size() == 2);  // the default list, with element 1 changed
  CHECK(user["model"]["lanes"][0]["width"] == 4);
  CHECK(user["model"]["lanes"][1]["width"] == 3);
  apply_set_overrides(user, {"model.lanes=[{\"width\": 1}]"}, &defaults);
  CHECK(user["model"]["lanes"].size() == 1);
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model.lanes.5.width=1"}, &defaults),
                    Contains("--set model.lanes.5.width=1") && Contains("not an index of a list of 1"));
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model.routing=1"}, &defaults),
                    Contains("--set model.routing=1: unknown config key 'model.routing' (did you mean 'model.routings'?)"));
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model.routings"}, &defaults), Contains("expected key=value"));
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model..x=1"}, &defaults), Contains("not a dotted key"));
  apply_set_overrides(user, {"model.routings=word"}, nullptr);
  CHECK(user["model"]["routings"] == "word");  // a bare word is a string (the config parser rejects it)
}

TEST_CASE("json_io: integers are range-checked before narrowing", "[base][json]") {
  CHECK(json_int_in(json(5), "k", 1, 10, "s") == 5);
  CHECK_THROWS_WITH(json_int_in(json(uint64_t(1) << 33), "train.epochs", 0, 1000000, "c.json"),
                    Contains("c.json: train.epochs must be an integer in 0..1000000, got 8589934592"));
  CHECK_THROWS_WITH(json_int_in(json(UINT64_MAX), "k", 0, 10, "s"), Contains("k must be an integer"));
  CHECK_THROWS_WITH(json_int_in(json(2.5), "k", 0, 10, "s"), Contains("got 2.5"));
}

TEST_CASE("json_io: a --set value with invalid UTF-8 or deep nesting is one clear error (fuzz_set finding)", "[json][set]") {
  const json defaults = {{"runtime", {{"device", "auto"}}}};
  json user = json::object();
  CHECK_THROWS_WITH(apply_set_overrides(user, {"runtime.device=\xff\xfe"}, &defaults),
                    Catch::Matchers::Contains("--set runtime.device: the value is not valid UTF-8"));
  CHECK_THROWS_WITH(apply_set_overrides(user, {"runtime.device=" + std::string(100000, '[')}, &defaults),
                    Catch::Matchers::Contains("nesting deeper than 64"));
  CHECK(json_brief(json("\xff")).size() > 0);
  apply_set_overrides(user, {"runtime.device=cpu"}, &defaults);
  CHECK(user["runtime"]["device"] == "cpu");
}

TEST_CASE("json_io: a key or value holding control characters is named on one line", "[base][json]") {
  const json defaults = json::parse(R"({"model": {"lane_dropout": 0.5}})");
  json base = defaults;
  // The config fuzzer's finding: a key "l<newline>e_dropout" made a two-line error message.
  const std::string msg =
      error_of([&] { merge_strict(base, json::parse("{\"model\": {\"l\\ne_dropout\": 0.5}}"), defaults, "", "c.json"); });
  CHECK_THAT(msg, Contains("unknown config key 'model.l\\ne_dropout'"));
  CHECK(msg.find('\n') == std::string::npos);
  const std::string tabbed = error_of([] { MLCN_FAIL("a\tb\x01" << "c\r"); });
  CHECK_THAT(tabbed, Catch::Matchers::EndsWith(": a\\tb\\x01c\\r"));
}

TEST_CASE("json_io: --set into a list element that an earlier --set made a value (fuzz_set finding)", "[json][set]") {
  const json defaults = json::parse(R"({"model": {"lanes": [{"width": 4}, {"width": 4}]}})");
  json user = json::object();
  // A trailing dot was dropped by the split, so "model.lanes.1.=" set the whole element to "".
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model.lanes.1.="}, &defaults),
                    Catch::Matchers::Contains("'model.lanes.1.' is not a dotted key"));
  // The element made a value by a valid --set: the next --set into it names the key, and the
  // JSON library's type error never escapes.
  apply_set_overrides(user, {"model.lanes.1=7"}, &defaults);
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model.lanes.1.width=2"}, &defaults),
                    Catch::Matchers::Contains("--set model.lanes.1.width=2: 'model.lanes.1' is not a section"));
  CHECK_THROWS_WITH(apply_set_overrides(user, {"model.lanes.1.a.b=2"}, &defaults),
                    Catch::Matchers::Contains("'model.lanes.1' is not a section"));
}
