#include "pixhive/imaging/sniff.hpp"

#include <array>

namespace pixhive::imaging {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

uint32_t be16(std::string_view s, size_t at) {
  return (uint8_t(s[at]) << 8) | uint8_t(s[at + 1]);
}
uint32_t be32(std::string_view s, size_t at) {
  return (be16(s, at) << 16) | be16(s, at + 2);
}
uint32_t le16(std::string_view s, size_t at) {
  return uint8_t(s[at]) | (uint8_t(s[at + 1]) << 8);
}
uint32_t le32(std::string_view s, size_t at) {
  return le16(s, at) | (le16(s, at + 2) << 16);
}

caf::error corrupt(std::string why) {
  return make_error(errc::unprocessable, "corrupt_image",
                    "the image is truncated or corrupt: " + why);
}

caf::error unsupported(std::string what) {
  return make_error(errc::unsupported_media_type, "unsupported_media_type",
                    "not a supported image (JPEG, PNG, WebP, GIF, BMP, TIFF): detected " + what);
}

std::string describe_other(std::string_view b) {
  static const std::array<std::pair<std::string_view, const char*>, 12> known{{
      {"%PDF", "PDF document"},
      {"PK\x03\x04", "ZIP archive"},
      {"\x7f"
       "ELF",
       "ELF executable"},
      {"\x1f\x8b", "gzip data"},
      {"<?xml", "XML document"},
      {"<svg", "SVG image (not accepted)"},
      {"<!DOCTYPE", "HTML document"},
      {"<html", "HTML document"},
      {"ID3", "MP3 audio"},
      {"OggS", "Ogg media"},
      {std::string_view("\x00\x00\x01\x00", 4), "Windows icon"},
      {"8BPS", "Photoshop document"},
  }};
  for (auto& [magic, name] : known)
    if (starts_with(b, magic)) return name;
  if (b.size() >= 12 && b.substr(4, 4) == "ftyp") {
    auto brand = b.substr(8, 4);
    if (brand == "heic" || brand == "heix" || brand == "mif1") return "HEIF image (not accepted)";
    if (brand == "avif") return "AVIF image (not accepted)";
    return "MP4/QuickTime media";
  }
  if (b.empty()) return "an empty body";
  bool text = true;
  for (unsigned char c : b.substr(0, 512))
    if (c < 0x09 || (c > 0x0d && c < 0x20)) text = false;
  return text ? "plain text" : "unknown binary data";
}

result<image_info> jpeg(std::string_view b) {
  // Walk the marker segments up to the first start-of-frame, which holds the dimensions.
  size_t pos = 2;
  while (pos + 4 <= b.size()) {
    if (uint8_t(b[pos]) != 0xFF) return corrupt("bad JPEG marker");
    uint8_t marker = uint8_t(b[pos + 1]);
    if (marker == 0xFF) {
      ++pos;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      pos += 2;
      continue;
    }
    auto len = be16(b, pos + 2);
    if (len < 2 || pos + 2 + len > b.size()) return corrupt("JPEG segment runs past the end");
    bool sof =
        marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (len < 7) return corrupt("short JPEG frame header");
      image_info info{"image/jpeg", "jpeg", be16(b, pos + 7), be16(b, pos + 5)};
      // Entropy-coded data follows; a complete file ends with EOI (some cameras pad after it).
      auto tail = b.substr(b.size() > 4096 ? b.size() - 4096 : 0);
      if (tail.rfind("\xFF\xD9") == std::string_view::npos)
        return corrupt("JPEG end marker missing");
      return info;
    }
    if (marker == 0xDA) break;
    pos += 2 + len;
  }
  return corrupt("no JPEG frame header");
}

result<image_info> png(std::string_view b) {
  if (b.size() < 33 || b.substr(12, 4) != "IHDR") return corrupt("PNG header missing");
  image_info info{"image/png", "png", be32(b, 16), be32(b, 20)};
  if (b.size() < 45 || b.substr(b.size() - 8, 4) != "IEND") return corrupt("PNG end chunk missing");
  return info;
}

// OpenCV 4.6 has no GIF decoder: a GIF accepted here would only fail later, in processing. A
// second decoder (giflib) for a format whose animation would be lost anyway is attack surface
// that photos do not need, so GIFs are refused with a hint.
caf::error gif() {
  return make_error(errc::unsupported_media_type, "unsupported_media_type",
                    "GIF images are not accepted: convert it to PNG or WebP first");
}

result<image_info> bmp(std::string_view b) {
  if (b.size() < 26) return corrupt("BMP header cut short");
  auto offset = le32(b, 10);
  auto header = le32(b, 14);
  if (header < 12 || 14 + header > b.size() || offset > b.size())
    return corrupt("BMP header inconsistent");
  int64_t w, h;
  if (header == 12) {
    w = le16(b, 18);
    h = le16(b, 20);
  } else {
    if (b.size() < 34) return corrupt("BMP header cut short");
    w = static_cast<int32_t>(le32(b, 18));
    h = static_cast<int32_t>(le32(b, 22));
    if (h < 0) h = -h;
    auto bpp = le16(b, 28);
    auto compression = le32(b, 30);
    if (compression == 0 && w > 0 && bpp > 0) {
      // Uncompressed rows are padded to 4 bytes: the pixel array's size is known.
      uint64_t row = (static_cast<uint64_t>(w) * bpp + 31) / 32 * 4;
      if (offset + row * static_cast<uint64_t>(h) > b.size())
        return corrupt("BMP pixel data cut short");
    }
  }
  return image_info{"image/bmp", "bmp", w, h};
}

result<image_info> webp(std::string_view b) {
  if (b.size() < 30) return corrupt("WebP header cut short");
  if (8 + static_cast<uint64_t>(le32(b, 4)) > b.size()) return corrupt("WebP data cut short");
  auto chunk = b.substr(12, 4);
  if (chunk == "VP8 ") {
    if (uint8_t(b[23]) != 0x9d || uint8_t(b[24]) != 0x01 || uint8_t(b[25]) != 0x2a)
      return corrupt("bad VP8 frame tag");
    return image_info{"image/webp", "webp", le16(b, 26) & 0x3fff, le16(b, 28) & 0x3fff};
  }
  if (chunk == "VP8L") {
    if (uint8_t(b[20]) != 0x2f) return corrupt("bad VP8L signature");
    uint32_t bits = le32(b, 21);
    return image_info{"image/webp", "webp", (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1};
  }
  if (chunk == "VP8X") {
    // The animation flag: OpenCV decodes still WebP only.
    if (uint8_t(b[20]) & 0x02)
      return make_error(errc::unsupported_media_type, "unsupported_media_type",
                        "animated WebP images are not accepted: upload a still image");
    auto w = 1 + (uint8_t(b[24]) | (uint8_t(b[25]) << 8) | (uint8_t(b[26]) << 16));
    auto h = 1 + (uint8_t(b[27]) | (uint8_t(b[28]) << 8) | (uint8_t(b[29]) << 16));
    return image_info{"image/webp", "webp", w, h};
  }
  return corrupt("unknown WebP chunk");
}

result<image_info> tiff(std::string_view b) {
  bool le = b[0] == 'I';
  auto u16 = [&](size_t at) { return le ? le16(b, at) : be16(b, at); };
  auto u32 = [&](size_t at) { return le ? le32(b, at) : be32(b, at); };
  if (b.size() < 8) return corrupt("TIFF header cut short");
  uint64_t ifd = u32(4);
  if (ifd + 2 > b.size()) return corrupt("TIFF directory past the end");
  auto entries = u16(ifd);
  if (ifd + 2 + 12ull * entries > b.size()) return corrupt("TIFF directory cut short");
  int64_t w = 0, h = 0;
  // libtiff keeps the FIRST of duplicated tags and decodes with it: so must we, or a file that
  // says 65535x65535 first and 1x1 last passes a pixel limit it then blows through.
  for (uint32_t i = 0; i < entries; ++i) {
    size_t e = ifd + 2 + 12 * i;
    auto tag = u16(e);
    if (tag != 256 && tag != 257) continue;
    if ((tag == 256 && w) || (tag == 257 && h)) continue;
    auto type = u16(e + 2);
    // One SHORT or LONG, stored in the entry itself; anything else libtiff would read elsewhere.
    if ((type != 3 && type != 4) || u32(e + 4) != 1)
      return corrupt("TIFF dimension tag of an unexpected type");
    int64_t value = type == 3 ? u16(e + 8) : u32(e + 8);
    if (value <= 0) return corrupt("TIFF dimensions missing");
    (tag == 256 ? w : h) = value;
  }
  if (w <= 0 || h <= 0) return corrupt("TIFF dimensions missing");
  return image_info{"image/tiff", "tiff", w, h};
}

}  // namespace

result<image_info> sniff_image(std::string_view b) {
  result<image_info> r = unsupported(describe_other(b));
  if (starts_with(b, "\xFF\xD8\xFF"))
    r = jpeg(b);
  else if (starts_with(b, "\x89PNG\r\n\x1a\n"))
    r = png(b);
  else if (starts_with(b, "GIF87a") || starts_with(b, "GIF89a"))
    r = gif();
  else if (starts_with(b, "RIFF") && b.size() >= 12 && b.substr(8, 4) == "WEBP")
    r = webp(b);
  else if (starts_with(b, std::string_view("II*\0", 4)) ||
           starts_with(b, std::string_view("MM\0*", 4)))
    r = tiff(b);
  else if (starts_with(b, "BM"))
    r = bmp(b);
  if (r && (r->width <= 0 || r->height <= 0)) return corrupt("zero image dimensions");
  return r;
}

}  // namespace pixhive::imaging
