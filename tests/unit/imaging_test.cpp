// Each operation on a generated image, checked by a property of its output.
#include <gtest/gtest.h>
#include <turbojpeg.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pixhive/core/hash64.hpp"
#include "pixhive/imaging/analysis.hpp"
#include "pixhive/imaging/codec.hpp"
#include "pixhive/imaging/models.hpp"
#include "pixhive/imaging/operations.hpp"
#include "pixhive/imaging/pipeline.hpp"

namespace {

using namespace pixhive;
using namespace pixhive::imaging;
using nlohmann::json;

/// A white square (from `lo` to `hi` on both axes) on black.
cv::Mat white_square(int size = 200, int lo = 50, int hi = 150) {
  cv::Mat img(size, size, CV_8UC3, cv::Scalar::all(0));
  cv::rectangle(img, cv::Point(lo, lo), cv::Point(hi - 1, hi - 1), cv::Scalar::all(255),
                cv::FILLED);
  return img;
}

/// Loads the networks once per test process, as the server does at start-up (the upload
/// pipeline and background_removal run them).
void load_models() {
  static auto loaded = use_models(default_model_dir());
  ASSERT_TRUE(loaded) << (loaded ? "" : to_problem(loaded.error()).message);
}

op_output run(const std::string& op, const cv::Mat& in, json params = json::object()) {
  auto p = validate(op, params);
  EXPECT_TRUE(p) << op;
  auto out = apply(op, in, *p);
  EXPECT_TRUE(out) << op << ": " << (out ? "" : to_problem(out.error()).message);
  return out ? *out : op_output{};
}

std::string error_of(const std::string& op, json params) {
  auto p = validate(op, params);
  EXPECT_FALSE(p) << op << " " << params.dump();
  return p ? "" : to_problem(p.error()).code + ": " + to_problem(p.error()).message;
}

TEST(imaging_operations, canny_finds_the_border_of_a_square_and_nothing_inside) {
  auto out = run("edge_detection", white_square());
  ASSERT_EQ(out.image.type(), CV_8UC1);
  EXPECT_EQ(cv::countNonZero(out.image(cv::Rect(60, 60, 80, 80))), 0);     // inside
  EXPECT_EQ(cv::countNonZero(out.image(cv::Rect(0, 0, 40, 200))), 0);      // far outside
  EXPECT_GT(cv::countNonZero(out.image(cv::Rect(45, 45, 10, 110))), 80);   // left border
  EXPECT_GT(cv::countNonZero(out.image(cv::Rect(145, 45, 10, 110))), 80);  // right border
}

TEST(imaging_operations, corners_of_a_square_are_found_and_marked) {
  auto in = white_square();
  auto out = run("corner_detection", in, {{"threshold", 0.1}});
  ASSERT_GE(out.data["count"].get<int>(), 4);
  for (cv::Point2f want :
       {cv::Point2f(50, 50), cv::Point2f(149, 50), cv::Point2f(50, 149), cv::Point2f(149, 149)}) {
    bool found = false;
    for (auto& c : out.data["corners"])
      found = found || std::hypot(c["x"].get<float>() - want.x, c["y"].get<float>() - want.y) < 4;
    EXPECT_TRUE(found) << "no corner near " << want;
  }
  EXPECT_GT(cv::norm(out.image, in, cv::NORM_L1), 0);  // marks were drawn
  auto shi = run("corner_detection", in, {{"method", "shi_tomasi"}, {"threshold", 0.1}});
  EXPECT_GE(shi.data["count"].get<int>(), 4);
}

TEST(imaging_operations, gaussian_and_median_blur) {
  cv::Mat noise(100, 100, CV_8UC3);
  cv::randu(noise, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::Scalar mean, before, after;
  cv::meanStdDev(noise, mean, before);
  cv::meanStdDev(run("gaussian_blur", noise, {{"kernel", 9}}).image, mean, after);
  EXPECT_LT(after[0], before[0] / 3);

  cv::Mat dot(50, 50, CV_8UC3, cv::Scalar::all(0));
  dot.at<cv::Vec3b>(25, 25) = cv::Vec3b(255, 255, 255);
  EXPECT_EQ(cv::countNonZero(run("median_blur", dot, {{"kernel", 3}}).image.reshape(1)), 0);
}

TEST(imaging_operations, spectrum_of_vertical_stripes_peaks_on_the_horizontal_axis) {
  cv::Mat stripes(128, 128, CV_8UC3);
  for (int x = 0; x < 128; ++x) stripes.col(x).setTo(cv::Scalar::all(x / 8 % 2 ? 255 : 0));
  auto out = run("fourier_transform", stripes).image;
  ASSERT_EQ(out.type(), CV_8UC1);
  int cx = out.cols / 2, cy = out.rows / 2;
  // Brightest point apart from the centre (DC) term.
  cv::Mat masked = out.clone();
  cv::circle(masked, cv::Point(cx, cy), 2, cv::Scalar(0), cv::FILLED);
  cv::Point peak;
  cv::minMaxLoc(masked, nullptr, nullptr, nullptr, &peak);
  EXPECT_EQ(peak.y, cy);
  EXPECT_NE(peak.x, cx);
  // Off the horizontal axis there is almost nothing.
  EXPECT_LT(cv::mean(out.rowRange(0, cy - 2))[0], cv::mean(out.row(cy))[0] / 2);
}

TEST(imaging_operations, equalisation_spreads_the_histogram_and_luma_keeps_colour) {
  cv::Mat dull(100, 256, CV_8UC3);
  for (int x = 0; x < 256; ++x)
    dull.col(x).setTo(cv::Scalar(100 + x / 8, 110 + x / 10, 120 + x / 12));
  double lo, hi, before_lo, before_hi;
  cv::Mat before;
  cv::cvtColor(dull, before, cv::COLOR_BGR2GRAY);
  cv::minMaxLoc(before, &before_lo, &before_hi);
  auto gray = run("contrast_enhancement", dull, {{"mode", "gray"}}).image;
  ASSERT_EQ(gray.channels(), 1);
  cv::minMaxLoc(gray, &lo, &hi);
  EXPECT_GT(hi - lo, 200);
  for (std::string mode : {"luma", "clahe"}) {
    auto out = run("contrast_enhancement", dull, {{"mode", mode}, {"clip_limit", 10}}).image;
    ASSERT_EQ(out.channels(), 3) << mode;
    cv::Mat luma;
    cv::cvtColor(out, luma, cv::COLOR_BGR2GRAY);
    cv::minMaxLoc(luma, &lo, &hi);
    // CLAHE limits the contrast it adds, by design; it still widens the range.
    EXPECT_GT(hi - lo, mode == "luma" ? 200 : 1.5 * (before_hi - before_lo)) << mode;
    std::vector<cv::Mat> ch;
    cv::split(out, ch);
    EXPECT_GT(cv::norm(ch[0], ch[2], cv::NORM_L1), 0) << mode << " lost the colour";
  }
}

TEST(imaging_operations, invert_twice_is_identity_and_grayscale_is_one_channel) {
  cv::Mat img(64, 48, CV_8UC3);
  cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
  auto once = run("invert", img).image;
  EXPECT_EQ(once.at<cv::Vec3b>(3, 4), cv::Vec3b(255, 255, 255) - img.at<cv::Vec3b>(3, 4));
  EXPECT_EQ(cv::norm(run("invert", once).image, img, cv::NORM_INF), 0);
  auto gray = run("grayscale", img).image;
  EXPECT_EQ(gray.channels(), 1);
  EXPECT_EQ(gray.size(), img.size());
}

TEST(imaging_operations, resize_keeps_the_aspect_ratio_unless_told) {
  cv::Mat img(200, 400, CV_8UC3, cv::Scalar(1, 2, 3));
  EXPECT_EQ(run("resize", img, {{"width", 100}}).image.size(), cv::Size(100, 50));
  EXPECT_EQ(run("resize", img, {{"height", 400}}).image.size(), cv::Size(800, 400));
  EXPECT_EQ(run("resize", img, {{"width", 100}, {"height", 100}}).image.size(), cv::Size(100, 50));
  EXPECT_EQ(
      run("resize", img, {{"width", 100}, {"height", 100}, {"keep_aspect", false}}).image.size(),
      cv::Size(100, 100));
  // Shrinking decodes at reduced scale, never below the requested size.
  EXPECT_EQ(decode_reduction("resize", {{"width", 500}}, 4000, 3000), 4);
  EXPECT_EQ(decode_reduction("resize", {{"width", 500}, {"height", 2000}}, 4000, 3000), 1);
  EXPECT_EQ(decode_reduction("resize", {{"height", 300}}, 4000, 3000), 8);
  EXPECT_EQ(decode_reduction("invert", nullptr, 4000, 3000), 1);
  auto none = apply("resize", img, *validate("resize", json::object()));
  ASSERT_FALSE(none);
  EXPECT_EQ(to_problem(none.error()).kind, errc::invalid_argument);
}

TEST(imaging_operations, rotate_by_right_angles_moves_pixels_exactly) {
  cv::Mat img(20, 40, CV_8UC3, cv::Scalar::all(0));
  img.at<cv::Vec3b>(0, 39) = cv::Vec3b(255, 255, 255);  // top-right corner
  auto left = run("rotate", img, {{"angle", 90}}).image;
  ASSERT_EQ(left.size(), cv::Size(20, 40));
  EXPECT_EQ(left.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));  // now top-left
  auto diag = run("rotate", img, {{"angle", 45}}).image;
  EXPECT_GT(diag.cols, 40);
  EXPECT_GT(diag.rows, 20);
  EXPECT_EQ(run("rotate", img, {{"angle", 45}, {"expand", false}}).image.size(), img.size());
}

TEST(imaging_operations, background_removal_keeps_the_object_and_clears_the_background) {
  load_models();
  cv::Mat img(200, 200, CV_8UC3, cv::Scalar(40, 160, 40));
  cv::randn(img, cv::Scalar(40, 160, 40), cv::Scalar::all(8));
  cv::circle(img, cv::Point(100, 100), 50, cv::Scalar(30, 30, 220), cv::FILLED);
  auto out = run("background_removal", img);
  ASSERT_EQ(out.image.channels(), 4);
  std::vector<cv::Mat> ch;
  cv::split(out.image, ch);
  EXPECT_EQ(ch[3].at<uchar>(100, 100), 255);
  EXPECT_EQ(ch[3].at<uchar>(5, 5), 0);
  EXPECT_EQ(ch[3].at<uchar>(100, 30), 0);
  double share = out.data["foreground_share"];
  EXPECT_NEAR(share, 3.14159 * 50 * 50 / 40000, 0.05);
  auto outside = apply(
      "background_removal", img,
      *validate("background_removal", {{"x", 150}, {"y", 0}, {"width", 100}, {"height", 10}}));
  EXPECT_FALSE(outside);
}

TEST(imaging_operations, ocr_reads_rendered_text) {
  cv::Mat img(200, 900, CV_8UC3, cv::Scalar::all(255));
  cv::putText(img, "HELLO PIXHIVE", cv::Point(30, 130), cv::FONT_HERSHEY_SIMPLEX, 2.5,
              cv::Scalar::all(0), 6, cv::LINE_AA);
  auto out = run("text_detection", img);
  auto text = out.data["text"].get<std::string>();
  EXPECT_NE(text.find("HELLO"), std::string::npos) << text;
  EXPECT_NE(text.find("PIXHIVE"), std::string::npos) << text;
  ASSERT_GE(out.data["words"].size(), 2u);
  EXPECT_GT(out.data["words"][0]["confidence"].get<double>(), 50);
  EXPECT_GT(out.data["words"][0]["box"]["width"].get<int>(), 50);
  EXPECT_TRUE(likely_has_text(img));
  cv::Mat smooth(200, 900, CV_8UC3);
  for (int x = 0; x < 900; ++x) smooth.col(x).setTo(cv::Scalar::all(x * 255 / 900));
  EXPECT_FALSE(likely_has_text(smooth));
}

TEST(imaging_operations, bad_parameters_name_the_parameter_and_its_range) {
  auto even = error_of("gaussian_blur", {{"kernel", 4}});
  EXPECT_NE(even.find("invalid_parameter"), std::string::npos);
  EXPECT_NE(even.find("'kernel'"), std::string::npos) << even;
  EXPECT_NE(even.find("odd integer in [1, 99]"), std::string::npos) << even;
  auto range = error_of("edge_detection", {{"threshold1", 5000}});
  EXPECT_NE(range.find("'threshold1'"), std::string::npos);
  EXPECT_NE(range.find("[0, 1000]"), std::string::npos) << range;
  auto aperture = error_of("edge_detection", {{"aperture", 9}});
  EXPECT_NE(aperture.find("[3, 7]"), std::string::npos) << aperture;
  auto mode = error_of("contrast_enhancement", {{"mode", "sepia"}});
  EXPECT_NE(mode.find("gray, luma, clahe"), std::string::npos) << mode;
  EXPECT_NE(error_of("rotate", {{"angle", "ninety"}}).find("'angle'"), std::string::npos);
  EXPECT_NE(error_of("invert", {{"strength", 2}}).find("unknown parameter 'strength'"),
            std::string::npos);
  EXPECT_NE(error_of("resize", {{"width", 2.5}}).find("'width'"), std::string::npos);
  EXPECT_NE(error_of("sharpen", json::object()).find("unknown_operation"), std::string::npos);
  EXPECT_NE(error_of("invert", json::array()).find("JSON object"), std::string::npos);
}

TEST(imaging_operations, defaults_are_filled_in_canonical_order) {
  auto a = validate("edge_detection", {{"threshold2", 200}, {"threshold1", 100}});
  auto b = validate("edge_detection", nullptr);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->dump(), b->dump());
  EXPECT_EQ(operations_json()["operations"].size(), operations().size());
  EXPECT_EQ(operations().size(), 12u);
}

/// A JPEG whose EXIF orientation is `orientation` (6: "rotate 90° clockwise to display").
std::string jpeg_with_orientation(const cv::Mat& img, int orientation) {
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  std::string jpeg(buf.begin(), buf.end());
  std::string tiff("MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0", 26);
  tiff[19] = static_cast<char>(orientation);
  std::string app1 = "Exif" + std::string(2, '\0') + tiff;
  auto len = static_cast<uint16_t>(app1.size() + 2);
  std::string seg = "\xff\xe1" + std::string{char(len >> 8), char(len & 0xff)} + app1;
  return jpeg.substr(0, 2) + seg + jpeg.substr(2);
}

std::string jpeg_with_orientation_6(const cv::Mat& img) {
  return jpeg_with_orientation(img, 6);
}

std::string_view view(const std::vector<uchar>& buf) {
  return {reinterpret_cast<const char*>(buf.data()), buf.size()};
}

/// An image no flip or turn maps onto itself: a gradient with a red block near one corner.
cv::Mat asymmetric(int rows, int cols) {
  cv::Mat img(rows, cols, CV_8UC3);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < cols; ++x)
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>(x * 255 / cols), static_cast<uchar>(y * 255 / rows), 60);
  cv::rectangle(img, cv::Rect(cols / 10, rows / 8, cols / 5, rows / 6), cv::Scalar(0, 0, 255),
                cv::FILLED);
  return img;
}

TEST(imaging_codec, every_exif_orientation_decodes_as_opencv_displays_it) {
  auto img = asymmetric(96, 160);
  for (int o = 1; o <= 8; ++o) {
    auto bytes = jpeg_with_orientation(img, o);
    auto ours = decode(bytes);
    ASSERT_TRUE(ours) << o;
    cv::Mat reference =
        cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_COLOR);
    ASSERT_EQ(ours->size(), reference.size()) << o;
    // libjpeg-turbo's fast DCT against OpenCV's accurate one: a level or two apart, while a
    // wrong turn or flip moves the red block and the gradients by far more.
    EXPECT_LT(cv::norm(*ours, reference, cv::NORM_L1) / double(reference.total() * 3), 2.0) << o;
  }
}

TEST(imaging_codec, decode_to_fit_picks_the_smallest_dct_scale_that_covers_both_sides) {
  auto img = asymmetric(1200, 1600);
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  // 6/8 is the first scale whose long side reaches 1080; the short side would allow 3/8.
  auto display = decode_to_fit(view(buf), 320, 1080);
  ASSERT_TRUE(display);
  EXPECT_EQ(display->image.size(), cv::Size(1200, 900));
  EXPECT_EQ(display->full_width, 1600);
  EXPECT_EQ(display->full_height, 1200);
  auto thumb = decode_to_fit(view(buf), 320, 320);
  ASSERT_TRUE(thumb);
  EXPECT_EQ(thumb->image.size(), cv::Size(600, 450));  // 3/8
  auto turned = decode_to_fit(jpeg_with_orientation_6(img), 320, 320);
  ASSERT_TRUE(turned);
  EXPECT_EQ(turned->image.size(), cv::Size(450, 600));
  EXPECT_EQ(turned->full_width, 1200);
  EXPECT_EQ(turned->full_height, 1600);
  // Small images and other formats decode at full size.
  auto small = decode_to_fit(jpeg_with_orientation(img(cv::Rect(0, 0, 300, 200)), 1), 320, 1080);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->image.size(), cv::Size(300, 200));
  cv::imencode(".png", img, buf);
  auto png = decode_to_fit(view(buf), 320, 320);
  ASSERT_TRUE(png);
  EXPECT_EQ(png->image.size(), cv::Size(1600, 1200));
  EXPECT_EQ(png->full_width, 1600);
}

TEST(imaging_codec, cmyk_jpeg_falls_back_to_opencv_and_jpeg_encodes_grey_and_bgra) {
  // libjpeg-turbo's API will not turn CMYK into BGR; OpenCV's reader does.
  cv::Mat cmyk(64, 96, CV_8UC4, cv::Scalar(0, 255, 255, 0));
  auto tj = tjInitCompress();
  unsigned char* out = nullptr;
  unsigned long size = 0;
  ASSERT_EQ(tjCompress2(tj, cmyk.data, cmyk.cols, 0, cmyk.rows, TJPF_CMYK, &out, &size, TJSAMP_444,
                        90, 0),
            0);
  std::string bytes(reinterpret_cast<char*>(out), size);
  tjFree(out);
  tjDestroy(tj);
  auto decoded = decode(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->size(), cv::Size(96, 64));
  EXPECT_EQ(decoded->channels(), 3);

  cv::Mat grey(40, 60, CV_8UC1, cv::Scalar(128));
  auto g = encode(grey, format::jpeg);
  ASSERT_TRUE(g);
  auto back = cv::imdecode(std::vector<uchar>(g->begin(), g->end()), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(back.channels(), 1);
  EXPECT_NEAR(back.at<uchar>(20, 30), 128, 2);
  cv::Mat bgra(40, 60, CV_8UC4, cv::Scalar(200, 100, 50, 0));
  auto c = encode(bgra, format::jpeg);
  ASSERT_TRUE(c);
  back = cv::imdecode(std::vector<uchar>(c->begin(), c->end()), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(back.channels(), 3);
  EXPECT_NEAR(back.at<cv::Vec3b>(20, 30)[0], 200, 4);
  cv::Mat before = bgra.clone();
  auto png = encode(bgra, format::png);
  ASSERT_TRUE(png);
  EXPECT_EQ(cv::norm(bgra, before, cv::NORM_INF), 0) << "the encoder changed its input";
  back = cv::imdecode(std::vector<uchar>(png->begin(), png->end()), cv::IMREAD_UNCHANGED);
  EXPECT_EQ(cv::norm(back, bgra, cv::NORM_INF), 0);
}

TEST(imaging_codec, exif_orientation_is_applied_and_reduced_decodes_shrink) {
  cv::Mat wide(120, 200, CV_8UC3, cv::Scalar(0, 0, 255));
  auto bytes = jpeg_with_orientation_6(wide);
  auto img = decode(bytes);
  ASSERT_TRUE(img);
  EXPECT_EQ(img->size(), cv::Size(120, 200));
  cv::Mat big(1200, 1600, CV_8UC3, cv::Scalar(10, 20, 30));
  std::vector<uchar> buf;
  cv::imencode(".jpg", big, buf);
  auto quarter = decode(std::string_view(reinterpret_cast<char*>(buf.data()), buf.size()), 4);
  ASSERT_TRUE(quarter);
  EXPECT_EQ(quarter->size(), cv::Size(400, 300));
  auto broken = decode(std::string("\xff\xd8\xff\xe0 not really a jpeg", 22));
  ASSERT_FALSE(broken);
  EXPECT_EQ(to_problem(broken.error()).code, "undecodable_image");
  EXPECT_EQ(from_accept("text/html, image/webp, */*"), format::webp);
  EXPECT_EQ(from_accept("*/*"), format::png);
}

TEST(imaging_pipeline, renditions_tags_and_hash) {
  load_models();
  cv::Mat img(1200, 2000, CV_8UC3, cv::Scalar(200, 80, 20));  // blue in BGR
  std::vector<uchar> buf;
  cv::imencode(".jpg", img, buf);
  std::string bytes(buf.begin(), buf.end());
  auto r = process_upload(bytes, {});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->variants.size(), 4u);
  EXPECT_EQ(r->variants[0].name, "thumbnail");
  EXPECT_EQ(r->variants[0].width, 320);
  EXPECT_EQ(r->variants[0].height, 320);
  EXPECT_EQ(r->variants[1].content_type, "image/webp");
  EXPECT_EQ(r->variants[2].name, "display");
  EXPECT_EQ(r->variants[2].width, 1080);
  EXPECT_EQ(r->variants[2].height, 648);
  EXPECT_EQ(r->width, 2000);
  EXPECT_EQ(r->tags, std::vector<std::string>{"blue"});
  EXPECT_TRUE(r->text.empty());
  auto rotated = process_upload(jpeg_with_orientation_6(img), {});
  ASSERT_TRUE(rotated);
  EXPECT_EQ(rotated->width, 1200);
  EXPECT_EQ(rotated->height, 2000);
}

TEST(imaging_analysis, perceptual_hash_survives_recompression_and_tells_pictures_apart) {
  auto a = white_square(256, 40, 120);
  cv::circle(a, cv::Point(180, 180), 40, cv::Scalar(0, 128, 255), cv::FILLED);
  std::vector<uchar> buf;
  cv::imencode(".jpg", a, buf, {cv::IMWRITE_JPEG_QUALITY, 40});
  auto recompressed = cv::imdecode(buf, cv::IMREAD_COLOR);
  cv::Mat smaller;
  cv::resize(a, smaller, cv::Size(128, 128), 0, 0, cv::INTER_AREA);
  EXPECT_LE(hamming_distance(perceptual_hash(a), perceptual_hash(recompressed)), 4);
  EXPECT_LE(hamming_distance(perceptual_hash(a), perceptual_hash(smaller)), 4);
  cv::Mat other;
  cv::flip(a, other, -1);
  EXPECT_GE(hamming_distance(perceptual_hash(a), perceptual_hash(other)), 16);
  EXPECT_EQ(parse_hash64(hash64_hex(0x0123456789abcdefULL)), 0x0123456789abcdefULL);
  EXPECT_FALSE(parse_hash64("0123456789ABCDEF"));
}

}  // namespace
