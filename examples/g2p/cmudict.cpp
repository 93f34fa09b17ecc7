#include "cmudict.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace g2p {

using namespace seqgrad::nn::seq2seq;

namespace {

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_letter(char c) { return is_upper(c) || (c >= 'a' && c <= 'z'); }

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// The JavaScript around the entries: comments, the opening `export const dictionary = {` (or
// `module.exports = {`) and the closing brace.
bool is_javascript_frame(std::string_view s) {
  if (s.starts_with("/*") || s.starts_with("*") || s.starts_with("//")) return true;
  if ((s.starts_with("export ") || s.starts_with("module.exports")) && s.ends_with("{")) return true;
  return s == "}" || s == "};";
}

// Reads a double-quoted string at s[i] (no escapes: the dictionary has none, and a backslash would
// need decoding we do not guess at). Returns false when there is none.
bool quoted(std::string_view s, std::size_t& i, std::string_view& out) {
  if (i >= s.size() || s[i] != '"') return false;
  const std::size_t end = s.find('"', i + 1);
  if (end == std::string_view::npos) return false;
  out = s.substr(i + 1, end - i - 1);
  if (out.find('\\') != std::string_view::npos) return false;
  i = end + 1;
  return true;
}

struct Line {
  std::string_view word, pronunciation;
};

// `"word": "pronunciation"` with an optional trailing comma; whitespace around the colon allowed.
bool split_entry_line(std::string_view s, Line& line) {
  std::size_t i = 0;
  if (!quoted(s, i, line.word)) return false;
  while (i < s.size() && s[i] == ' ') ++i;
  if (i >= s.size() || s[i] != ':') return false;
  ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  if (!quoted(s, i, line.pronunciation)) return false;
  const std::string_view rest = trim(s.substr(i));
  return rest.empty() || rest == ",";
}

// "word" -> (word, 1), "word(3)" -> (word, 3). Returns an error message, or "" when fine.
std::string parse_word(std::string_view w, std::string_view& base, int& variant) {
  variant = 1;
  base = w;
  if (const auto open = w.find('('); open != std::string_view::npos) {
    if (!w.ends_with(")")) return "a variant must be written word(N)";
    const std::string_view digits = w.substr(open + 1, w.size() - open - 2);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), variant);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || variant < 2)
      return "the variant number of '" + std::string(w) + "' is not an integer of 2 or more";
    base = w.substr(0, open);
  }
  if (base.empty()) return "empty word";
  for (char c : base)
    if (!is_letter(c) && c != '\'')
      return "a word with characters other than letters and apostrophes";  // the line, shown beside it, names the word
  return "";
}

// ARPAbet phonemes ("HH AH0 L OW1"): upper-case letters, then an optional stress digit 0-2.
std::string parse_pronunciation(std::string_view p, bool keep_stress, Symbols& phonemes) {
  if (const auto hash = p.find('#'); hash != std::string_view::npos) p = p.substr(0, hash);  // "# comment"
  if (!tokenize(p, Tokenization::whitespace, phonemes)) return "a pronunciation that is not valid UTF-8";
  if (phonemes.empty()) return "empty pronunciation";
  for (auto& ph : phonemes) {
    std::size_t letters = 0;
    while (letters < ph.size() && is_upper(ph[letters])) ++letters;
    const bool stressed = letters + 1 == ph.size() && ph[letters] >= '0' && ph[letters] <= '2';
    if (letters == 0 || (letters != ph.size() && !stressed)) return "'" + ph + "' is not an ARPAbet phoneme";
    if (stressed && !keep_stress) ph.pop_back();
  }
  return "";
}

}  // namespace

ReadResult read_cmudict(std::istream& in, const CmuDictOptions& options, const std::string& source_name) {
  ReadResult result;
  // Per word (in order of first appearance): its pronunciations by variant number.
  std::unordered_map<std::string, std::size_t> entry_of_word;
  std::vector<std::map<int, Symbols>> variants;
  std::string raw;
  Symbols phonemes;
  bool truncated = false;
  while (read_bounded_line(in, raw, options.max_line_bytes, truncated, source_name)) {
    ++result.lines;
    const auto report = [&](const std::string& message) {
      ++result.skipped_lines;
      if (options.on_issue) options.on_issue({source_name, result.lines, message, raw});
    };
    if (truncated) {
      report("a line longer than " + std::to_string(options.max_line_bytes) + " bytes");
      continue;
    }
    const std::string_view s = trim(raw);
    if (s.empty() || is_javascript_frame(s)) continue;
    Line line;
    if (!split_entry_line(s, line)) {
      report("not a line of the form \"word\": \"PH1 O N EH0 M Z\",");
      continue;
    }
    std::string_view base;
    int variant;
    if (auto error = parse_word(line.word, base, variant); !error.empty()) {
      report(error);
      continue;
    }
    const auto over = [&](std::size_t n, std::size_t max, const char* what, const char* units) {
      if (n > max) report(std::string(what) + std::to_string(n) + units + ", more than the maximum " + std::to_string(max));
      return n > max;
    };
    if (over(base.size(), options.max_word_letters, "a word of ", " letters")) continue;
    if (auto error = parse_pronunciation(line.pronunciation, options.keep_stress, phonemes); !error.empty()) {
      report(error);
      continue;
    }
    if (over(phonemes.size(), options.max_phonemes, "a pronunciation of ", " phonemes")) continue;
    auto [it, inserted] = entry_of_word.try_emplace(std::string(base), result.entries.size());
    if (inserted) {
      result.entries.push_back({std::string(base), result.lines, {}, {}});
      for (char c : base) result.entries.back().source.emplace_back(1, c);
      variants.emplace_back();
    }
    if (!variants[it->second].try_emplace(variant, phonemes).second) {
      report("variant " + std::to_string(variant) + " of '" + std::string(base) + "' was given before");
      continue;
    }
  }
  // Targets in variant order; pronunciations that only differed in stress (now removed) once.
  for (std::size_t e = 0; e < result.entries.size(); ++e) {
    auto& targets = result.entries[e].targets;
    for (auto& [_, pron] : variants[e])
      if (std::find(targets.begin(), targets.end(), pron) == targets.end()) targets.push_back(std::move(pron));
  }
  return result;
}

ReadResult read_cmudict(const std::filesystem::path& file, const CmuDictOptions& options) {
  std::ifstream in = open_for_reading(file, "read_cmudict");
  return read_cmudict(in, options, file.string());
}

std::uint32_t split_bucket(std::string_view word) {
  const auto crc = crc32_z(0L, reinterpret_cast<const Bytef*>(word.data()), word.size());
  return static_cast<std::uint32_t>(crc % 100);
}

Split split_of(std::string_view word) {
  const std::uint32_t bucket = split_bucket(word);
  return bucket < 90 ? Split::train : bucket < 95 ? Split::dev : Split::test;
}

const char* split_name(Split split) {
  switch (split) {
    case Split::train: return "train";
    case Split::dev: return "dev";
    case Split::test: return "test";
  }
  return "?";
}

SplitEntries split_entries(std::vector<Entry> entries) {
  SplitEntries out;
  for (auto& e : entries) {
    switch (split_of(e.key)) {
      case Split::train: out.train.push_back(std::move(e)); break;
      case Split::dev: out.dev.push_back(std::move(e)); break;
      case Split::test: out.test.push_back(std::move(e)); break;
    }
  }
  return out;
}

}  // namespace g2p
