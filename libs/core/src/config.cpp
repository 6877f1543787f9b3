#include "pixhive/core/config.hpp"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace pixhive {

namespace {

caf::error config_error(std::string message) {
  return make_error(errc::invalid_argument, "bad_config", std::move(message));
}

}  // namespace

options& options::add(std::string name, std::string default_value, std::string help) {
  if (!specs_.count(name)) order_.push_back(name);
  specs_[name] = spec{default_value, std::move(help), false, default_value, false};
  return *this;
}

options& options::add_flag(std::string name, std::string help) {
  if (!specs_.count(name)) order_.push_back(name);
  specs_[name] = spec{"false", std::move(help), true, "false", false};
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

result<void> options::parse(const std::vector<std::string>& args) {
  for (auto& [name, s] : specs_) {
    if (const char* v = std::getenv(env_name(name).c_str())) {
      s.value = v;
      s.set = true;
    }
  }
  positional_.clear();
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      positional_.push_back(arg);
      continue;
    }
    auto body = arg.substr(2);
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    auto it = specs_.find(name);
    if (it == specs_.end())
      return config_error("unknown option --" + name + " (see --help for the list)");
    auto& s = it->second;
    if (!has_value) {
      if (s.is_flag) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return config_error("option --" + name + " needs a value");
      }
    }
    s.value = value;
    s.set = true;
  }
  return caf::unit;
}

std::string options::help() const {
  std::ostringstream out;
  for (const auto& name : order_) {
    const auto& s = specs_.at(name);
    out << "  --" << name << (s.is_flag ? "" : " VALUE") << "\n      " << s.help;
    if (!s.is_flag && !s.default_value.empty()) out << " (default: " << s.default_value << ")";
    out << " [env " << env_name(name) << "]\n";
  }
  return out.str();
}

bool options::is_set(const std::string& name) const {
  return find(name).set;
}

const std::string& options::get(const std::string& name) const {
  return find(name).value;
}

result<int64_t> options::get_int(const std::string& name) const {
  const auto& v = get(name);
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0)
    return config_error("option --" + name + " must be a whole number, got '" + v + "'");
  return static_cast<int64_t>(n);
}

result<double> options::get_number(const std::string& name, double min, double max) const {
  const auto& v = get(name);
  char* end = nullptr;
  errno = 0;
  double n = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !(n >= min && n <= max)) {
    std::ostringstream why;
    why << "option --" << name << " must be a number in [" << min << ", " << max << "], got '" << v
        << "'";
    return config_error(why.str());
  }
  return n;
}

result<bool> options::get_bool(const std::string& name) const {
  std::string v = get(name);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off" || v.empty()) return false;
  return config_error("option --" + name + " must be true or false, got '" + v + "'");
}

result<std::chrono::milliseconds> options::get_duration(const std::string& name) const {
  const auto& v = get(name);
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
  if (v.empty() || end == v.c_str() || factor == 0 || n < 0)
    return config_error("option --" + name +
                        " must be a duration such as 250ms, 15s, 5m or 24h, got '" + v + "'");
  return std::chrono::milliseconds(static_cast<int64_t>(n * factor));
}

}  // namespace pixhive
