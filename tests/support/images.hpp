#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pixhive::testing {

/// An uncompressed 24-bit BMP of `w`×`h` pixels filled with `shade`.
inline std::string make_bmp(uint32_t w, uint32_t h, char shade = '\x40') {
  auto le32 = [](uint32_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                       static_cast<char>((v >> 16) & 0xff), static_cast<char>(v >> 24)};
  };
  uint32_t row = (w * 3 + 3) / 4 * 4;
  uint32_t data = row * h;
  std::string s = "BM" + le32(54 + data) + le32(0) + le32(54) + le32(40) + le32(w) + le32(h);
  s += std::string("\x01\x00\x18\x00", 4) + le32(0) + le32(data) + le32(2835) + le32(2835) +
       le32(0) + le32(0);
  s += std::string(data, shade);
  return s;
}

/// A GIF whose header claims `w`×`h` pixels (the image itself is one pixel).
inline std::string make_gif(uint16_t w, uint16_t h) {
  std::string s = "GIF89a";
  s += static_cast<char>(w & 0xff);
  s += static_cast<char>(w >> 8);
  s += static_cast<char>(h & 0xff);
  s += static_cast<char>(h >> 8);
  s += std::string(
      "\x80\x00\x00\x00\x00\x00\xff\xff\xff\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01"
      "\x00\x3b",
      25);
  return s;
}

/// A PNG whose header claims `w`×`h` pixels (no real image data: a decompression bomb's header).
inline std::string make_png_header(uint32_t w, uint32_t h) {
  auto be32 = [](uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
                       static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
  };
  std::string s("\x89PNG\r\n\x1a\n", 8);
  s += be32(13) + "IHDR" + be32(w) + be32(h) + std::string("\x08\x02\x00\x00\x00", 5) + be32(0);
  s += be32(0) + "IEND" + std::string("\xae\x42\x60\x82", 4);
  return s;
}

/// A small uncompressed RGB TIFF whose directory holds ImageWidth/ImageLength twice:
/// `first_w`×`first_h` first (what libtiff decodes with), then 1×1 (what a careless header
/// reader keeps). The attack that made a server allocate gigabytes from a 6 KB file.
inline std::string make_tiff_with_duplicate_dimensions(uint32_t first_w, uint32_t first_h) {
  auto le16 = [](uint32_t v) {
    return std::string{static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff)};
  };
  auto le32 = [&](uint32_t v) { return le16(v & 0xffff) + le16(v >> 16); };
  struct entry {
    uint32_t tag, type, count, value;
  };
  const uint32_t data_at = 8 + 2 + 12 * 12 + 4;
  std::vector<entry> entries{{256, 4, 1, first_w}, {257, 4, 1, first_h}, {256, 3, 1, 1},
                             {257, 3, 1, 1},       {258, 3, 1, 8},       {259, 3, 1, 1},
                             {262, 3, 1, 2},       {273, 4, 1, data_at}, {277, 3, 1, 3},
                             {278, 4, 1, first_h}, {279, 4, 1, 5760},    {284, 3, 1, 1}};
  std::string s = std::string("II*\0", 4) + le32(8) + le16(static_cast<uint32_t>(entries.size()));
  for (auto& e : entries)
    s += le16(e.tag) + le16(e.type) + le32(e.count) +
         (e.type == 3 ? le16(e.value) + le16(0) : le32(e.value));
  s += le32(0);
  return s + std::string(5760, '\x55');
}

/// The real camera photos from scripts/fetch-photos (none when they were not fetched).
std::vector<std::string> real_photos();

/// The first of real_photos(), or "".
inline std::string real_photo() {
  auto all = real_photos();
  return all.empty() ? std::string() : all.front();
}

}  // namespace pixhive::testing
