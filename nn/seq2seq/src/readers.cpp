#include "seqgrad/nn/seq2seq/readers.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <unordered_map>

namespace seqgrad::nn::seq2seq {

void print_issue(const ParseIssue& issue) {
  constexpr std::size_t kShown = 200;
  std::cerr << issue.source << ":" << issue.line << ": " << issue.message << ": ";
  if (issue.text.size() <= kShown)
    std::cerr << issue.text << "\n";
  else
    std::cerr << std::string_view(issue.text).substr(0, kShown) << "... (" << issue.text.size() << " bytes)\n";
}

bool read_bounded_line(std::istream& in, std::string& line, std::size_t max_bytes, bool& truncated,
                       const std::string& source_name) {
  line.clear();
  truncated = false;
  std::streambuf* buffer = in.rdbuf();
  if (!buffer || !in.good()) return false;
  bool any = false;
  try {
    for (;;) {
      const int c = buffer->sbumpc();
      if (c == std::char_traits<char>::eof()) {
        in.setstate(any ? std::ios::eofbit : std::ios::eofbit | std::ios::failbit);
        break;
      }
      any = true;
      if (c == '\n') break;
      if (line.size() < max_bytes)
        line.push_back(static_cast<char>(c));
      else
        truncated = true;
    }
  } catch (const std::exception& e) {  // libstdc++'s filebuf throws on read(2) errors (EISDIR, EIO)
    in.setstate(std::ios::badbit);
    throw std::runtime_error(source_name + ": cannot read: " + e.what());
  }
  if (!truncated && !line.empty() && line.back() == '\r') line.pop_back();
  return any;
}

std::ifstream open_for_reading(const std::filesystem::path& file, const char* who) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw std::runtime_error(std::string(who) + ": " + file.string() + " is a directory, not a file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(who) + ": cannot open " + file.string());
  return in;
}

bool tokenize(std::string_view text, Tokenization how, Symbols& out) {
  out.clear();
  if (how == Tokenization::whitespace) {
    if (!is_valid_utf8(text)) return false;  // a vocabulary holds UTF-8 symbols only
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

void drop_byte_order_mark(std::string& first_line) {
  if (first_line.starts_with("\xEF\xBB\xBF")) first_line.erase(0, 3);
}

ReadResult read_tsv(std::istream& in, const TsvOptions& options, const std::string& source_name) {
  ReadResult result;
  std::unordered_map<std::string, std::size_t> entry_of_source;  // for grouping
  std::string line;
  Symbols source, target;
  bool truncated = false;
  while (read_bounded_line(in, line, options.max_line_bytes, truncated, source_name)) {
    if (++result.lines == 1) drop_byte_order_mark(line);
    if (line.empty() && !truncated) {
      ++result.blank_lines;
      continue;
    }
    const auto report = [&](const std::string& message) {
      ++result.skipped_lines;
      if (options.on_issue) options.on_issue({source_name, result.lines, message, line});
    };
    if (truncated) {
      report("a line longer than " + std::to_string(options.max_line_bytes) + " bytes");
      continue;
    }
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
    if (source.size() > options.max_symbols || target.size() > options.max_symbols) {
      const bool src = source.size() > options.max_symbols;
      report(std::string(src ? "the source" : "the target") + " has " + std::to_string((src ? source : target).size()) +
             " symbols, more than the maximum " + std::to_string(options.max_symbols));
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
  std::ifstream in = open_for_reading(file, "read_tsv");
  return read_tsv(in, options, file.string());
}

PairCounts count_pairs(const std::vector<Entry>& entries, std::size_t lines, std::size_t blank, std::size_t skipped) {
  PairCounts c{.lines = lines, .blank = blank, .skipped = skipped, .sources = entries.size()};
  for (const Entry& e : entries) c.pairs += e.targets.size();
  return c;
}

std::string describe(const PairCounts& c) {
  return std::to_string(c.lines) + " lines: " + std::to_string(c.pairs) + " pairs of " + std::to_string(c.sources) +
         " distinct sources (" + std::to_string(c.merged()) + " merged into an earlier source as alternative targets), " +
         std::to_string(c.skipped) + " skipped, " + std::to_string(c.blank) + " blank";
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
