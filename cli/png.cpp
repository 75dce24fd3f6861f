// PNG writing and reading with zlib; see png.h.
#include "cli/png.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "base/atomic_write.h"  // defines: write_file_atomic
#include "base/check.h"

namespace mlcn::cli {

namespace {

void put32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}
uint32_t get32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

void chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  put32(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put32(out, static_cast<uint32_t>(crc32(0, out.data() + start, static_cast<uInt>(out.size() - start))));
}

const uint8_t kSignature[8] = {137, 80, 78, 71, 13, 10, 26, 10};

}  // namespace

void write_png(const std::string& path, const Image& img) {
  MLCN_CHECK(img.channels == 1 || img.channels == 3, path << ": PNG with " << img.channels << " channels");
  const size_t row = size_t(img.width) * img.channels;
  std::vector<uint8_t> raw;
  for (int y = 0; y < img.height; ++y) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), img.pixels.begin() + y * row, img.pixels.begin() + (y + 1) * row);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> z(zlen);
  MLCN_CHECK(compress2(z.data(), &zlen, raw.data(), static_cast<uLong>(raw.size()), 6) == Z_OK, path << ": zlib failed");
  z.resize(zlen);
  std::vector<uint8_t> out(kSignature, kSignature + 8), ihdr;
  put32(ihdr, static_cast<uint32_t>(img.width));
  put32(ihdr, static_cast<uint32_t>(img.height));
  ihdr.insert(ihdr.end(), {8, static_cast<uint8_t>(img.channels == 1 ? 0 : 2), 0, 0, 0});
  chunk(out, "IHDR", ihdr);
  chunk(out, "IDAT", z);
  chunk(out, "IEND", {});
  write_file_atomic(path, out.data(), out.size());
}

Image read_png(const std::string& path, int channels) {
  std::ifstream f(path, std::ios::binary);
  MLCN_CHECK(f.good(), path << ": cannot open the image");
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  MLCN_CHECK(b.size() > 33 && std::memcmp(b.data(), kSignature, 8) == 0, path << ": not a PNG file");
  size_t pos = 8;
  int w = 0, h = 0, color = -1, src_ch = 0;
  std::vector<uint8_t> z;
  while (pos + 12 <= b.size()) {
    const uint32_t len = get32(&b[pos]);
    MLCN_CHECK(pos + 12 + size_t(len) <= b.size(), path << ": truncated PNG chunk");
    const std::string type(reinterpret_cast<const char*>(&b[pos + 4]), 4);
    const uint8_t* d = &b[pos + 8];
    if (type == "IHDR") {
      w = static_cast<int>(get32(d)), h = static_cast<int>(get32(d + 4)), color = d[9];
      MLCN_CHECK(d[8] == 8 && d[12] == 0, path << ": only 8-bit, non-interlaced PNGs are read");
      src_ch = color == 0 ? 1 : color == 4 ? 2 : color == 2 ? 3 : color == 6 ? 4 : 0;
      MLCN_CHECK(src_ch > 0 && w > 0 && h > 0 && w <= 16384 && h <= 16384,
                 path << ": unsupported PNG (color type " << color << ", " << w << "x" << h << ")");
    } else if (type == "IDAT") {
      z.insert(z.end(), d, d + len);
    } else if (type == "IEND") {
      break;
    }
    pos += 12 + len;
  }
  MLCN_CHECK(src_ch > 0 && !z.empty(), path << ": PNG without IHDR or IDAT");
  const size_t stride = size_t(w) * src_ch;
  std::vector<uint8_t> raw((stride + 1) * h);
  uLongf rlen = static_cast<uLongf>(raw.size());
  MLCN_CHECK(uncompress(raw.data(), &rlen, z.data(), static_cast<uLong>(z.size())) == Z_OK && rlen == raw.size(),
             path << ": corrupt PNG image data");
  std::vector<uint8_t> px(stride * h);
  for (int y = 0; y < h; ++y) {
    const uint8_t ft = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* cur = &px[y * stride];
    const uint8_t* up = y ? &px[(y - 1) * stride] : nullptr;
    MLCN_CHECK(ft <= 4, path << ": bad PNG filter type " << int(ft));
    for (size_t x = 0; x < stride; ++x) {
      const int a = x >= size_t(src_ch) ? cur[x - src_ch] : 0, u = up ? up[x] : 0,
                c = up && x >= size_t(src_ch) ? up[x - src_ch] : 0;
      int p = 0;
      if (ft == 1) p = a;
      else if (ft == 2) p = u;
      else if (ft == 3) p = (a + u) / 2;
      else if (ft == 4) {
        const int pa = std::abs(u - c), pb = std::abs(a - c), pc = std::abs(a + u - 2 * c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? u : c;
      }
      cur[x] = static_cast<uint8_t>(in[x] + p);
    }
  }
  Image img{w, h, channels, std::vector<uint8_t>(size_t(w) * h * channels)};
  for (size_t i = 0; i < size_t(w) * h; ++i) {
    const uint8_t* s = &px[i * src_ch];
    const bool gray = src_ch <= 2;
    if (channels == 1) img.pixels[i] = gray ? s[0] : static_cast<uint8_t>((299 * s[0] + 587 * s[1] + 114 * s[2]) / 1000);
    else
      for (int c = 0; c < 3; ++c) img.pixels[i * 3 + c] = gray ? s[0] : s[c];
  }
  return img;
}

}  // namespace mlcn::cli
