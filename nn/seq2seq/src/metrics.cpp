#include "seqgrad/nn/seq2seq/metrics.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace seqgrad::nn::seq2seq {

std::size_t edit_distance(std::span<const TokenId> a, std::span<const TokenId> b) {
  // One row of the dynamic-programming table: row[j] = distance(a[0..i), b[0..j)).
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];  // distance(a[0..i-1), b[0..j-1))
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({substitute, row[j] + 1 /* delete a[i-1] */, row[j - 1] + 1 /* insert b[j-1] */});
    }
  }
  return row[b.size()];
}

double SequenceScores::phoneme_error_rate() const {
  return reference_tokens == 0 ? 0.0 : static_cast<double>(edits) / static_cast<double>(reference_tokens);
}
double SequenceScores::accuracy() const {
  return items == 0 ? 0.0 : static_cast<double>(exact) / static_cast<double>(items);
}
double SequenceScores::word_error_rate() const { return items == 0 ? 0.0 : 1.0 - accuracy(); }

SequenceScores& SequenceScores::operator+=(const SequenceScores& other) {
  items += other.items;
  exact += other.exact;
  edits += other.edits;
  reference_tokens += other.reference_tokens;
  return *this;
}

bool SequenceScorer::add(std::span<const TokenId> output, const std::vector<TokenIds>& references) {
  if (references.empty()) throw std::invalid_argument("SequenceScorer::add: an output without references");
  std::size_t best = edit_distance(output, references[0]), best_length = references[0].size();
  for (std::size_t r = 1; r < references.size() && best > 0; ++r) {
    const std::size_t d = edit_distance(output, references[r]);
    if (d < best) best = d, best_length = references[r].size();
  }
  ++scores_.items;
  scores_.edits += best;
  scores_.reference_tokens += best_length;
  if (best == 0) ++scores_.exact;
  return best == 0;
}

std::vector<LengthBucket> length_buckets(std::size_t min_length, std::size_t max_length, std::size_t width) {
  if (width == 0 || min_length > max_length)
    throw std::invalid_argument("length_buckets: need min_length <= max_length and width > 0, got " +
                                std::to_string(min_length) + ", " + std::to_string(max_length) + ", " +
                                std::to_string(width));
  std::vector<LengthBucket> buckets;
  for (std::size_t lo = min_length; lo <= max_length; lo += width)
    buckets.push_back({lo, std::min(max_length, lo + width - 1)});
  return buckets;
}

BucketedAccuracy::BucketedAccuracy(std::vector<LengthBucket> buckets) {
  std::sort(buckets.begin(), buckets.end(),
            [](const LengthBucket& a, const LengthBucket& b) { return a.min_length < b.min_length; });
  for (std::size_t k = 0; k < buckets.size(); ++k) {
    const auto& b = buckets[k];
    if (b.min_length > b.max_length)
      throw std::invalid_argument("BucketedAccuracy: bucket " + std::to_string(b.min_length) + "-" +
                                  std::to_string(b.max_length) + " is empty");
    if (k > 0 && b.min_length <= buckets[k - 1].max_length)
      throw std::invalid_argument("BucketedAccuracy: buckets " + std::to_string(buckets[k - 1].min_length) + "-" +
                                  std::to_string(buckets[k - 1].max_length) + " and " +
                                  std::to_string(b.min_length) + "-" + std::to_string(b.max_length) + " overlap");
    rows_.push_back({b, 0, 0});
  }
  if (rows_.empty()) throw std::invalid_argument("BucketedAccuracy: no buckets");
}

void BucketedAccuracy::add(std::size_t source_length, bool correct) {
  for (auto& row : rows_) {
    if (source_length >= row.bucket.min_length && source_length <= row.bucket.max_length) {
      ++row.items;
      if (correct) ++row.correct;
      return;
    }
  }
  throw std::invalid_argument("BucketedAccuracy::add: no bucket holds length " + std::to_string(source_length));
}

}  // namespace seqgrad::nn::seq2seq
