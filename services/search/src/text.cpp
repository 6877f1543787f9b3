#include <algorithm>
#include <cctype>
#include <set>

#include "pixhive/search/search.hpp"

namespace pixhive::search {

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string word;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      word += static_cast<char>(std::tolower(c));
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

namespace {

/// pg_trgm's trigrams: each word padded with two spaces in front and one behind.
std::set<std::string> trigrams(const std::string& s) {
  std::set<std::string> out;
  for (const auto& w : words_of(s)) {
    auto padded = "  " + w + " ";
    for (size_t i = 0; i + 3 <= padded.size(); ++i) out.insert(padded.substr(i, 3));
  }
  return out;
}

/// Optimal string alignment distance: insertions, deletions, substitutions, transpositions.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string visibility_tokens(bool is_public, int64_t owner_id) {
  return std::string(is_public ? "pxpublic " : "") + "pxowner" + std::to_string(owner_id);
}

double name_similarity(const std::string& a, const std::string& b) {
  auto ta = trigrams(a);
  auto tb = trigrams(b);
  size_t common = 0;
  for (const auto& t : ta) common += tb.count(t);
  size_t all = ta.size() + tb.size() - common;
  double trigram = all ? double(common) / double(all) : 0;
  auto la = lower(a);
  auto lb = lower(b);
  auto longest = std::max(la.size(), lb.size());
  double edit = longest ? 1.0 - double(edit_distance(la, lb)) / double(longest) : 0;
  return std::max(trigram, edit);
}

}  // namespace pixhive::search
