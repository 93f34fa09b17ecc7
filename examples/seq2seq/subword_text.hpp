#pragma once
// The seq2seq program's text on subwords (--subwords): the pairs it reads become SentencePiece
// pieces before they meet the vocabularies, and what the model writes becomes text again before it
// is shown or scored. Scores of a subword run are computed on that text, so a model that spells an
// answer with other pieces than the reference's is still right.
#include <string>
#include <vector>

#include "recipe.hpp"
#include "seqgrad/nn/seq2seq/subwords.hpp"

namespace recipe {

// Whitespace-split symbols as the text the subword model reads: joined by single spaces.
std::string joined_text(const sq::Symbols& words);

// The subword model of `size` pieces trained on every source and every target of `entries`.
sq::Subwords train_subwords(const std::vector<sq::Entry>& entries, std::size_t size);

// `entries` with each side cut into pieces; when max_length > 0, entries with a side longer than
// max_length pieces are dropped and reported (in the report's summary line for `file`). When
// `target_texts` is given it receives the targets of each entry kept as text: the references a
// subword run's decoded outputs are scored against, the text as read.
std::vector<sq::Entry> to_pieces(std::vector<sq::Entry> entries, const sq::Subwords& subwords, std::size_t max_length,
                                 const std::string& program, const std::string& file,
                                 std::vector<std::vector<std::string>>* target_texts = nullptr);

// Scores of decoded outputs against their references (one or more per output), on text: in
// `words`, exact match of the whole string and the edit distance in whitespace-separated words to
// the closest reference (words.phoneme_error_rate(): the word error rate); corpus BLEU on the same
// words.
struct TextScores {
  sq::SequenceScores words;
  double bleu = 0;
};
TextScores score_text(const std::vector<std::string>& outputs, const std::vector<std::vector<std::string>>& references);

}  // namespace recipe
