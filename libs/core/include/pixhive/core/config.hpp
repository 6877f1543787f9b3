#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pixhive/core/error.hpp"

namespace pixhive {

/// Command-line options, each also read from the environment as PIXHIVE_<NAME>
/// (upper case, '-' becomes '_'); a flag on the command line wins over the environment.
/// Components declare their options next to the struct that holds them.
class options {
 public:
  /// Declares an option taking a value; `help` is shown by --help.
  options& add(std::string name, std::string default_value, std::string help);
  /// Declares a boolean switch (`--name`, `--name=false`, PIXHIVE_NAME=1).
  options& add_flag(std::string name, std::string help);

  /// Reads the environment, then `args` (without the program and subcommand names).
  /// Unknown options and missing values are errors whose message says what to fix.
  result<void> parse(const std::vector<std::string>& args);

  /// Words on the command line that are not options, in order.
  const std::vector<std::string>& positional() const { return positional_; }

  /// The help text: one line per option with its default and environment variable.
  std::string help() const;

  /// True when `name` was given on the command line or in the environment.
  bool is_set(const std::string& name) const;

  /// The value of a declared option (its default when not given).
  const std::string& get(const std::string& name) const;
  /// The value parsed as an integer; a malformed number is an error.
  result<int64_t> get_int(const std::string& name) const;
  /// The value parsed as a number in [`min`, `max`]; anything else is an error.
  result<double> get_number(const std::string& name, double min, double max) const;
  /// The value parsed as a boolean (1/0, true/false, yes/no, on/off).
  result<bool> get_bool(const std::string& name) const;
  /// The value parsed as a duration ("250ms", "15s", "5m", "24h"; a bare number is seconds).
  result<std::chrono::milliseconds> get_duration(const std::string& name) const;

  /// The environment variable that sets `name`.
  static std::string env_name(const std::string& name);

 private:
  struct spec {
    std::string default_value;
    std::string help;
    bool is_flag = false;
    std::string value;
    bool set = false;
  };
  spec& find(const std::string& name);
  const spec& find(const std::string& name) const;

  std::map<std::string, spec> specs_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
};

}  // namespace pixhive
