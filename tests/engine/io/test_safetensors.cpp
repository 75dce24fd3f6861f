// safetensors: round trips of every dtype, the reference golden vector, the golden files
// written by the Python library, and one test per malformed-file case of ecosystem-notes
// §5.3 row 14 plus the CRC check (row 15), each with its own error message.
#include "engine/io/safetensors.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "file_test_util.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

// A file from a header text (no padding added) and a data section.
std::vector<uint8_t> st_bytes(const std::string& header, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> b;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i)));
  for (char c : header) b.push_back(static_cast<uint8_t>(c));
  for (uint8_t c : data) b.push_back(c);
  return b;
}

StFile parse(const std::vector<uint8_t>& b) {
  return parse_safetensors(b.data(), b.size(), "mem.safetensors");
}

std::string parse_error(const std::vector<uint8_t>& b) {
  return error_of([&] { parse(b); });
}

const std::string kGolden = std::string(MLCN_SOURCE_DIR) + "/tests/golden/";

}  // namespace

TEST_CASE("safetensors: the reference golden vector parses", "[safetensors]") {
  std::vector<uint8_t> data;
  for (float v : {0.f, 1.f, 2.f, 3.f, 4.f, 5.f}) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  }
  std::string h = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  REQUIRE(h.size() == 64);
  std::vector<uint8_t> file = st_bytes(h, data);
  REQUIRE(file.size() == 96);
  StFile f = parse(file);
  CHECK(f.at("attn.0").shape == std::vector<int64_t>{1, 2, 3});
  CHECK(f.at("attn.0").to_f32() == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(f.metadata.empty());
  StFile empty = parse(st_bytes("{}      "));
  CHECK(empty.tensors.empty());
}

TEST_CASE("safetensors: round trip of every dtype, scalars and empty tensors", "[safetensors]") {
  TempDir dir;
  StFile f;
  f.metadata["format"] = "mlcn-ckpt";
  f.metadata["note"] = "caf\xc3\xa9";
  std::vector<float> f32 = {1.5f, -2.25f, 3e-8f};
  std::vector<double> f64 = {1.0 / 3.0, -1e300};
  std::vector<int64_t> i64 = {INT64_MIN, 0, INT64_MAX};
  std::vector<int32_t> i32 = {-7, 8, 9, 10};
  std::vector<uint8_t> u8 = {0, 128, 255};
  double step = 12345;
  f.tensors["w.f32"] = StTensor::from_f32({3}, f32.data());
  f.tensors["w.f64"] = StTensor::from_f64({2, 1}, f64.data());
  f.tensors["n.i64"] = StTensor::from_i64({3}, i64.data());
  f.tensors["n.i32"] = StTensor::from_i32({2, 2}, i32.data());
  f.tensors["b.u8"] = StTensor::from_u8({1, 3}, u8.data());
  f.tensors["step"] = StTensor::from_f64({}, &step);
  f.tensors["none"] = StTensor::from_f32({0, 4}, nullptr);
  write_safetensors(dir.file("a.safetensors"), f);

  StFile g = read_safetensors(dir.file("a.safetensors"));
  CHECK(g.source == dir.file("a.safetensors"));
  CHECK(g.metadata.at("format") == "mlcn-ckpt");
  CHECK(g.metadata.at("note") == "caf\xc3\xa9");
  CHECK(g.metadata.at(kStCrcKey).size() == 8);
  CHECK(g.tensors.size() == 7);
  CHECK(g.at("w.f32").to_f32() == f32);
  CHECK(g.at("w.f64").to_f64() == f64);
  CHECK(g.at("w.f64").shape == std::vector<int64_t>{2, 1});
  CHECK(g.at("n.i64").to_i64() == i64);
  CHECK(g.at("n.i32").to_i64() == std::vector<int64_t>{-7, 8, 9, 10});
  CHECK(g.at("n.i32").dtype == StDType::I32);
  CHECK(g.at("b.u8").to_i64() == std::vector<int64_t>{0, 128, 255});
  CHECK(g.at("step").shape.empty());
  CHECK(g.at("step").numel() == 1);
  CHECK(g.at("step").to_f64() == std::vector<double>{12345});
  CHECK(g.at("none").numel() == 0);
  CHECK(g.at("none").shape == std::vector<int64_t>{0, 4});
  for (const auto& kv : f.tensors) CHECK(g.at(kv.first).bytes == kv.second.bytes);

  // Header padded to 8 bytes; every tensor aligned to its element size.
  std::vector<uint8_t> raw = read_bytes(dir.file("a.safetensors"));
  uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  CHECK(n % 8 == 0);
  auto header = nlohmann::json::parse(raw.begin() + 8, raw.begin() + 8 + n);
  CHECK(header.begin().key() == "__metadata__");
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    uint64_t begin = it.value()["data_offsets"][0];
    CHECK(begin % st_dtype_size(g.at(it.key()).dtype) == 0);
  }
  // The file is the serialization, byte for byte.
  CHECK(raw == serialize_safetensors(g));
}

TEST_CASE("safetensors: reads the golden files of the Python library", "[safetensors][golden]") {
  StFile c = read_safetensors(kGolden + "capsnet_fmnist.safetensors");
  CHECK(c.metadata.count(kStCrcKey) == 0);
  CHECK(c.at("input").dtype == StDType::F32);
  CHECK(c.at("input").shape == std::vector<int64_t>{3, 1, 28, 28});
  CHECK(c.at("labels").dtype == StDType::I64);
  CHECK(c.at("labels").shape == std::vector<int64_t>{3});
  CHECK(c.at("expected.lengths").shape == std::vector<int64_t>{3, 10});
  CHECK(c.at("expected.loss").to_f64().size() == 1);
  for (float v : c.at("input").to_f32()) REQUIRE((v >= 0.0f && v <= 1.0f));
  for (int64_t l : c.at("labels").to_i64()) CHECK((l >= 0 && l < 10));
  auto ccfg = nlohmann::json::parse(c.metadata.at("config"));
  CHECK(ccfg["model"]["type"] == "capsnet");

  StFile m = read_safetensors(kGolden + "mlcn_fmnist.safetensors");
  CHECK(m.at("input").shape == std::vector<int64_t>{4, 1, 28, 28});
  CHECK(m.at("grad_index.lanes.0.W").dtype == StDType::I64);
  CHECK(m.at("expected.recon").shape == std::vector<int64_t>{4, 784});
  auto mcfg = nlohmann::json::parse(m.metadata.at("config"));
  CHECK(mcfg["model"]["type"] == "mlcn");
  CHECK(mcfg["model"]["lanes"].size() == 3);
  CHECK(nlohmann::json::parse(m.metadata.at("weights")).is_array());
}

TEST_CASE("safetensors bad input: file shorter than the length field", "[safetensors][bad]") {
  check_message(parse_error({1, 2, 3}), {"mem.safetensors", "header too small", "3 bytes"});
}

TEST_CASE("safetensors bad input: header length over 100 MB", "[safetensors][bad]") {
  std::vector<uint8_t> b = st_bytes("{}");
  uint64_t n = 100000001;
  std::memcpy(b.data(), &n, 8);
  check_message(parse_error(b), {"mem.safetensors", "header too large", "100000001"});
}

TEST_CASE("safetensors bad input: header length past the end of the file", "[safetensors][bad]") {
  std::vector<uint8_t> b = st_bytes("{}");
  b.pop_back();
  check_message(parse_error(b), {"mem.safetensors", "header length 2 runs past the end"});
}

TEST_CASE("safetensors bad input: header that is not UTF-8", "[safetensors][bad]") {
  check_message(parse_error(st_bytes("{\"a\xff\":1}")),
                {"mem.safetensors", "not valid UTF-8", "byte 11"});
  check_message(parse_error(st_bytes("{\"\xc0\xaf\":1}")), {"not valid UTF-8"});  // overlong
}

TEST_CASE("safetensors bad input: header that is not a JSON object", "[safetensors][bad]") {
  check_message(parse_error(st_bytes("[1, 2]  ")), {"mem.safetensors", "not a JSON object"});
  check_message(parse_error(st_bytes(" {}     ")), {"not a JSON object"});
}

TEST_CASE("safetensors bad input: header that is not valid JSON", "[safetensors][bad]") {
  check_message(parse_error(st_bytes("{\"a\": ")), {"mem.safetensors", "not valid JSON"});
}

TEST_CASE("safetensors bad input: duplicate keys", "[safetensors][bad]") {
  std::string t = R"({"dtype":"U8","shape":[1],"data_offsets":[0,1]})";
  check_message(parse_error(st_bytes("{\"x\":" + t + ",\"x\":" + t + "}", {7})),
                {"mem.safetensors", "duplicate key \"x\""});
  check_message(parse_error(st_bytes(R"({"__metadata__":{"k":"a","k":"b"}})")),
                {"duplicate key \"k\""});
}

TEST_CASE("safetensors bad input: unknown or unsupported dtype", "[safetensors][bad]") {
  check_message(
      parse_error(st_bytes(R"({"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})", {0, 0})),
      {"mem.safetensors", "tensor \"x\"", "unsupported dtype \"BF16\""});
}

TEST_CASE("safetensors bad input: gap between tensors", "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                  R"("b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}})";
  check_message(parse_error(st_bytes(h, {1, 2, 3})),
                {"mem.safetensors", "gap in the data section", "\"b\" begins at 2"});
  std::string first = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})";
  check_message(parse_error(st_bytes(first, {1, 2})), {"gap in the data section"});
}

TEST_CASE("safetensors bad input: overlapping tensors", "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                  R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})";
  check_message(parse_error(st_bytes(h, {1, 2, 3})),
                {"mem.safetensors", "tensors overlap", "\"b\" begins at 1"});
}

TEST_CASE("safetensors bad input: offsets past the data section", "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";
  check_message(parse_error(st_bytes(h, {1, 2})),
                {"mem.safetensors", "run past the end of the data section (2 bytes)"});
}

TEST_CASE("safetensors bad input: data section longer than the tensors", "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  check_message(parse_error(st_bytes(h, {1, 2, 3})), {"mem.safetensors", "2 trailing bytes"});
}

TEST_CASE("safetensors bad input: byte count disagrees with shape and dtype",
          "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  check_message(parse_error(st_bytes(h, std::vector<uint8_t>(8))),
                {"mem.safetensors", "hold 8 bytes but shape [3] of F32 needs 12"});
}

TEST_CASE("safetensors bad input: offsets that end before they begin", "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[2,1]}})";
  check_message(parse_error(st_bytes(h, {1, 2})), {"mem.safetensors", "end before they begin"});
}

TEST_CASE("safetensors bad input: shape product overflow", "[safetensors][bad]") {
  std::string h = R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}})";
  check_message(parse_error(st_bytes(h)), {"mem.safetensors", "more elements than fit in 64 bits"});
  std::string b = R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})";
  check_message(parse_error(st_bytes(b)), {"more bytes than fit in 64 bits"});
}

TEST_CASE("safetensors bad input: malformed shapes and entries", "[safetensors][bad]") {
  check_message(parse_error(st_bytes(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})")),
                {"mem.safetensors", "non-negative integers"});
  check_message(parse_error(st_bytes(R"({"a":{"dtype":"U8","shape":[1]}})")),
                {"mem.safetensors", "must be an object with dtype, shape and data_offsets"});
  check_message(
      parse_error(st_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", {1})),
      {"data_offsets [0] must be two non-negative integers"});
}

TEST_CASE("safetensors bad input: metadata values that are not strings", "[safetensors][bad]") {
  check_message(parse_error(st_bytes(R"({"__metadata__":{"epoch":3}})")),
                {"mem.safetensors", "__metadata__ value of \"epoch\" is not a string"});
  check_message(parse_error(st_bytes(R"({"__metadata__":["a"]})")),
                {"__metadata__ is not a JSON object"});
}

TEST_CASE("safetensors bad input: a flipped data byte is a corrupt checkpoint",
          "[safetensors][bad][crc]") {
  TempDir dir;
  StFile f;
  std::vector<float> w = {1, 2, 3, 4};
  f.tensors["w"] = StTensor::from_f32({4}, w.data());
  write_safetensors(dir.file("c.safetensors"), f);
  std::vector<uint8_t> b = read_bytes(dir.file("c.safetensors"));
  b[b.size() - 3] ^= 0x01;
  write_bytes(dir.file("c.safetensors"), b);
  CHECK_ERROR(read_safetensors(dir.file("c.safetensors")), dir.file("c.safetensors"),
              "corrupt checkpoint", "CRC32");
  StReadOptions lax;
  lax.verify_crc = false;
  CHECK(read_safetensors(dir.file("c.safetensors"), lax).at("w").to_f32() != w);
}

TEST_CASE("safetensors bad input: a damaged checksum field is a corrupt checkpoint",
          "[safetensors][bad][crc]") {
  TempDir dir;
  StFile f;
  int64_t v = 5;
  f.tensors["v"] = StTensor::from_i64({}, &v);
  std::vector<uint8_t> b = serialize_safetensors(f);
  std::string s(b.begin(), b.end());
  size_t at = s.find("\"mlcn.crc32\":\"") + 14;
  b[at] = 'z';
  check_message(parse_error(b), {"corrupt checkpoint", "is not 8 lowercase hex digits"});
}

TEST_CASE("safetensors bad input: a truncated checkpoint is refused", "[safetensors][bad]") {
  TempDir dir;
  StFile f;
  std::vector<double> w(100, 0.5);
  f.tensors["w"] = StTensor::from_f64({100}, w.data());
  std::vector<uint8_t> b = serialize_safetensors(f);
  for (size_t cut : {size_t(0), size_t(5), size_t(20), b.size() / 2, b.size() - 1}) {
    std::vector<uint8_t> t(b.begin(), b.begin() + cut);
    CHECK(parse_error(t) != "(no error)");
  }
}

TEST_CASE("safetensors bad input: missing file, directory, absent tensor, wrong conversion",
          "[safetensors][bad]") {
  TempDir dir;
  CHECK_ERROR(read_safetensors(dir.file("no.safetensors")), dir.file("no.safetensors"),
              "cannot open", "No such file");
  CHECK_ERROR(read_safetensors(dir.path), dir.path, "is a directory");
  StFile f =
      parse(st_bytes(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})", {0, 0, 0, 0}));
  CHECK_ERROR(f.at("b"), "mem.safetensors", "no tensor \"b\"");
  CHECK_ERROR(f.at("a").to_i64(), "cannot read a F32 tensor as int64");
}
