#pragma once
// Reading sequence pairs from text, and turning them into Examples.
//
// Readers never guess: a line they cannot read exactly is reported to an IssueSink with its line
// number and skipped, and the reader's result counts the skipped lines. Blank lines (and a final
// line break) are not data and are skipped without a report; a "\r" before the line break is
// taken as part of the line break.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "seqgrad/nn/seq2seq/batch.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"

namespace seqgrad::nn::seq2seq {

struct ParseIssue {
  std::string source{};  // the file name (or the name given for a stream)
  std::size_t line = 0;  // 1-based
  std::string message{};
  std::string text{};    // the offending line
};
using IssueSink = std::function<void(const ParseIssue&)>;

// Prints "source:line: message: text" to std::cerr (the default sink); a text longer than 200 bytes
// is cut there, with its length given.
void print_issue(const ParseIssue& issue);

// Reads one line of `in` into `line` without its line break ("\n"; a "\r" before it is dropped too),
// keeping at most `max_bytes` bytes: the rest of a longer line is read and dropped, and `truncated`
// says so (so a file without line breaks never has to fit in memory). Returns false at the end of
// the input, when no character was left. Throws std::runtime_error naming `source_name` when the
// stream cannot be read (a directory opened as a file, an I/O error).
bool read_bounded_line(std::istream& in, std::string& line, std::size_t max_bytes, bool& truncated,
                       const std::string& source_name);

// Drops a UTF-8 byte order mark (EF BB BF, which some editors write at the start of a text file)
// from the start of a file's first line, where it would otherwise join the first symbol.
void drop_byte_order_mark(std::string& first_line);

// A data item: one source sequence with every target that counts as correct for it, in order
// (the first is the main one). `key` names the item in reports (a CMUdict word, a TSV source);
// `line` is where it was first read.
struct Entry {
  std::string key{};
  std::size_t line = 0;
  Symbols source{};
  std::vector<Symbols> targets{};
};

struct ReadResult {
  std::vector<Entry> entries{};
  std::size_t lines = 0;          // lines read
  std::size_t skipped_lines = 0;  // malformed lines (each reported)
  std::size_t blank_lines = 0;    // empty lines (not data; not reported)
};

// ---- TSV pairs: source<TAB>target per line ----

enum class Tokenization {
  whitespace,  // symbols separated by runs of spaces (the tab separates the two sides)
  characters,  // every UTF-8 character is a symbol
};  // either way, a side that is not valid UTF-8 is malformed (a vocabulary holds UTF-8 only)

struct TsvOptions {
  Tokenization source_tokens = Tokenization::whitespace;
  Tokenization target_tokens = Tokenization::whitespace;
  // Lines with the same source become one Entry with several targets (in file order): each target
  // is an accepted answer for that source (a training pair of its own, and a reference when
  // scoring), and a line that repeats an earlier pair exactly is reported and skipped (it would
  // count twice in training). Otherwise every line is its own Entry.
  bool group_by_source = true;
  // Longer lines, and sides with more symbols, are reported and skipped: such a line is not a
  // sequence pair to train on but a damaged or wrong file, and one would be a batch of its own
  // length.
  std::size_t max_line_bytes = std::size_t{1} << 20;
  std::size_t max_symbols = 1024;
  IssueSink on_issue = print_issue;
};

// A line is malformed when it does not hold exactly one tab, when either side has no symbols or
// more than max_symbols, or when it is longer than max_line_bytes. Throws std::runtime_error when
// the stream cannot be read.
ReadResult read_tsv(std::istream& in, const TsvOptions& options = {}, const std::string& source_name = "<stream>");
// Throws std::runtime_error naming the file when it cannot be opened or read, or is a directory.
ReadResult read_tsv(const std::filesystem::path& file, const TsvOptions& options = {});

// Opens `file` for reading as a reader does, throwing std::runtime_error naming the file (and
// `who`) when it is a directory or cannot be opened.
std::ifstream open_for_reading(const std::filesystem::path& file, const char* who);

// Splits `text` into symbols; false when it is not valid UTF-8.
bool tokenize(std::string_view text, Tokenization how, Symbols& out);

// ---- What a file of pairs held ----

// The counts of the one line that says what was read (the same wherever pairs are read): every line
// read is blank, skipped (reported: malformed, an exact repeat, too long) or a pair kept; the pairs
// kept have `sources` distinct sources, so merged() of them joined an earlier pair's source as
// further accepted targets.
struct PairCounts {
  std::size_t lines = 0, blank = 0, skipped = 0;
  std::size_t pairs = 0;    // (source, target) pairs kept: the entries' targets
  std::size_t sources = 0;  // distinct sources: the entries
  std::size_t merged() const { return pairs - sources; }
  bool operator==(const PairCounts&) const = default;
};

// The counts of `entries` read from `lines` lines, of which `blank` were blank and `skipped`
// reported and skipped (by the reader or after it).
PairCounts count_pairs(const std::vector<Entry>& entries, std::size_t lines, std::size_t blank, std::size_t skipped);

// "800 lines: 797 pairs of 790 distinct sources (7 merged into an earlier source as alternative
// targets), 2 skipped, 1 blank"
std::string describe(const PairCounts& counts);

// ---- Entries -> Examples ----

// Every source and target sequence of the entries (to build vocabularies from).
std::vector<Symbols> source_sequences(const std::vector<Entry>& entries);
std::vector<Symbols> target_sequences(const std::vector<Entry>& entries);

// For training: one Example per (entry, target), its alternatives the entry's other targets.
std::vector<Example> training_examples(const std::vector<Entry>& entries, const Vocabulary& source_vocab,
                                       const Vocabulary& target_vocab);
// For evaluation: one Example per entry, target = the first target, alternatives = the others.
std::vector<Example> evaluation_examples(const std::vector<Entry>& entries, const Vocabulary& source_vocab,
                                         const Vocabulary& target_vocab);

}  // namespace seqgrad::nn::seq2seq
