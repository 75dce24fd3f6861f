// 8-bit PNG images for `mlcn predict`: writing (zlib) and reading the common non-interlaced
// kinds (gray, gray+alpha, RGB, RGBA; every filter type). Errors name the file.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mlcn::cli {

struct Image {
  int width = 0, height = 0, channels = 0;  // channels 1 (gray) or 3 (RGB)
  std::vector<uint8_t> pixels;              // (height, width, channels)
};

void write_png(const std::string& path, const Image& img);
// Reads a PNG and converts it to `channels` (1: luminance, 3: RGB; alpha is dropped).
Image read_png(const std::string& path, int channels);

}  // namespace mlcn::cli
