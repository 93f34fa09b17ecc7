#pragma once
// Sequence metrics over token ids (outputs as decoded: no specials, nothing after <eos>).
//
// For a set of outputs, each with one or more correct references:
//   phoneme error rate (PER) = sum over items of the edit distance to the closest reference
//                              / sum of the lengths of those closest references
//   word error rate (WER)    = fraction of items whose output equals none of the references
//   exact accuracy           = fraction of items whose output equals one of the references (1 - WER)
// "Closest" is the reference at the smallest edit distance; among equally close ones the first in
// the given order (the main target before its alternatives), so the choice never depends on which
// denominator would flatter the score.
#include <cstddef>
#include <span>
#include <vector>

#include "seqgrad/nn/seq2seq/vocab.hpp"

namespace seqgrad::nn::seq2seq {

// Levenshtein distance: the fewest insertions, deletions and substitutions turning a into b.
std::size_t edit_distance(std::span<const TokenId> a, std::span<const TokenId> b);

struct SequenceScores {
  std::size_t items = 0;
  std::size_t exact = 0;             // outputs equal to a reference
  std::size_t edits = 0;             // sum of edit distances to the closest references
  std::size_t reference_tokens = 0;  // sum of the closest references' lengths

  double phoneme_error_rate() const;  // edits / reference_tokens (0 when there are none)
  double word_error_rate() const;     // 1 - accuracy
  double accuracy() const;            // exact / items (0 for no items)
  SequenceScores& operator+=(const SequenceScores& other);  // combines partial scores
};

// Accumulates SequenceScores one output at a time (e.g. batch by batch).
class SequenceScorer {
 public:
  // Throws std::invalid_argument when `references` is empty. Returns whether it was exact.
  bool add(std::span<const TokenId> output, const std::vector<TokenIds>& references);
  const SequenceScores& scores() const { return scores_; }

 private:
  SequenceScores scores_;
};

// Accuracy per source-length bucket (the attention-bottleneck table: accuracy against length).
struct LengthBucket {
  std::size_t min_length = 0, max_length = 0;  // inclusive
};
// Buckets of `width` lengths covering [min_length, max_length] ({5-9, 10-14, ...}; the last may be narrower).
std::vector<LengthBucket> length_buckets(std::size_t min_length, std::size_t max_length, std::size_t width);

class BucketedAccuracy {
 public:
  // The buckets must be non-empty ranges (min <= max) that do not overlap; std::invalid_argument otherwise.
  explicit BucketedAccuracy(std::vector<LengthBucket> buckets);
  // Throws std::invalid_argument for a length that no bucket covers (rather than dropping it).
  void add(std::size_t source_length, bool correct);

  struct Row {
    LengthBucket bucket;
    std::size_t items = 0, correct = 0;
    double accuracy() const { return items == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(items); }
  };
  const std::vector<Row>& rows() const { return rows_; }

 private:
  std::vector<Row> rows_;
};

}  // namespace seqgrad::nn::seq2seq
