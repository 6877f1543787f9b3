#include <array>
#include <vector>

#include <gtest/gtest.h>

#include "pixhive/imaging/sniff.hpp"

using namespace pixhive;
using namespace pixhive::imaging;

namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int c : v) s += static_cast<char>(c);
  return s;
}

std::string le32(uint32_t v) {
  return bytes({int(v & 0xff), int((v >> 8) & 0xff), int((v >> 16) & 0xff), int(v >> 24)});
}

/// A 2x3 24-bit BMP.
std::string bmp_2x3() {
  uint32_t row = 8, size = 54 + row * 3;
  std::string s = "BM" + le32(size) + le32(0) + le32(54) + le32(40) + le32(2) + le32(3) +
                  bytes({1, 0, 24, 0}) + le32(0) + le32(row * 3) + le32(2835) + le32(2835) +
                  le32(0) + le32(0);
  s += std::string(row * 3, '\x7f');
  return s;
}

/// A 1x1 GIF.
std::string gif_1x1() {
  return std::string("GIF89a") + bytes({1, 0, 1, 0, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x2c, 0,
                                        0, 0, 0, 1, 0,    1, 0, 0, 2, 2, 0x44, 1,    0,    0x3b});
}

}  // namespace

TEST(sniff, reads_dimensions_from_headers) {
  auto b = sniff_image(bmp_2x3());
  ASSERT_TRUE(b) << to_problem(b.error()).message;
  EXPECT_EQ(b->content_type, "image/bmp");
  EXPECT_EQ(b->width, 2);
  EXPECT_EQ(b->height, 3);
  // No GIF decoder exists in this build: GIFs are refused up front, not accepted and failed later.
  auto g = sniff_image(gif_1x1());
  ASSERT_FALSE(g);
  EXPECT_EQ(to_problem(g.error()).kind, errc::unsupported_media_type);
  EXPECT_NE(to_problem(g.error()).message.find("GIF"), std::string::npos);
  std::string jpeg =
      bytes({0xFF, 0xD8, 0xFF, 0xE0, 0,    4, 0,    0,    0xFF, 0xC0, 0,    11,   8,    0x01, 0x2C,
             0x02, 0x58, 1,    1,    0x11, 0, 0xFF, 0xDA, 0,    2,    0x12, 0x34, 0xFF, 0xD9});
  auto j = sniff_image(jpeg);
  ASSERT_TRUE(j) << to_problem(j.error()).message;
  EXPECT_EQ(j->width, 600);
  EXPECT_EQ(j->height, 300);
}

TEST(sniff, names_what_it_found_when_not_an_image) {
  auto pdf = sniff_image("%PDF-1.7\n...");
  ASSERT_FALSE(pdf);
  auto p = to_problem(pdf.error());
  EXPECT_EQ(p.kind, errc::unsupported_media_type);
  EXPECT_NE(p.message.find("detected PDF document"), std::string::npos);
  EXPECT_NE(to_problem(sniff_image("hello world").error()).message.find("plain text"),
            std::string::npos);
  EXPECT_NE(to_problem(sniff_image("").error()).message.find("empty"), std::string::npos);
}

TEST(sniff, truncated_images_are_corrupt) {
  for (auto cut : {bmp_2x3().substr(0, 60), std::string("\xFF\xD8\xFF\xE0\x00\x10", 6),
                   std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)}) {
    auto r = sniff_image(cut);
    ASSERT_FALSE(r);
    EXPECT_EQ(to_problem(r.error()).code, "corrupt_image");
  }
}

namespace {

/// A little-endian TIFF whose first directory lists `entries` (tag, type, count, value).
std::string tiff_with(std::vector<std::array<uint32_t, 4>> entries) {
  auto le16 = [](uint32_t v) { return bytes({int(v & 0xff), int((v >> 8) & 0xff)}); };
  auto le32 = [&](uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); };
  std::string s = std::string("II*\0", 4) + le32(8) + le16(static_cast<uint32_t>(entries.size()));
  for (auto& [tag, type, count, value] : entries)
    s += le16(tag) + le16(type) + le32(count) + (type == 3 ? le16(value) + le16(0) : le32(value));
  return s + le32(0) + std::string(64, '\0');
}

}  // namespace

TEST(sniff, tiff_dimensions_are_read_as_libtiff_reads_them) {
  // The attack: ImageWidth/ImageLength twice, huge first (what libtiff decodes with), 1x1 last.
  auto twice = sniff_image(tiff_with(
      {{256, 3, 1, 65535}, {257, 3, 1, 65535}, {256, 3, 1, 1}, {257, 3, 1, 1}, {258, 3, 1, 8}}));
  ASSERT_TRUE(twice) << to_problem(twice.error()).message;
  EXPECT_EQ(twice->width, 65535);
  EXPECT_EQ(twice->height, 65535);
  // Dimensions of a type or count libtiff would read from elsewhere in the file are refused.
  auto odd = sniff_image(tiff_with({{256, 4, 2, 100}, {257, 4, 1, 100}}));
  ASSERT_FALSE(odd);
  EXPECT_EQ(to_problem(odd.error()).code, "corrupt_image");
}

TEST(sniff, animated_webp_is_refused) {
  auto le32 = [](uint32_t v) {
    return bytes({int(v & 0xff), int((v >> 8) & 0xff), int((v >> 16) & 0xff), int(v >> 24)});
  };
  std::string vp8x = "VP8X" + le32(10) + bytes({0x02, 0, 0, 0, 9, 0, 0, 9, 0, 0});
  std::string webp = "RIFF" + le32(static_cast<uint32_t>(4 + vp8x.size())) + "WEBP" + vp8x;
  auto r = sniff_image(webp);
  ASSERT_FALSE(r);
  EXPECT_EQ(to_problem(r.error()).kind, errc::unsupported_media_type);
}
