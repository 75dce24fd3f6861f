// write_file_atomic / write_safetensors: the target is replaced in one step, nothing is
// left behind on success, and a failed write leaves an existing file byte-for-byte intact
// and removes its temp file. Failures are forced without root-sensitive permissions: the
// temp name is occupied by a directory (open fails), or the target is a non-empty
// directory (rename fails).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "file_test_util.h"
#include "base/atomic_write.h"
#include "engine/io/safetensors.h"

using namespace mlcn;
using namespace mlcn_test;

namespace {

StFile small_file(float value) {
  StFile f;
  std::vector<float> w(16, value);
  f.tensors["w"] = StTensor::from_f32({4, 4}, w.data());
  f.metadata["epoch"] = "1";
  return f;
}

std::string tmp_name(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

int entries_in(const std::string& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("atomic write: replaces the target and leaves no temp file", "[atomic]") {
  TempDir dir;
  std::string p = dir.file("last.safetensors");
  write_safetensors(p, small_file(1.0f));
  write_safetensors(p, small_file(2.0f));
  CHECK(read_safetensors(p).at("w").to_f32() == std::vector<float>(16, 2.0f));
  CHECK(entries_in(dir.path) == 1);
  struct stat st;
  CHECK(::stat(tmp_name(p).c_str(), &st) != 0);
}

TEST_CASE("atomic write: a failure to create the temp file leaves the old file intact",
          "[atomic][bad]") {
  TempDir dir;
  std::string p = dir.file("best.safetensors");
  write_safetensors(p, small_file(1.0f));
  std::vector<uint8_t> before = read_bytes(p);
  REQUIRE(::mkdir(tmp_name(p).c_str(), 0755) == 0);  // open(O_CREAT) on it fails
  CHECK_ERROR(write_safetensors(p, small_file(2.0f)), p, "cannot write", "temp file");
  CHECK(read_bytes(p) == before);
  CHECK(read_safetensors(p).at("w").to_f32() == std::vector<float>(16, 1.0f));
  CHECK(std::filesystem::is_directory(tmp_name(p)));  // not ours: not removed
}

TEST_CASE("atomic write: a failed rename removes the temp file", "[atomic][bad]") {
  TempDir dir;
  std::string p = dir.file("busy");
  REQUIRE(::mkdir(p.c_str(), 0755) == 0);
  write_bytes(p + "/keep", {1, 2, 3});
  CHECK_ERROR(write_safetensors(p, small_file(3.0f)), p, "cannot write", "renaming",
              "old file, if any, is intact");
  struct stat st;
  CHECK(::stat(tmp_name(p).c_str(), &st) != 0);
  CHECK(read_bytes(p + "/keep") == std::vector<uint8_t>{1, 2, 3});
}

TEST_CASE("atomic write: a missing directory is an error and creates nothing", "[atomic][bad]") {
  TempDir dir;
  std::string p = dir.file("absent/x.safetensors");
  CHECK_ERROR(write_safetensors(p, small_file(1.0f)), p, "cannot write", "No such file");
  CHECK(entries_in(dir.path) == 0);
}

TEST_CASE("atomic write: an inconsistent tensor is refused before touching the file",
          "[atomic][bad]") {
  TempDir dir;
  std::string p = dir.file("m.safetensors");
  write_safetensors(p, small_file(1.0f));
  std::vector<uint8_t> before = read_bytes(p);
  StFile bad = small_file(2.0f);
  bad.tensors["w"].shape = {5, 4};
  CHECK_ERROR(write_safetensors(p, bad), p, "tensor \"w\" holds 64 bytes but shape [5, 4]");
  CHECK(read_bytes(p) == before);
  CHECK(entries_in(dir.path) == 1);
}

TEST_CASE("atomic write: write_file_atomic writes arbitrary bytes", "[atomic]") {
  TempDir dir;
  std::string p = dir.file("config.json");
  std::string text = "{\"a\": 1}\n";
  write_file_atomic(p, text.data(), text.size());
  std::vector<uint8_t> got = read_bytes(p);
  CHECK(std::string(got.begin(), got.end()) == text);
  write_file_atomic(p, nullptr, 0);
  CHECK(read_bytes(p).empty());
}
