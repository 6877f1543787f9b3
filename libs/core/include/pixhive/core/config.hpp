#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pixhive/core/error.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace pixhive {

/// What an option's value must be, declared with the option (`options::add`) so that `parse`
/// refuses a bad value wherever it comes from (command line or environment), the getters refuse a
/// bad default, and `--help` shows what is accepted. Built on CLI11's validators (CLI::Range,
/// CLI::IsMember).
class check {
 public:
  /// No check: any value.
  check() = default;

  /// A whole number (base 10) in [`min`, `max`]: "must be 1..64".
  static check whole(int64_t min, int64_t max);
  /// A whole number of at least `min`: "must be at least 0".
  static check at_least(int64_t min);
  /// A number in [`min`, `max`]: "must be a number in [0.05, 1]".
  static check number(double min, double max);
  /// A duration ("250ms", "15s", "5m", "24h"; a bare number is seconds) in [`min`, `max`].
  static check duration(std::chrono::milliseconds min = std::chrono::milliseconds(0),
                        std::chrono::milliseconds max = std::chrono::milliseconds::max());
  /// A boolean: 1/0, true/false, yes/no, on/off (any case); empty is false.
  static check boolean();
  /// One of `words`, exactly: "must be lru or random".
  static check one_of(std::vector<std::string> words);
  /// A value starting with one of `prefixes`: "must start with http:// or https://".
  static check starts_with(std::vector<std::string> prefixes);

  /// This check, or else one of `words` ("0..65535 or off").
  check or_one_of(std::vector<std::string> words) const;

  /// Whether this checks anything.
  explicit operator bool() const { return static_cast<bool>(accepts_); }
  /// Whether `value` passes (always, without a check).
  bool accepts(const std::string& value) const { return !accepts_ || accepts_(value); }
  /// What error messages say a refused value must be, after "must": "be 1..64".
  const std::string& expected() const { return expected_; }
  /// What `--help` shows in place of the value: "1..64", "lru|random", "DURATION".
  const std::string& placeholder() const { return placeholder_; }

 private:
  check(std::string expected, std::string placeholder,
        std::function<bool(const std::string&)> accepts);

  std::string expected_;
  std::string placeholder_;
  std::function<bool(const std::string&)> accepts_;
};

/// Command-line options, each also read from the environment as PIXHIVE_<NAME>
/// (upper case, '-' becomes '_'); a flag on the command line wins over the environment.
/// Components declare their options, and what their values must be, next to the struct that
/// holds them; parsing is CLI11's.
class options {
 public:
  /// Declares an option taking a value; `help` is shown by --help.
  options& add(std::string name, std::string default_value, std::string help);
  /// Declares an option taking a value that must pass `rule`: parse() refuses a given value that
  /// does not, and the getters a default that does not, with a message naming the option.
  options& add(std::string name, std::string default_value, std::string help, check rule);
  /// Declares a boolean switch (`--name`, `--name=false`, PIXHIVE_NAME=1).
  options& add_flag(std::string name, std::string help);

  /// Reads `args` (without the program and subcommand names), then the environment for the
  /// options not given. Unknown options, missing values and values that fail their declared
  /// check are errors whose message says what to fix; nothing is changed then.
  result<void> parse(const std::vector<std::string>& args);

  /// Words on the command line that are not options, in order.
  const std::vector<std::string>& positional() const { return positional_; }

  /// The help text: one entry per option with what it accepts, its default and environment
  /// variable.
  std::string help() const;

  /// True when `name` was given on the command line or in the environment.
  bool is_set(const std::string& name) const;

  /// The value of a declared option (its default when not given), unchecked.
  const std::string& get(const std::string& name) const;
  /// The value parsed as an integer; a malformed number (or one its check refuses) is an error.
  result<int64_t> get_int(const std::string& name) const;
  /// The value parsed as a number, within the range of its declared check.
  result<double> get_number(const std::string& name) const;
  /// The value parsed as a number in [`min`, `max`]; anything else is an error. Prefer declaring
  /// the range with the option (check::number) and get_number(name).
  result<double> get_number(const std::string& name, double min, double max) const;
  /// The value parsed as a boolean (1/0, true/false, yes/no, on/off).
  result<bool> get_bool(const std::string& name) const;
  /// The value parsed as a duration ("250ms", "15s", "5m", "24h"; a bare number is seconds).
  result<std::chrono::milliseconds> get_duration(const std::string& name) const;

  /// The environment variable that sets `name`.
  static std::string env_name(const std::string& name);

 private:
  enum class source { fallback, environment, command_line };
  struct spec {
    std::string default_value;
    std::string help;
    bool is_flag = false;
    check rule;
    std::string value;
    source from = source::fallback;
  };
  spec& find(const std::string& name);
  const spec& find(const std::string& name) const;
  /// The value of `name` if its declared check accepts it, else the error saying what to fix.
  result<std::string> checked(const std::string& name) const;
  /// Declares every option to CLI11, with its environment variable and check.
  std::map<std::string, CLI::Option*> declare_to(CLI::App& app) const;

  std::map<std::string, spec> specs_;
  std::vector<std::string> order_;
  std::vector<std::string> positional_;
};

}  // namespace pixhive
