// Writing a file so that a reader sees the old bytes or the new ones, never a mix.
#pragma once
#include <cstddef>
#include <string>

namespace mlcn {

// Writes `path` atomically: the bytes go to `<path>.tmp.<pid>` in the same directory, which
// is fsynced, renamed over `path`, and the directory fsynced. On any failure the temp file
// is removed, an existing `path` is left untouched, and an mlcn::Error names the path.
void write_file_atomic(const std::string& path, const void* data, size_t size);

}  // namespace mlcn
