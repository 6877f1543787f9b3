#include "pixhive/imaging/codec.hpp"

#include <algorithm>

#include <climits>
#include <memory>
#include <optional>

#include <cstring>
#include <vector>

#include <libdeflate.h>
#include <libexif/exif-data.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace pixhive::imaging {

result<format> parse_format(std::string_view name) {
  if (name == "png") return format::png;
  if (name == "jpeg" || name == "jpg") return format::jpeg;
  if (name == "webp") return format::webp;
  return make_error(errc::invalid_argument, "invalid_format",
                    "format must be one of png, jpeg, webp");
}

const char* to_string(format f) {
  switch (f) {
    case format::png:
      return "png";
    case format::jpeg:
      return "jpeg";
    case format::webp:
      return "webp";
  }
  return "png";
}

const char* content_type(format f) {
  switch (f) {
    case format::png:
      return "image/png";
    case format::jpeg:
      return "image/jpeg";
    case format::webp:
      return "image/webp";
  }
  return "image/png";
}

format from_accept(std::string_view accept) {
  // The first of our types the header names wins; quality values are not weighed.
  auto png = accept.find("image/png");
  auto jpeg = accept.find("image/jpeg");
  auto webp = accept.find("image/webp");
  auto first = std::min({png, jpeg, webp});
  if (first == std::string_view::npos || first == png) return format::png;
  return first == jpeg ? format::jpeg : format::webp;
}

namespace {

/// Through OpenCV: every format it reads, and the JPEGs libjpeg-turbo's API refuses (CMYK,
/// damaged data it only warns about), so those decode exactly as they always did.
result<cv::Mat> opencv_decode(std::string_view bytes, int reduction) {
  int flags = cv::IMREAD_COLOR;
  if (reduction == 2)
    flags = cv::IMREAD_REDUCED_COLOR_2;
  else if (reduction == 4)
    flags = cv::IMREAD_REDUCED_COLOR_4;
  else if (reduction == 8)
    flags = cv::IMREAD_REDUCED_COLOR_8;
  cv::Mat out;
  try {
    // imdecode reads the buffer in place; the const_cast never leads to a write.
    cv::Mat raw(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    out = cv::imdecode(raw, flags);
  } catch (const cv::Exception& e) {
    return make_error(errc::unprocessable, "undecodable_image",
                      std::string("the image cannot be decoded: ") + e.what());
  }
  if (out.empty())
    return make_error(errc::unprocessable, "undecodable_image",
                      "the image cannot be decoded (corrupt data or an unsupported encoding)");
  return out;
}

struct tj_deleter {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using tj_handle = std::unique_ptr<void, tj_deleter>;

/// One decompressor and one compressor per thread: a handle holds libjpeg state and is not
/// thread-safe, and making one per image costs more than a small thumbnail's encode.
tjhandle decompressor() {
  thread_local tj_handle handle{tjInitDecompress()};
  return handle.get();
}
tjhandle compressor() {
  thread_local tj_handle handle{tjInitCompress()};
  return handle.get();
}

bool is_jpeg(std::string_view bytes) {
  return bytes.size() > 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
         static_cast<unsigned char>(bytes[1]) == 0xD8 && static_cast<unsigned char>(bytes[2]) == 0xFF;
}

/// The EXIF orientation (1–8) of a JPEG, 1 when it has none.
int exif_orientation(std::string_view bytes) {
  std::unique_ptr<ExifData, void (*)(ExifData*)> data{exif_data_new(), exif_data_unref};
  if (!data) return 1;
  // Read as written: the library would otherwise add and "fix" tags it thinks are missing.
  exif_data_unset_option(data.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_load_data(data.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                      static_cast<unsigned>(std::min<size_t>(bytes.size(), UINT_MAX)));
  ExifEntry* entry = exif_content_get_entry(data->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
  if (!entry || entry->format != EXIF_FORMAT_SHORT || entry->components < 1 || entry->size < 2)
    return 1;
  int value = exif_get_short(entry->data, exif_data_get_byte_order(data.get()));
  return value >= 1 && value <= 8 ? value : 1;
}

/// Turns a decoded image the way its EXIF orientation says it is displayed (as OpenCV's
/// imdecode does).
void apply_orientation(cv::Mat& img, int orientation) {
  switch (orientation) {
    case 2:
      cv::flip(img, img, 1);
      break;
    case 3:
      cv::flip(img, img, -1);
      break;
    case 4:
      cv::flip(img, img, 0);
      break;
    case 5:
      cv::transpose(img, img);
      break;
    case 6:
      cv::rotate(img, img, cv::ROTATE_90_CLOCKWISE);
      break;
    case 7:
      cv::transpose(img, img);
      cv::flip(img, img, -1);
      break;
    case 8:
      cv::rotate(img, img, cv::ROTATE_90_COUNTERCLOCKWISE);
      break;
    default:
      break;
  }
}

/// A JPEG's stored size, or nothing when libjpeg-turbo cannot read its header.
std::optional<cv::Size> jpeg_header(std::string_view bytes) {
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(decompressor(),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<unsigned long>(bytes.size()), &w, &h, &subsampling,
                          &colorspace) != 0 ||
      colorspace == TJCS_CMYK || colorspace == TJCS_YCCK)
    return std::nullopt;
  return cv::Size(w, h);
}

/// Decodes a JPEG at `num`/8 scale straight to BGR (fast integer DCT: the difference is below
/// what a q85 re-encode keeps), or nothing when libjpeg-turbo refuses or only warns.
std::optional<cv::Mat> turbo_decode(std::string_view bytes, cv::Size full, int num) {
  tjscalingfactor f{num, 8};
  cv::Mat out(TJSCALED(full.height, f), TJSCALED(full.width, f), CV_8UC3);
  if (tjDecompress2(decompressor(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    static_cast<unsigned long>(bytes.size()), out.data, out.cols,
                    static_cast<int>(out.step), out.rows, TJPF_BGR, TJFLAG_FASTDCT) != 0)
    return std::nullopt;
  return out;
}

/// Decodes at `num`/8 scale (num 1–8; other formats than JPEG only at full scale).
result<decoded> decode_scaled(std::string_view bytes, int num) {
  std::optional<cv::Size> full;
  if (is_jpeg(bytes)) full = jpeg_header(bytes);
  std::optional<cv::Mat> img;
  if (full) img = turbo_decode(bytes, *full, num);
  if (!img) {
    // OpenCV scales by 1/2, 1/4 and 1/8 only: the next one at or above num/8.
    int reduction = num <= 1 ? 8 : num <= 2 ? 4 : num <= 4 ? 2 : 1;
    if (!full) reduction = 1;
    auto cv_img = opencv_decode(bytes, reduction);
    if (!cv_img) return cv_img.error();
    decoded out{std::move(*cv_img), 0, 0};
    out.full_width = full ? (out.image.cols > out.image.rows) == (full->width > full->height)
                                ? full->width
                                : full->height
                          : out.image.cols;
    out.full_height = full ? full->width + full->height - out.full_width : out.image.rows;
    return out;
  }
  int orientation = exif_orientation(bytes);
  apply_orientation(*img, orientation);
  bool turned = orientation >= 5;
  return decoded{std::move(*img), turned ? full->height : full->width,
                 turned ? full->width : full->height};
}

}  // namespace

result<cv::Mat> decode(std::string_view bytes, int reduction) {
  int num = reduction == 2 ? 4 : reduction == 4 ? 2 : reduction == 8 ? 1 : 8;
  auto out = decode_scaled(bytes, num);
  if (!out) return out.error();
  return std::move(out->image);
}

result<decoded> decode_to_fit(std::string_view bytes, int min_short, int min_long) {
  int num = 8;
  if (is_jpeg(bytes))
    if (auto full = jpeg_header(bytes)) {
      int short_side = std::min(full->width, full->height);
      int long_side = std::max(full->width, full->height);
      int need_long = std::min(min_long, long_side);
      for (int m = 1; m < 8; ++m) {
        tjscalingfactor f{m, 8};
        if (TJSCALED(short_side, f) >= min_short && TJSCALED(long_side, f) >= need_long) {
          num = m;
          break;
        }
      }
    }
  return decode_scaled(bytes, num);
}

namespace {

/// WebP through libwebp itself: OpenCV's writer uses libwebp's slowest useful method (4);
/// method 2 takes less than half the time for files about 3% larger.
result<std::string> encode_webp(const cv::Mat& image, int quality) {
  cv::Mat src = image;
  if (image.channels() == 1) cv::cvtColor(image, src, cv::COLOR_GRAY2BGR);
  WebPConfig config;
  if (!WebPConfigPreset(&config, WEBP_PRESET_PHOTO, static_cast<float>(quality)))
    return make_error(errc::internal, "encode_failed", "libwebp version mismatch");
  config.method = 2;
  WebPPicture pic;
  WebPPictureInit(&pic);
  pic.width = src.cols;
  pic.height = src.rows;
  bool imported = src.channels() == 4
                      ? WebPPictureImportBGRA(&pic, src.data, static_cast<int>(src.step))
                      : WebPPictureImportBGR(&pic, src.data, static_cast<int>(src.step));
  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  pic.writer = WebPMemoryWrite;
  pic.custom_ptr = &writer;
  bool ok = imported && WebPEncode(&config, &pic);
  std::string out = ok ? std::string(reinterpret_cast<char*>(writer.mem), writer.size) : "";
  WebPPictureFree(&pic);
  WebPMemoryWriterClear(&writer);
  if (!ok) return make_error(errc::internal, "encode_failed", "cannot encode the result as webp");
  return out;
}

/// JPEG through libjpeg-turbo's API: 4:2:0 chroma (as OpenCV's writer), standard Huffman tables
/// (optimised ones cost 60% more time for 10% fewer bytes), from BGR, BGRX or grey without a
/// conversion pass.
result<std::string> encode_jpeg(const cv::Mat& image, int quality) {
  int channels = image.channels();
  int pixel = channels == 1 ? TJPF_GRAY : channels == 4 ? TJPF_BGRX : TJPF_BGR;
  int sampling = channels == 1 ? TJSAMP_GRAY : TJSAMP_420;
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  if (image.depth() != CV_8U ||
      tjCompress2(compressor(), image.data, image.cols, static_cast<int>(image.step), image.rows,
                  pixel, &buf, &size, sampling, quality, 0) != 0) {
    tjFree(buf);
    return make_error(errc::internal, "encode_failed", "cannot encode the result as jpeg");
  }
  std::string out(reinterpret_cast<char*>(buf), size);
  tjFree(buf);
  return out;
}

/// Per-thread state of the PNG writer: a compressor per level and the scratch buffers, which
/// grow to the largest image the thread has written and are reused (no page faults per image).
struct png_scratch {
  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> fast{
      libdeflate_alloc_compressor(1), libdeflate_free_compressor};
  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> grey{
      libdeflate_alloc_compressor(2), libdeflate_free_compressor};
  std::vector<uint8_t> filtered;
  std::vector<uint8_t> compressed;
};

void append_chunk(std::string& out, const char* type, const uint8_t* data, size_t size) {
  auto be32 = [&](uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.append(b, 4);
  };
  be32(static_cast<uint32_t>(size));
  out.append(type, 4);
  out.append(reinterpret_cast<const char*>(data), size);
  // libdeflate_crc32 answers 0 ("start") for a null buffer, so an empty chunk skips the call.
  uint32_t crc = libdeflate_crc32(0, type, 4);
  if (size > 0) crc = libdeflate_crc32(crc, data, size);
  be32(crc);
}

/// PNG as libdeflate compresses it: every row Up-filtered, level 1 for colour and 2 for grey.
/// On 1 MP camera results that is 1.4x faster than OpenCV's own writer (Sub filter, zlib
/// level 1, RLE) and 5% smaller; libspng goes through zlib and is no faster
/// (docs/performance.md). The container is three chunks, written here.
result<std::string> encode_png(const cv::Mat& image) {
  int channels = image.channels();
  if (image.depth() != CV_8U || (channels != 1 && channels != 3 && channels != 4) ||
      image.empty())
    return make_error(errc::internal, "encode_failed", "cannot encode the result as png");
  // A fresh matrix: converting into a copy of `image`'s header would write into its pixels.
  cv::Mat rgb;
  if (channels == 1)
    rgb = image;
  else
    cv::cvtColor(image, rgb, channels == 3 ? cv::COLOR_BGR2RGB : cv::COLOR_BGRA2RGBA);
  thread_local png_scratch scratch;
  size_t stride = size_t(rgb.cols) * channels, rows = size_t(rgb.rows);
  auto& raw = scratch.filtered;
  raw.resize((stride + 1) * rows);
  for (size_t y = 0; y < rows; ++y) {
    uint8_t* d = raw.data() + y * (stride + 1);
    const uint8_t* s = rgb.ptr<uint8_t>(static_cast<int>(y));
    d[0] = 2;  // Up: each byte minus the byte above it (nothing above the first row)
    if (y == 0) {
      std::memcpy(d + 1, s, stride);
    } else {
      const uint8_t* u = rgb.ptr<uint8_t>(static_cast<int>(y - 1));
      for (size_t i = 0; i < stride; ++i) d[1 + i] = static_cast<uint8_t>(s[i] - u[i]);
    }
  }
  auto* compressor = channels == 1 ? scratch.grey.get() : scratch.fast.get();
  auto& z = scratch.compressed;
  z.resize(libdeflate_zlib_compress_bound(compressor, raw.size()));
  size_t n = libdeflate_zlib_compress(compressor, raw.data(), raw.size(), z.data(), z.size());
  if (n == 0) return make_error(errc::internal, "encode_failed", "cannot encode the result as png");
  std::string out;
  out.reserve(8 + 25 + 12 + n + 12);
  out.append("\x89PNG\r\n\x1a\n", 8);
  uint8_t header[13] = {};
  for (int i = 0; i < 4; ++i) {
    header[i] = static_cast<uint8_t>(uint32_t(rgb.cols) >> (24 - 8 * i));
    header[4 + i] = static_cast<uint8_t>(uint32_t(rgb.rows) >> (24 - 8 * i));
  }
  header[8] = 8;                                              // bits per sample
  header[9] = channels == 1 ? 0 : channels == 3 ? 2 : 6;      // grey, RGB, RGBA
  append_chunk(out, "IHDR", header, sizeof header);
  append_chunk(out, "IDAT", z.data(), n);
  append_chunk(out, "IEND", nullptr, 0);
  return out;
}

}  // namespace

result<std::string> encode(const cv::Mat& image, format f, int quality) {
  switch (f) {
    case format::jpeg:
      return encode_jpeg(image, quality);
    case format::webp:
      return encode_webp(image, quality);
    case format::png:
      break;
  }
  return encode_png(image);
}

}  // namespace pixhive::imaging
