#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "pixhive/core/error.hpp"

namespace pixhive::imaging {

/// One named, typed parameter of an operation.
struct param_spec {
  std::string name;
  /// "integer", "number", "boolean" or "enum".
  std::string type;
  double min = 0;
  double max = 0;
  /// Integers that must be odd (kernel sizes).
  bool odd = false;
  /// The allowed values of an enum.
  std::vector<std::string> values;
  nlohmann::json default_value;
  std::string description;
};

/// An image operation and its parameters.
struct operation_spec {
  std::string name;
  std::string description;
  std::vector<param_spec> params;
  /// True when the natural result is JSON (text_detection), not only an image.
  bool has_data = false;
  /// True when the result has transparency (background_removal): PNG or WebP only.
  bool has_alpha = false;
};

/// Every operation, in the order GET /api/v1/operations lists them.
const std::vector<operation_spec>& operations();

/// The operation called `name`, or nullptr.
const operation_spec* find_operation(const std::string& name);

/// The list as JSON ({"operations": [{name, description, params: [...]}]}).
nlohmann::json operations_json();

/// Checks `params` (a JSON object, may be null) against the operation's schema: unknown names,
/// wrong types and out-of-range values are 400 `invalid_parameter` naming the parameter and its
/// range; unknown operations are 400 `unknown_operation`. Returns the parameters with defaults
/// filled in, in canonical (sorted) order, so equal requests have equal JSON.
result<nlohmann::json> validate(const std::string& operation, const nlohmann::json& params);

/// validate() of parameters given as JSON text (empty: none), parsed with the depth bound
/// (400 `json_too_deep` / `invalid_parameter` when it is not JSON).
result<nlohmann::json> validate_text(const std::string& operation, std::string_view params);

/// What an operation produced: an image (8-bit gray, BGR or BGRA) and, for some, data.
struct op_output {
  cv::Mat image;
  nlohmann::json data;
};

/// How much a `width`×`height` input may be reduced while decoding for this operation (1, 2,
/// 4 or 8): only `resize` to a smaller size allows it, keeping the shorter side at least as
/// large as the longest requested side (so EXIF rotation cannot make it too small).
int decode_reduction(const std::string& operation, const nlohmann::json& params, int width,
                     int height);

/// Runs a validated operation on a BGR image.
result<op_output> apply(const std::string& operation, const cv::Mat& input,
                        const nlohmann::json& params);

}  // namespace pixhive::imaging
