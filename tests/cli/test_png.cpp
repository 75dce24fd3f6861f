// PNG writing and reading (cli/png.h): round trips for gray and RGB, conversions, and a
// corrupt file named in one error.
#include <catch2/catch.hpp>

#include "base/check.h"
#include "cli/png.h"
#include "file_test_util.h"

using mlcn::cli::Image;

TEST_CASE("png: gray and RGB round trips, channel conversion", "[cli][png]") {
  mlcn_test::TempDir tmp;
  Image g{5, 3, 1, {}};
  for (int i = 0; i < 15; ++i) g.pixels.push_back(static_cast<uint8_t>(i * 17));
  mlcn::cli::write_png(tmp.file("g.png"), g);
  Image back = mlcn::cli::read_png(tmp.file("g.png"), 1);
  CHECK(back.width == 5);
  CHECK(back.height == 3);
  CHECK(back.pixels == g.pixels);
  Image rgb = mlcn::cli::read_png(tmp.file("g.png"), 3);
  REQUIRE(rgb.pixels.size() == 45);
  CHECK(rgb.pixels[3 * 7 + 2] == g.pixels[7]);
  Image c{2, 2, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30}};
  mlcn::cli::write_png(tmp.file("c.png"), c);
  CHECK(mlcn::cli::read_png(tmp.file("c.png"), 3).pixels == c.pixels);
  CHECK(mlcn::cli::read_png(tmp.file("c.png"), 1).pixels[0] == 76);  // 0.299 * 255
}

TEST_CASE("png: a file that is not a PNG is named in the error", "[cli][png]") {
  mlcn_test::TempDir tmp;
  mlcn_test::write_bytes(tmp.file("x.png"), {1, 2, 3, 4});
  CHECK_THROWS_WITH(mlcn::cli::read_png(tmp.file("x.png"), 1), Catch::Contains(tmp.file("x.png")));
}
