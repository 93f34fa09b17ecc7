// Sequence metrics on hand-worked examples: edit distance, phoneme and word error rates with
// several references, accuracy by length bucket.
#include <gtest/gtest.h>

#include "seqgrad/nn/seq2seq/metrics.hpp"

using namespace seqgrad::nn::seq2seq;

TEST(EditDistance, HandExamples) {
  const auto d = [](TokenIds a, TokenIds b) { return edit_distance(a, b); };
  EXPECT_EQ(d({}, {}), 0u);
  EXPECT_EQ(d({1, 2, 3}, {}), 3u);
  EXPECT_EQ(d({}, {1, 2}), 2u);
  EXPECT_EQ(d({1, 2, 3}, {1, 2, 3}), 0u);
  EXPECT_EQ(d({1, 2, 3}, {1, 9, 3}), 1u);     // substitution
  EXPECT_EQ(d({1, 2, 3}, {1, 3}), 1u);        // deletion
  EXPECT_EQ(d({1, 3}, {1, 2, 3}), 1u);        // insertion
  EXPECT_EQ(d({1, 2}, {2, 1}), 2u);              // no transposition edit in Levenshtein
  EXPECT_EQ(d({1, 2, 3, 4}, {2, 1, 4, 3}), 3u);  // drop 1, 3 -> 1, append 3
  // kitten -> sitting: 3 (k->s, e->i, +g), with letters as ids.
  const auto ids = [](std::string s) { return TokenIds(s.begin(), s.end()); };
  EXPECT_EQ(edit_distance(ids("kitten"), ids("sitting")), 3u);
  EXPECT_EQ(edit_distance(ids("sitting"), ids("kitten")), 3u);
  EXPECT_EQ(edit_distance(ids("flaw"), ids("lawn")), 2u);
}

TEST(SequenceScorer, ClosestReferenceDecidesEditsAndLength) {
  SequenceScorer scorer;
  // Output 1: equal to the second reference: exact, 0 edits, that reference's length 3.
  EXPECT_TRUE(scorer.add(TokenIds{5, 6, 7}, {{5, 6}, {5, 6, 7}}));
  // Output 2: 1 edit from [4,5,6,7] (length 4), 2 from [9]: closest is the first.
  EXPECT_FALSE(scorer.add(TokenIds{4, 5, 6}, {{4, 5, 6, 7}, {9}}));
  // Output 3: equally close (1 edit) to [8,8] and [8]: the first given counts (length 2).
  EXPECT_FALSE(scorer.add(TokenIds{8, 9}, {{8, 8}, {8}}));
  // Output 4: empty against [1,2]: 2 edits, length 2.
  EXPECT_FALSE(scorer.add(TokenIds{}, {{1, 2}}));
  const auto& s = scorer.scores();
  EXPECT_EQ(s.items, 4u);
  EXPECT_EQ(s.exact, 1u);
  EXPECT_EQ(s.edits, 0u + 1 + 1 + 2);
  EXPECT_EQ(s.reference_tokens, 3u + 4 + 2 + 2);
  EXPECT_DOUBLE_EQ(s.phoneme_error_rate(), 4.0 / 11.0);
  EXPECT_DOUBLE_EQ(s.word_error_rate(), 0.75);
  EXPECT_DOUBLE_EQ(s.accuracy(), 0.25);
  EXPECT_THROW(scorer.add(TokenIds{1}, {}), std::invalid_argument);
}

TEST(SequenceScorer, PartialScoresCombine) {
  SequenceScorer a, b, all;
  a.add(TokenIds{1, 2}, {{1, 2}});
  all.add(TokenIds{1, 2}, {{1, 2}});
  b.add(TokenIds{3}, {{4, 4, 4}});
  all.add(TokenIds{3}, {{4, 4, 4}});
  SequenceScores combined = a.scores();
  combined += b.scores();
  EXPECT_EQ(combined.items, all.scores().items);
  EXPECT_EQ(combined.edits, all.scores().edits);
  EXPECT_EQ(combined.reference_tokens, 5u);
  EXPECT_DOUBLE_EQ(combined.phoneme_error_rate(), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(SequenceScores{}.phoneme_error_rate(), 0.0);
  EXPECT_DOUBLE_EQ(SequenceScores{}.accuracy(), 0.0);
}

TEST(BucketedAccuracy, CountsPerBucket) {
  const auto buckets = length_buckets(5, 40, 10);
  ASSERT_EQ(buckets.size(), 4u);
  EXPECT_EQ(buckets[0].min_length, 5u);
  EXPECT_EQ(buckets[0].max_length, 14u);
  EXPECT_EQ(buckets[3].min_length, 35u);
  EXPECT_EQ(buckets[3].max_length, 40u);

  BucketedAccuracy acc(buckets);
  acc.add(5, true);
  acc.add(14, false);
  acc.add(15, true);
  acc.add(40, true);
  acc.add(36, false);
  acc.add(39, false);
  const auto& rows = acc.rows();
  EXPECT_EQ(rows[0].items, 2u);
  EXPECT_DOUBLE_EQ(rows[0].accuracy(), 0.5);
  EXPECT_EQ(rows[1].items, 1u);
  EXPECT_EQ(rows[2].items, 0u);
  EXPECT_DOUBLE_EQ(rows[2].accuracy(), 0.0);
  EXPECT_EQ(rows[3].items, 3u);
  EXPECT_EQ(rows[3].correct, 1u);
  EXPECT_THROW(acc.add(41, true), std::invalid_argument);
  EXPECT_THROW(acc.add(4, true), std::invalid_argument);
  EXPECT_THROW(BucketedAccuracy({{1, 5}, {5, 9}}), std::invalid_argument);  // 5 in both
  EXPECT_THROW(BucketedAccuracy({{6, 5}}), std::invalid_argument);
  EXPECT_THROW(BucketedAccuracy({}), std::invalid_argument);
  EXPECT_THROW(length_buckets(5, 4, 1), std::invalid_argument);
}
