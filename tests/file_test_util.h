// Helpers shared by the file-reading tests (base, data, engine/io): a fresh temp directory per test, raw
// file writing, gzip compression, and a check that an mlcn::Error is one line containing
// the given fragments (the file name first among them).
#pragma once
#include <stdlib.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/check.h"

namespace mlcn_test {

// A directory under /tmp that is removed with everything in it when the test ends.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/mlcn-data-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    REQUIRE(p != nullptr);
    path = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// gzip-compresses bytes in memory (a complete single-member stream with CRC trailer).
inline std::vector<uint8_t> gzip_bytes(const std::vector<uint8_t>& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 32);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// The message of the mlcn::Error that f throws, or "(no error)".
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const mlcn::Error& e) {
    return e.what();
  }
  return "(no error)";
}

inline void check_message(const std::string& msg, std::initializer_list<std::string> fragments) {
  INFO("error message: " << msg);
  CHECK(msg.find('\n') == std::string::npos);
  for (const std::string& f : fragments) CHECK(msg.find(f) != std::string::npos);
}

}  // namespace mlcn_test

// Expects `stmt` to throw an mlcn::Error: one line containing every fragment.
#define CHECK_ERROR(stmt, ...) \
  ::mlcn_test::check_message(::mlcn_test::error_of([&] { stmt; }), {__VA_ARGS__})
