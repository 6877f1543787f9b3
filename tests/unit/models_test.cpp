// The networks (scripts/fetch-models) on real photos from Debian packages (darknet's and
// opencv-doc's samples, put in .cache/samples by scripts/fetch-photos), and the start-up check
// that refuses missing or corrupt model files.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "images.hpp"
#include "pixhive/imaging/analysis.hpp"
#include "pixhive/imaging/models.hpp"
#include "pixhive/imaging/operations.hpp"
#include "pixhive/imaging/pipeline.hpp"
#include "support.hpp"

namespace {

using namespace pixhive;
using namespace pixhive::imaging;
namespace fs = std::filesystem;

/// Loads the networks once per test process, as the server does at start-up.
bool models_ready() {
  static auto loaded = use_models(default_model_dir());
  EXPECT_TRUE(loaded) << (loaded ? "" : to_problem(loaded.error()).message);
  return static_cast<bool>(loaded);
}

std::string sample_path(const std::string& name) {
  return std::string(PIXHIVE_SOURCE_DIR) + "/.cache/samples/" + name;
}

cv::Mat sample(const std::string& name) {
  auto img = cv::imread(sample_path(name), cv::IMREAD_COLOR);
  EXPECT_FALSE(img.empty()) << sample_path(name) << " is missing: run scripts/fetch-photos";
  return img;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool has_label(const std::vector<detection>& found, const std::string& label) {
  return std::any_of(found.begin(), found.end(),
                     [&](const detection& d) { return d.label == label; });
}

std::string labels(const std::vector<detection>& found) {
  std::string out;
  for (const auto& d : found) out += d.label + " " + std::to_string(d.confidence) + "; ";
  return out;
}

TEST(models, nanodet_tags_darknets_dog_and_person_photos) {
  ASSERT_TRUE(models_ready());
  auto dog = sample("dog.jpg");
  ASSERT_FALSE(dog.empty());
  auto on_dog = detect_objects(dog, 0.4f);
  ASSERT_TRUE(on_dog);
  EXPECT_TRUE(has_label(*on_dog, "dog")) << labels(*on_dog);
  for (const auto& d : *on_dog) {
    EXPECT_GE(d.confidence, 0.4f);
    EXPECT_TRUE((d.box & cv::Rect(0, 0, dog.cols, dog.rows)) == d.box);
  }
  auto person = sample("person.jpg");
  ASSERT_FALSE(person.empty());
  auto on_person = detect_objects(person, 0.4f);
  ASSERT_TRUE(on_person);
  EXPECT_TRUE(has_label(*on_person, "person")) << labels(*on_person);
  // A flat picture has nothing in it.
  auto none = detect_objects(cv::Mat(480, 640, CV_8UC3, cv::Scalar(90, 90, 90)), 0.4f);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty()) << labels(*none);
}

TEST(models, blazeface_finds_the_face_in_opencv_docs_photo_and_none_in_a_flat_one) {
  ASSERT_TRUE(models_ready());
  auto messi = sample("messi5.jpg");
  ASSERT_FALSE(messi.empty());
  auto faces = detect_faces(messi);
  ASSERT_TRUE(faces);
  ASSERT_GE(faces->size(), 1u) << labels(*faces);
  const auto& face = faces->front();
  EXPECT_GE(face.confidence, 0.75f);
  // A face, not the whole picture.
  EXPECT_GT(face.box.area(), 100);
  EXPECT_LT(face.box.area(), messi.cols * messi.rows / 4);
  auto none = detect_faces(cv::Mat(480, 640, CV_8UC3, cv::Scalar(200, 200, 200)));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(models, explicit_scores_are_a_distribution_and_ordinary_photos_are_neutral) {
  ASSERT_TRUE(models_ready());
  for (const char* name : {"dog.jpg", "kite.jpg", "horses.jpg"}) {
    auto img = sample(name);
    ASSERT_FALSE(img.empty());
    auto s = score_explicit(img);
    ASSERT_TRUE(s);
    EXPECT_NEAR(s->drawing + s->hentai + s->neutral + s->porn + s->sexy, 1.0, 1e-3) << name;
    EXPECT_LT(s->porn + s->hentai, 0.3) << name;
  }
}

TEST(models, person_cut_out_covers_the_person_and_leaves_the_background) {
  ASSERT_TRUE(models_ready());
  auto img = sample("person.jpg");
  ASSERT_FALSE(img.empty());
  auto found = detect_objects(img, 0.4f);
  ASSERT_TRUE(found);
  auto person = std::find_if(found->begin(), found->end(),
                             [](const detection& d) { return d.label == "person"; });
  ASSERT_NE(person, found->end()) << labels(*found);
  auto params = validate("background_removal", nlohmann::json::object());
  ASSERT_TRUE(params);
  auto out = apply("background_removal", img, *params);
  ASSERT_TRUE(out) << to_problem(out.error()).message;
  EXPECT_EQ(out->data["method"], "person");
  ASSERT_EQ(out->image.channels(), 4);
  cv::Mat alpha;
  cv::extractChannel(out->image, alpha, 3);
  // The figure fills about half of its (loose) box: a good part of the box is kept, and what is
  // kept lies in the person boxes.
  double inside = cv::countNonZero(alpha(person->box) > 127) / double(person->box.area());
  EXPECT_GT(inside, 0.35);
  cv::Mat outside_mask(alpha.size(), CV_8U, cv::Scalar(255));
  for (const auto& d : *found)
    if (d.label == "person") outside_mask(d.box).setTo(0);
  cv::Mat kept_outside = (alpha > 127) & outside_mask;
  EXPECT_LT(cv::countNonZero(kept_outside) / double(cv::countNonZero(outside_mask)), 0.1);
  // GrabCut is still there when asked for.
  auto grabcut = validate("background_removal", {{"method", "grabcut"}, {"iterations", 1}});
  ASSERT_TRUE(grabcut);
  auto by_grabcut = apply("background_removal", img, *grabcut);
  ASSERT_TRUE(by_grabcut);
  EXPECT_EQ(by_grabcut->data["method"], "grabcut");
}

TEST(models, the_upload_pipeline_tags_objects_and_reports_them_at_full_scale) {
  ASSERT_TRUE(models_ready());
  auto bytes = slurp(sample_path("dog.jpg"));
  ASSERT_FALSE(bytes.empty());
  auto full = cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), cv::IMREAD_COLOR);
  // Bigger than the display size, so the analysis runs on a reduced copy.
  cv::Mat big;
  cv::resize(full, big, cv::Size(), 3, 3, cv::INTER_CUBIC);
  std::vector<uchar> buf;
  cv::imencode(".jpg", big, buf);
  auto r = process_upload(std::string(buf.begin(), buf.end()), {});
  ASSERT_TRUE(r) << to_problem(r.error()).message;
  EXPECT_NE(std::find(r->tags.begin(), r->tags.end(), "dog"), r->tags.end());
  ASSERT_TRUE(has_label(r->objects, "dog")) << labels(r->objects);
  for (const auto& o : r->objects) {
    EXPECT_LE(o.box.x + o.box.width, big.cols + 2);
    EXPECT_LE(o.box.y + o.box.height, big.rows + 2);
  }
  // The largest box lies in the full-size frame, well beyond the 1080 px display copy.
  int widest = 0;
  for (const auto& o : r->objects) widest = std::max(widest, o.box.x + o.box.width);
  EXPECT_GT(widest, 1080);
  std::vector<std::string> steps;
  for (const auto& [name, us] : r->step_us) steps.push_back(name);
  for (const char* step : {"decode", "objects", "explicit", "faces"})
    EXPECT_NE(std::find(steps.begin(), steps.end(), step), steps.end()) << step;
}

// The text gate in front of Tesseract: a street sign from opencv-doc is read; the camera photos
// and the sample photos without text never reach the OCR (it cost them 20-25 ms each).
TEST(models, the_pipeline_reads_a_street_sign_and_skips_ocr_on_photos_without_text) {
  ASSERT_TRUE(models_ready());
  auto sign = process_upload(slurp(sample_path("scenetext02.jpg")), {});
  ASSERT_TRUE(sign) << to_problem(sign.error()).message;
  EXPECT_NE(sign->text.find("Sports Centre"), std::string::npos) << sign->text;
  EXPECT_NE(std::find(sign->tags.begin(), sign->tags.end(), "text"), sign->tags.end());
  auto display_copy = [](const cv::Mat& img) {
    double s = std::min(1.0, double(pipeline_config{}.display_size) / std::max(img.cols, img.rows));
    cv::Mat out;
    cv::resize(img, out, cv::Size(), s, s, cv::INTER_AREA);
    return out;
  };
  for (const char* name :
       {"dog.jpg", "giraffe.jpg", "horses.jpg", "person.jpg", "messi5.jpg", "face_swapped.jpg"})
    EXPECT_FALSE(likely_has_text(display_copy(sample(name)))) << name;
  auto photos = pixhive::testing::real_photos();
  if (photos.empty())
    PIXHIVE_SKIP_MISSING("no real photos (scripts/fetch-photos puts them in .cache/photos)");
  for (size_t i = 0; i < photos.size(); ++i) {
    auto img =
        cv::imdecode(std::vector<uchar>(photos[i].begin(), photos[i].end()), cv::IMREAD_COLOR);
    EXPECT_FALSE(likely_has_text(display_copy(img))) << "camera photo " << i;
  }
}

TEST(models, a_missing_or_corrupt_model_file_is_refused_with_its_name) {
  pixhive::testing::temp_dir dir;
  auto missing = use_models(dir.path());
  ASSERT_FALSE(missing);
  EXPECT_EQ(to_problem(missing.error()).code, "model_missing");
  EXPECT_NE(to_problem(missing.error()).message.find("fetch-models"), std::string::npos);
  // Every file copied, one byte of one changed.
  for (const auto& entry : fs::directory_iterator(default_model_dir()))
    if (entry.path().extension() == ".onnx")
      fs::copy_file(entry.path(), dir.path() + "/" + entry.path().filename().string());
  ASSERT_TRUE(fs::exists(dir.path() + "/nsfw.onnx"));
  {
    std::fstream f(dir.path() + "/nsfw.onnx", std::ios::in | std::ios::out | std::ios::binary);
    auto middle = static_cast<std::streamoff>(fs::file_size(dir.path() + "/nsfw.onnx") / 2);
    f.seekg(middle);
    char c = static_cast<char>(f.get());
    f.seekp(middle);
    f.put(static_cast<char>(~c));
  }
  auto corrupt = use_models(dir.path());
  ASSERT_FALSE(corrupt);
  EXPECT_EQ(to_problem(corrupt.error()).code, "model_corrupt");
  EXPECT_NE(to_problem(corrupt.error()).message.find("nsfw.onnx"), std::string::npos);
}

}  // namespace
