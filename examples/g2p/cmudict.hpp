#pragma once
// The CMU Pronouncing Dictionary as published on npm (cmu-pronouncing-dictionary@3.0.0, file
// package/index.js; scripts/fetch_cmudict.sh fetches it into data/cache/cmudict/index.js):
//
//   export const dictionary = {
//     "'bout": "B AW1 T",
//     "a": "AH0",
//     "a(2)": "EY1",
//     "aalborg": "AO1 L B AO0 R G # place, danish",
//     ...
//   }
//
// Each entry line gives a word and one pronunciation: ARPAbet phonemes, vowels with a stress digit
// 0-2. "word(2)", "word(3)", ... are further correct pronunciations of "word". 22 pronunciations
// carry a trailing "# comment", which is not part of the pronunciation.
//
// The reader makes one Entry per word (key = the word, source = its characters, targets = its
// pronunciations in variant order) and reports and skips a line that is not exactly such an entry:
// a word with characters other than letters and apostrophes (the file's "a.d.", "ad-hoc", ...:
// 1,193 lines in 3.0.0), a phoneme that is not upper-case letters with an optional stress digit, an
// empty pronunciation or one that is not valid UTF-8, a variant number given twice, a line, word or pronunciation beyond the stated
// maxima (CmuDictOptions). The file's JavaScript lines (the doc comment,
// `export const dictionary = {`, the closing `}`) are recognised and passed over.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string_view>

#include "seqgrad/nn/seq2seq/readers.hpp"

// The G2P demo's data: lives beside the program that reads it, not in the library.
namespace g2p {

using seqgrad::nn::seq2seq::Entry;
using seqgrad::nn::seq2seq::IssueSink;
using seqgrad::nn::seq2seq::ReadResult;

struct CmuDictOptions {
  bool keep_stress = false;  // false: "AH0" -> "AH" (39 phonemes instead of 69 symbols)
  // The stated maxima: a longer line, a word of more letters or a pronunciation of more phonemes is
  // reported and skipped (the dictionary's longest words and pronunciations are far below them; a
  // longer one is a damaged or wrong file, and would be a batch of its own length).
  std::size_t max_line_bytes = 4096;
  std::size_t max_word_letters = 64;
  std::size_t max_phonemes = 64;
  IssueSink on_issue = seqgrad::nn::seq2seq::print_issue;
};

// Throws std::runtime_error when the stream cannot be read.
ReadResult read_cmudict(std::istream& in, const CmuDictOptions& options = {},
                        const std::string& source_name = "<stream>");
// Throws std::runtime_error naming the file when it cannot be opened or read, or is a directory.
ReadResult read_cmudict(const std::filesystem::path& file, const CmuDictOptions& options = {});

// The fixed split: bucket = zlib crc32 of the word's bytes (the base word, without "(2)") mod 100;
// buckets 0-89 train, 90-94 dev, 95-99 test. It depends on the word alone, so it never changes
// when the dictionary gains or loses other words.
enum class Split { train, dev, test };
std::uint32_t split_bucket(std::string_view word);
Split split_of(std::string_view word);
const char* split_name(Split split);

struct SplitEntries {
  std::vector<Entry> train, dev, test;
};
SplitEntries split_entries(std::vector<Entry> entries);  // by split_of(entry.key), order kept

}  // namespace g2p
