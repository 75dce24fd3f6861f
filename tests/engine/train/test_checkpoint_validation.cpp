// engine/train/checkpoint: format 2 refuses header edits that stay well-formed (checksum over
// header and data), validates every tensor and metadata key against the model (each error names
// the file and the tensor or key), refuses non-finite weights and moments, and survives deeply
// nested JSON in the header and the embedded config. A refused load leaves the model untouched.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>

#include "base/check.h"
#include "engine/io/safetensors.h"
#include "engine/optim/adam.h"
#include "engine/train/checkpoint.h"
#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

const char* kConfig = R"({"model": {"lanes": [{"type": "mlcn1", "width": 1, "depth": 1}]}})";

struct Fixture {
  TempDir dir;
  Config cfg = parse_config(kConfig, "test");
  Model model{model_spec(cfg)};
  std::string path = dir.file("c.safetensors");
  Fixture() {
    model.init(3);
    Adam opt(model.all_params());
    for (Param* p : model.all_params()) p->var->grad_buffer().fill_(0.01);
    opt.step(1e-3);
    save_checkpoint(path, model, {&opt}, cfg, 1);
  }
  // The checkpoint rewritten by `edit` with valid checksums (so only the validation can refuse it).
  std::string rewritten(const std::string& name, const std::function<void(StFile&)>& edit) {
    StFile f = read_safetensors(path);
    edit(f);
    const std::string out = dir.file(name);
    write_safetensors(out, f);
    return out;
  }
  // The checkpoint with `from` replaced by `to` (same length) in its raw bytes.
  std::string patched(const std::string& name, const std::string& from, const std::string& to) {
    std::vector<uint8_t> b = read_bytes(path);
    std::string s(b.begin(), b.end());
    const size_t at = s.find(from);
    REQUIRE(at != std::string::npos);
    REQUIRE(from.size() == to.size());
    s.replace(at, from.size(), to);
    const std::string out = dir.file(name);
    write_bytes(out, std::vector<uint8_t>(s.begin(), s.end()));
    return out;
  }
  std::string load_error(const std::string& p) {
    Model m(model_spec(cfg));
    m.init(9);
    Adam opt(m.all_params());
    const float before = float(m.all_params()[0]->var->value.item(0));
    std::string e = error_of([&] { load_checkpoint(p, m, {&opt}); });
    if (e != "(no error)") {  // a refused file changes nothing
      CHECK(float(m.all_params()[0]->var->value.item(0)) == before);
      CHECK(opt.t() == 0);
    }
    return e;
  }
};

std::string first_param(Fixture& fx) { return fx.model.all_params()[0]->name; }

std::string nested(int depth) { return std::string(size_t(depth), '[') + std::string(size_t(depth), ']'); }

}  // namespace

TEST_CASE("checkpoint v2: header edits that stay well-formed are refused by the checksum", "[checkpoint][v2]") {
  Fixture fx;
  CHECK(fx.load_error(fx.path) == "(no error)");
  check_message(fx.load_error(fx.patched("dtype.safetensors", "\"dtype\":\"F32\"", "\"dtype\":\"I32\"")),
                {"dtype.safetensors", "corrupt checkpoint", "header and data"});
  check_message(fx.load_error(fx.patched("epoch.safetensors", "\"epoch\":\"1\"", "\"epoch\":\"7\"")),
                {"epoch.safetensors", "corrupt checkpoint"});
  check_message(fx.load_error(fx.patched("cfg.safetensors", "\\\"routings\\\":3", "\\\"routings\\\":4")),
                {"cfg.safetensors", "corrupt checkpoint"});
  // Renaming the checksum key does not turn the check off.
  check_message(fx.load_error(fx.patched("renamed.safetensors", "\"mlcn.file_crc32\"", "\"mlcn.file_crc3x\"")),
                {"renamed.safetensors", "requires mlcn.file_crc32"});
}

TEST_CASE("checkpoint v2: two same-size tensors' offsets swapped are refused", "[checkpoint][v2]") {
  Fixture fx;
  const StFile f = read_safetensors(fx.path);
  std::vector<uint8_t> b = read_bytes(fx.path);
  uint64_t n = 0;
  std::memcpy(&n, b.data(), 8);
  nlohmann::json h = nlohmann::json::parse(std::string(b.begin() + 8, b.begin() + 8 + long(n)));
  const std::string w = first_param(fx), m = "adam.m." + w;
  std::swap(h[w]["data_offsets"], h[m]["data_offsets"]);
  std::string text = h.dump();
  text.append(size_t(n) - text.size(), ' ');
  REQUIRE(text.size() == n);
  std::copy(text.begin(), text.end(), b.begin() + 8);
  write_bytes(fx.dir.file("swap.safetensors"), b);
  check_message(fx.load_error(fx.dir.file("swap.safetensors")), {"swap.safetensors", "corrupt checkpoint"});
}

TEST_CASE("checkpoint v2: dtype, shape, names and metadata are checked against the model", "[checkpoint][v2]") {
  Fixture fx;
  const std::string w = first_param(fx);
  check_message(fx.load_error(fx.rewritten("i32.safetensors", [&](StFile& f) {
                  StTensor& t = f.tensors[w];
                  t.dtype = StDType::I32;
                })),
                {"i32.safetensors", "tensor \"" + w + "\"", "dtype I32, expected F32"});
  check_message(fx.load_error(fx.rewritten("shape.safetensors", [&](StFile& f) {
                  StTensor& t = f.tensors[w];
                  t.shape = {t.numel()};
                })),
                {"shape.safetensors", "tensor \"" + w + "\"", "has shape"});
  check_message(fx.load_error(fx.rewritten("extra.safetensors", [&](StFile& f) {
                  float v = 1;
                  f.tensors["lanes.9.W"] = StTensor::from_f32({1}, &v);
                })),
                {"extra.safetensors", "unexpected tensor \"lanes.9.W\""});
  check_message(fx.load_error(fx.rewritten("nom.safetensors", [&](StFile& f) { f.tensors.erase("adam.m." + w); })),
                {"nom.safetensors", "no tensor \"adam.m." + w + "\""});
  check_message(fx.load_error(fx.rewritten("fmt.safetensors", [&](StFile& f) { f.metadata["format"] = "mlcn-checkpoint-9"; })),
                {"fmt.safetensors", "mlcn-checkpoint-9", "not one this build reads"});
}

TEST_CASE("checkpoint v2: integers in the metadata are range-checked, never wrapped", "[checkpoint][v2][bounds]") {
  Fixture fx;
  const std::pair<const char*, const char*> bad[] = {
      {"epoch", "-1"}, {"epoch", "99999999999999999999999"}, {"epoch", "4"},  // past train.epochs (3)
      {"epoch", "1e3"}, {"adam_t", "9223372036854775807"}, {"adam_t", "18446744073709551616"},
      {"adam_t", ""},   {"step", "5"}};  // step past adam_t
  int i = 0;
  for (const auto& kv : bad) {  // no structured bindings: lambdas cannot capture them in C++17 (clang)
    const std::string key = kv.first, value = kv.second;
    INFO(key << " = " << value);
    const std::string name = "int" + std::to_string(i++) + ".safetensors";
    const std::string e = fx.load_error(fx.rewritten(name, [&](StFile& f) { f.metadata[key] = value; }));
    check_message(e, {name, std::string("\"") + key + "\""});
  }
  check_message(fx.load_error(fx.rewritten("noepoch.safetensors", [&](StFile& f) { f.metadata.erase("epoch"); })),
                {"noepoch.safetensors", "\"epoch\" is missing"});
}

TEST_CASE("Adam: a step count outside [0, 2^40] is refused, never overflowed", "[checkpoint][bounds]") {
  Fixture fx;
  Adam opt(fx.model.all_params());
  CHECK_THROWS_AS(opt.set_t(std::numeric_limits<int64_t>::max()), Error);
  CHECK_THROWS_AS(opt.set_t(-1), Error);
  opt.set_t(int64_t(1) << 40);
  CHECK_THROWS_AS(opt.advance(1e-3), Error);
}

TEST_CASE("checkpoint v2: non-finite weights and moments are refused on load and never written", "[checkpoint][nan]") {
  Fixture fx;
  const std::string w = first_param(fx);
  for (float bad : {std::nanf(""), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
    for (const std::string& name : {w, "adam.m." + w, "adam.v." + w}) {
      INFO(name << " " << bad);
      const std::string e = fx.load_error(fx.rewritten("nan.safetensors", [&](StFile& f) {
        StTensor& t = f.tensors[name];
        std::memcpy(t.bytes.data() + 4, &bad, 4);
      }));
      check_message(e, {"nan.safetensors", "tensor \"" + name + "\"", "non-finite", "element 1"});
    }
  }
  const float negative = -1e-3f;
  check_message(fx.load_error(fx.rewritten("neg.safetensors", [&](StFile& f) {
                  std::memcpy(f.tensors["adam.v." + w].bytes.data(), &negative, 4);
                })),
                {"neg.safetensors", "adam.v." + w, "never negative"});
  // Saving a model holding NaN writes nothing.
  fx.model.all_params()[0]->var->value.data<float>()[0] = std::nanf("");
  const std::string out = fx.dir.file("never.safetensors");
  CHECK_ERROR(save_checkpoint(out, fx.model, {}, fx.cfg, 1), "never.safetensors", "not written", w);
  CHECK_FALSE(std::ifstream(out).good());
}

TEST_CASE("checkpoint: deeply nested JSON in the header or the embedded config is an error, not a crash",
          "[checkpoint][nested]") {
  Fixture fx;
  const std::string deep = nested(100000);  // 200 KB
  check_message(fx.load_error(fx.rewritten("cfg.safetensors", [&](StFile& f) { f.metadata["config"] = deep; })),
                {"cfg.safetensors", "metadata \"config\"", "nesting deeper than 64"});
  CHECK_ERROR(checkpoint_config(fx.dir.file("cfg.safetensors")), "cfg.safetensors", "nesting deeper");
  // In the header itself: a metadata value and a tensor entry.
  for (const std::string& header :
       {"{\"__metadata__\":{\"a\":" + deep + "}}", "{\"w\":{\"dtype\":\"F32\",\"shape\":" + deep + "}}"}) {
    std::string text = header;
    text.append((8 - text.size() % 8) % 8, ' ');
    std::vector<uint8_t> b(8 + text.size());
    const uint64_t n = text.size();
    std::memcpy(b.data(), &n, 8);
    std::memcpy(b.data() + 8, text.data(), text.size());
    write_bytes(fx.dir.file("deep.safetensors"), b);
    CHECK_ERROR(read_safetensors(fx.dir.file("deep.safetensors")), "deep.safetensors", "nesting deeper than 8");
  }
}

TEST_CASE("checkpoint: format 1 files still load, with the same validation", "[checkpoint][v1]") {
  Fixture fx;
  const std::string v1 = fx.rewritten("v1.safetensors", [](StFile& f) {
    f.metadata["format"] = "mlcn-checkpoint-1";
    for (const char* k : {"step", "dropout_rng", "epoch_margin", "epoch_recon", "epoch_seen", "epoch_correct",
                          "epoch_seconds"})
      f.metadata.erase(k);
  });
  CHECK(fx.load_error(v1) == "(no error)");
}
