#include "seqgrad/nn/seq2seq/readers.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <unordered_map>

namespace seqgrad::nn::seq2seq {

namespace {

// Length of the UTF-8 character starting at s[i], or 0 when the bytes there are not one (bad
// lead byte, missing or bad continuation bytes, overlong form, surrogate, beyond U+10FFFF).
std::size_t utf8_char_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

void print_issue(const ParseIssue& issue) {
  std::cerr << issue.source << ":" << issue.line << ": " << issue.message << ": " << issue.text << "\n";
}

bool tokenize(std::string_view text, Tokenization how, Symbols& out) {
  out.clear();
  if (how == Tokenization::whitespace) {
    std::size_t i = 0;
    while (i < text.size()) {
      if (text[i] == ' ') {
        ++i;
        continue;
      }
      const std::size_t end = std::min(text.find(' ', i), text.size());
      out.emplace_back(text.substr(i, end - i));
      i = end;
    }
    return true;
  }
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_char_length(text, i);
    if (n == 0) return false;
    out.emplace_back(text.substr(i, n));
    i += n;
  }
  return true;
}

ReadResult read_tsv(std::istream& in, const TsvOptions& options, const std::string& source_name) {
  ReadResult result;
  std::unordered_map<std::string, std::size_t> entry_of_source;  // for grouping
  std::string line;
  Symbols source, target;
  while (std::getline(in, line)) {
    ++result.lines;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto report = [&](const std::string& message) {
      ++result.skipped_lines;
      if (options.on_issue) options.on_issue({source_name, result.lines, message, line});
    };
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      report("no tab between source and target");
      continue;
    }
    if (line.find('\t', tab + 1) != std::string::npos) {
      report("more than one tab");
      continue;
    }
    const std::string_view view(line);
    if (!tokenize(view.substr(0, tab), options.source_tokens, source)) {
      report("the source is not valid UTF-8");
      continue;
    }
    if (!tokenize(view.substr(tab + 1), options.target_tokens, target)) {
      report("the target is not valid UTF-8");
      continue;
    }
    if (source.empty() || target.empty()) {
      report(source.empty() ? "empty source" : "empty target");
      continue;
    }
    std::string key(view.substr(0, tab));
    if (options.group_by_source) {
      auto [it, inserted] = entry_of_source.try_emplace(key, result.entries.size());
      if (!inserted) {
        auto& targets = result.entries[it->second].targets;
        if (std::find(targets.begin(), targets.end(), target) != targets.end())
          report("repeats an earlier pair");  // a duplicate would count twice in training
        else
          targets.push_back(target);
        continue;
      }
    }
    result.entries.push_back({std::move(key), result.lines, source, {target}});
  }
  return result;
}

ReadResult read_tsv(const std::filesystem::path& file, const TsvOptions& options) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("read_tsv: cannot open " + file.string());
  return read_tsv(in, options, file.string());
}

std::vector<Symbols> source_sequences(const std::vector<Entry>& entries) {
  std::vector<Symbols> out;
  out.reserve(entries.size());
  for (const auto& e : entries) out.push_back(e.source);
  return out;
}

std::vector<Symbols> target_sequences(const std::vector<Entry>& entries) {
  std::vector<Symbols> out;
  for (const auto& e : entries) out.insert(out.end(), e.targets.begin(), e.targets.end());
  return out;
}

namespace {

// The entry as an Example whose target is targets[main] and whose alternatives are the others.
Example example_of(const Entry& entry, std::size_t main, const Vocabulary& source_vocab,
                   const Vocabulary& target_vocab) {
  Example ex{source_vocab.encode(entry.source), target_vocab.encode(entry.targets[main]), {}};
  for (std::size_t k = 0; k < entry.targets.size(); ++k)
    if (k != main) ex.alternatives.push_back(target_vocab.encode(entry.targets[k]));
  return ex;
}

void check_has_targets(const Entry& entry, const char* fn) {
  if (entry.targets.empty())
    throw std::invalid_argument(std::string(fn) + ": entry '" + entry.key + "' has no targets");
}

}  // namespace

std::vector<Example> training_examples(const std::vector<Entry>& entries, const Vocabulary& source_vocab,
                                       const Vocabulary& target_vocab) {
  std::vector<Example> out;
  for (const auto& entry : entries) {
    check_has_targets(entry, "training_examples");
    for (std::size_t k = 0; k < entry.targets.size(); ++k)
      out.push_back(example_of(entry, k, source_vocab, target_vocab));
  }
  return out;
}

std::vector<Example> evaluation_examples(const std::vector<Entry>& entries, const Vocabulary& source_vocab,
                                         const Vocabulary& target_vocab) {
  std::vector<Example> out;
  out.reserve(entries.size());
  for (const auto& entry : entries) {
    check_has_targets(entry, "evaluation_examples");
    out.push_back(example_of(entry, 0, source_vocab, target_vocab));
  }
  return out;
}

}  // namespace seqgrad::nn::seq2seq
