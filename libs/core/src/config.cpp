#include "pixhive/core/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

namespace pixhive {

namespace {

caf::error config_error(std::string message) {
  return make_error(errc::invalid_argument, "bad_config", std::move(message));
}

/// A whole number in base 10 (CLI11's own conversion also takes 0x10 and 010 as numbers).
std::optional<int64_t> parse_whole(const std::string& v) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0) return std::nullopt;
  return static_cast<int64_t>(n);
}

/// A finite number.
std::optional<double> parse_number(const std::string& v) {
  char* end = nullptr;
  errno = 0;
  double n = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(n)) return std::nullopt;
  return n;
}

/// "250ms", "15s", "5m", "24h"; a bare number is seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& v) {
  char* end = nullptr;
  double n = std::strtod(v.c_str(), &end);
  std::string unit = end ? std::string(end) : std::string();
  double factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "m")
    factor = 60'000;
  else if (unit == "h")
    factor = 3'600'000;
  // Below 2^62 ms (some hundred million years): the conversion stays defined.
  if (v.empty() || end == v.c_str() || factor == 0 || !std::isfinite(n) || n < 0 ||
      n * factor > 4.6e18)
    return std::nullopt;
  return std::chrono::milliseconds(static_cast<int64_t>(n * factor));
}

std::optional<bool> parse_bool(std::string v) {
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
  return std::nullopt;
}

/// "a", "a or b", "a, b or c".
std::string either(const std::vector<std::string>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

std::string joined(const std::vector<std::string>& words, const std::string& separator) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : separator) + w;
  return out;
}

std::string number_text(double n) {
  std::ostringstream out;
  out << n;
  return out.str();
}

/// 3600000 → "1h", 90000 → "90s", 250 → "250ms".
std::string duration_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

/// The message of a value that its option's check refuses.
std::string refusal(const std::string& name, bool from_environment, const check& rule,
                    const std::string& value) {
  std::string out = "option --" + name;
  if (from_environment) out += " (from " + options::env_name(name) + ")";
  return out + " must " + rule.expected() + ", got '" + value + "'";
}

/// Edit distance, for "did you mean" on an unknown option.
size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

/// The name CLI11 knows the positional words by (options are lower case: no clash).
constexpr const char* words_name = "WORDS";

}  // namespace

// ---- check ----------------------------------------------------------------------------------

check::check(std::string expected, std::string placeholder,
             std::function<bool(const std::string&)> accepts)
    : expected_(std::move(expected)),
      placeholder_(std::move(placeholder)),
      accepts_(std::move(accepts)) {}

check check::whole(int64_t min, int64_t max) {
  auto range = std::to_string(min) + ".." + std::to_string(max);
  CLI::Validator in_range = CLI::Range(min, max);
  // Read in base 10 first: what passes is what get_int reads.
  return check("be " + range, range, [in_range](const std::string& v) {
    auto n = parse_whole(v);
    return n && in_range(std::to_string(*n)).empty();
  });
}

check check::at_least(int64_t min) {
  auto c = whole(min, std::numeric_limits<int64_t>::max());
  c.expected_ = "be at least " + std::to_string(min);
  c.placeholder_ = "N>=" + std::to_string(min);
  return c;
}

check check::number(double min, double max) {
  CLI::Validator in_range = CLI::Range(min, max);
  return check("be a number in [" + number_text(min) + ", " + number_text(max) + "]",
               number_text(min) + ".." + number_text(max),
               [in_range](const std::string& v) { return parse_number(v) && in_range(v).empty(); });
}

check check::duration(std::chrono::milliseconds min, std::chrono::milliseconds max) {
  bool bounded_above = max != std::chrono::milliseconds::max();
  std::string expected = "be a duration";
  std::string placeholder = "DURATION";
  if (min.count() > 0 && bounded_above) {
    expected += " from " + duration_text(min) + " to " + duration_text(max) + " (such as ";
    placeholder = duration_text(min) + ".." + duration_text(max);
  } else if (min.count() > 0) {
    expected += " of at least " + duration_text(min) + " (such as ";
    placeholder += ">=" + duration_text(min);
  } else if (bounded_above) {
    expected += " of at most " + duration_text(max) + " (such as ";
    placeholder += "<=" + duration_text(max);
  } else {
    expected += " such as ";
  }
  expected += "250ms, 15s, 5m or 24h";
  if (min.count() > 0 || bounded_above) expected += ")";
  CLI::Validator in_range = CLI::Range(min.count(), max.count());
  return check(expected, placeholder, [in_range](const std::string& v) {
    auto d = parse_duration(v);
    return d && in_range(std::to_string(d->count())).empty();
  });
}

check check::boolean() {
  // The empty string: an empty environment variable leaves a switch off.
  CLI::Validator truth =
      CLI::IsMember({"1", "0", "true", "false", "yes", "no", "on", "off", ""}, CLI::ignore_case);
  return check("be true or false", "BOOL",
               [truth](const std::string& v) { return truth(v).empty(); });
}

check check::one_of(std::vector<std::string> words) {
  CLI::Validator member = CLI::IsMember(words);
  return check("be " + either(words), joined(words, "|"),
               [member](const std::string& v) { return member(v).empty(); });
}

check check::starts_with(std::vector<std::string> prefixes) {
  std::vector<std::string> shown;
  for (const auto& p : prefixes) shown.push_back(p + "...");
  return check("start with " + either(prefixes), joined(shown, "|"),
               [prefixes](const std::string& v) {
                 return std::any_of(prefixes.begin(), prefixes.end(),
                                    [&](const auto& p) { return v.rfind(p, 0) == 0; });
               });
}

check check::or_one_of(std::vector<std::string> words) const {
  CLI::Validator member = CLI::IsMember(words);
  auto first = accepts_;
  return check(
      expected_ + " or " + either(words), placeholder_ + "|" + joined(words, "|"),
      [first, member](const std::string& v) { return (first && first(v)) || member(v).empty(); });
}

// ---- options ---------------------------------------------------------------------------------

options& options::add(std::string name, std::string default_value, std::string help) {
  return add(std::move(name), std::move(default_value), std::move(help), check());
}

options& options::add(std::string name, std::string default_value, std::string help, check rule) {
  if (!specs_.count(name)) order_.push_back(name);
  spec s;
  s.default_value = default_value;
  s.help = std::move(help);
  s.rule = std::move(rule);
  s.value = std::move(default_value);
  specs_[name] = std::move(s);
  return *this;
}

options& options::add_flag(std::string name, std::string help) {
  if (!specs_.count(name)) order_.push_back(name);
  spec s;
  s.default_value = "false";
  s.help = std::move(help);
  s.is_flag = true;
  s.rule = check::boolean();
  s.value = "false";
  specs_[name] = std::move(s);
  return *this;
}

std::string options::env_name(const std::string& name) {
  std::string out = "PIXHIVE_";
  for (char c : name) out += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return out;
}

options::spec& options::find(const std::string& name) {
  auto it = specs_.find(name);
  if (it == specs_.end()) throw std::logic_error("undeclared option: " + name);
  return it->second;
}

const options::spec& options::find(const std::string& name) const {
  auto it = specs_.find(name);
  if (it == specs_.end()) throw std::logic_error("undeclared option: " + name);
  return it->second;
}

std::map<std::string, CLI::Option*> options::declare_to(CLI::App& app) const {
  std::map<std::string, CLI::Option*> made;
  for (const auto& name : order_) {
    const auto& s = specs_.at(name);
    const std::string& help = s.help;
    CLI::Option* opt = s.is_flag ? app.add_flag("--" + name, help)
                                 : app.add_option("--" + name, help)
                                       ->default_str(s.default_value)
                                       ->type_name(s.rule ? s.rule.placeholder() : "VALUE");
    opt->envname(env_name(name));
    if (s.rule) {
      // parse() words the message, knowing where the refused value came from.
      opt->check(CLI::Validator(
          [rule = s.rule](std::string& v) { return rule.accepts(v) ? "" : rule.expected(); }, ""));
    }
    made[name] = opt;
  }
  return made;
}

result<void> options::parse(const std::vector<std::string>& args) {
  CLI::App app;
  app.set_help_flag();  // --help and --version are the program's, asked before parsing
  app.allow_extras(false);
  // A repeated option: the last one counts.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  auto made = declare_to(app);
  std::vector<std::string> words;
  app.add_option(words_name, words);
  auto on_command_line = [&app](const CLI::Option* opt) {
    const auto& order = app.parse_order();
    return std::find(order.begin(), order.end(), opt) != order.end();
  };
  // CLI11 takes the arguments reversed, and reads "--name=" as "--name" (its value the next
  // argument, or true for a switch): pass the empty value as one (empty switches are off).
  std::vector<std::string> reversed;
  for (auto it = args.rbegin(); it != args.rend(); ++it) {
    auto eq = it->find('=');
    auto named = it->rfind("--", 0) == 0 && eq + 1 == it->size()
                     ? specs_.find(it->substr(2, eq - 2))
                     : specs_.end();
    if (named == specs_.end()) {
      reversed.push_back(*it);
    } else if (named->second.is_flag) {
      reversed.push_back(*it + "false");
    } else {
      reversed.emplace_back();
      reversed.push_back(it->substr(0, eq));
    }
  }
  try {
    app.parse(std::move(reversed));
  } catch (const CLI::ExtrasError&) {
    auto extras = app.remaining();
    auto unknown = std::find_if(extras.begin(), extras.end(),
                                [](const std::string& a) { return a.rfind("-", 0) == 0; });
    if (unknown == extras.end())
      return config_error("unexpected argument '" + (extras.empty() ? "" : extras[0]) + "'");
    auto given = unknown->substr(0, unknown->find('='));
    auto bare = given.substr(std::min(given.find_first_not_of('-'), given.size()));
    std::string message = "unknown option " + given;
    std::string nearest;
    size_t best = 3;  // suggest only a near miss
    for (const auto& name : order_)
      if (auto d = distance(bare, name); d < best && 3 * d <= std::max(bare.size(), name.size()))
        best = d, nearest = name;
    if (!nearest.empty()) message += " (did you mean --" + nearest + "?)";
    return config_error(message + "; see --help for the list");
  } catch (const CLI::ValidationError& e) {
    // The first option (in declaration order, as CLI11 checks them) holding a refused value.
    for (const auto& name : order_) {
      const auto& rule = specs_.at(name).rule;
      for (const auto& v : made.at(name)->results())
        if (!rule.accepts(v))
          return config_error(refusal(name, !on_command_line(made.at(name)), rule, v));
    }
    return config_error(e.what());
  } catch (const CLI::ArgumentMismatch& e) {
    // A value is missing only when the arguments run out after an option that needs one.
    if (!args.empty() && args.back().rfind("--", 0) == 0) {
      auto name = args.back().substr(2);
      if (specs_.count(name) && !specs_.at(name).is_flag)
        return config_error("option --" + name + " needs a value");
    }
    return config_error(e.what());
  } catch (const CLI::ParseError& e) {
    return config_error(std::string("bad command line: ") + e.what());
  }

  // Everything is read and checked: only now does anything change.
  std::map<std::string, std::pair<std::string, source>> found;
  for (const auto& name : order_) {
    const auto& s = specs_.at(name);
    const CLI::Option* opt = made.at(name);
    if (opt->count() > 0) {
      found[name] = {opt->results().back(),
                     on_command_line(opt) ? source::command_line : source::environment};
    } else if (std::getenv(opt->get_envname().c_str())) {
      // Set but empty (CLI11 skips those): the option is set, to "" (e.g. no web app).
      if (!s.rule.accepts("")) return config_error(refusal(name, true, s.rule, ""));
      found[name] = {"", source::environment};
    } else {
      found[name] = {s.default_value, source::fallback};
    }
  }
  for (auto& [name, value] : found) {
    auto& s = specs_.at(name);
    s.value = std::move(value.first);
    s.from = value.second;
  }
  positional_ = std::move(words);
  return caf::unit;
}

std::string options::help() const {
  CLI::App app;
  auto made = declare_to(app);
  std::ostringstream out;
  for (const auto& name : order_) {
    const CLI::Option* opt = made.at(name);
    out << "  " << opt->get_name();
    if (!specs_.at(name).is_flag) out << " " << opt->get_type_name();
    out << "\n      " << opt->get_description();
    if (!opt->get_default_str().empty()) out << " (default: " << opt->get_default_str() << ")";
    out << " [env " << opt->get_envname() << "]\n";
  }
  return out.str();
}

bool options::is_set(const std::string& name) const {
  return find(name).from != source::fallback;
}

const std::string& options::get(const std::string& name) const {
  return find(name).value;
}

result<std::string> options::checked(const std::string& name) const {
  const auto& s = find(name);
  if (!s.rule.accepts(s.value))
    return config_error(refusal(name, s.from == source::environment, s.rule, s.value));
  return s.value;
}

result<int64_t> options::get_int(const std::string& name) const {
  auto v = checked(name);
  if (!v) return v.error();
  auto n = parse_whole(*v);
  if (!n) return config_error("option --" + name + " must be a whole number, got '" + *v + "'");
  return *n;
}

result<double> options::get_number(const std::string& name) const {
  auto v = checked(name);
  if (!v) return v.error();
  auto n = parse_number(*v);
  if (!n) return config_error("option --" + name + " must be a number, got '" + *v + "'");
  return *n;
}

result<double> options::get_number(const std::string& name, double min, double max) const {
  auto n = get_number(name);
  if (!n || !(*n >= min && *n <= max))
    return config_error(
        refusal(name, find(name).from == source::environment, check::number(min, max), get(name)));
  return n;
}

result<bool> options::get_bool(const std::string& name) const {
  auto v = checked(name);
  if (!v) return v.error();
  auto b = parse_bool(*v);
  if (!b) return config_error("option --" + name + " must be true or false, got '" + *v + "'");
  return *b;
}

result<std::chrono::milliseconds> options::get_duration(const std::string& name) const {
  auto v = checked(name);
  if (!v) return v.error();
  auto d = parse_duration(*v);
  if (!d)
    return config_error("option --" + name +
                        " must be a duration such as 250ms, 15s, 5m or 24h, got '" + *v + "'");
  return *d;
}

}  // namespace pixhive
