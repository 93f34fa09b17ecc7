// The bottleneck demo's data: copy and reverse tasks within their limits, seeded splits whose test
// sources never occur in training.
#include <gtest/gtest.h>

#include <set>

#include "copy_tasks.hpp"

using namespace bottleneck;
using seqgrad::nn::seq2seq::TokenId;
using seqgrad::nn::seq2seq::TokenIds;

TEST(Synthetic, CopyAndReverseWithinLimits) {
  SyntheticOptions options{.task = SyntheticTask::reverse, .alphabet = 20, .min_length = 5, .max_length = 40};
  Generator gen(5);
  const auto data = make_synthetic(2000, options, gen);
  const auto vocab = synthetic_vocabulary(options);
  EXPECT_EQ(vocab.size(), 24u);
  EXPECT_EQ(vocab.symbol(4), "a");
  EXPECT_EQ(vocab.symbol(23), "t");
  std::set<std::size_t> lengths;
  std::set<TokenId> ids;
  for (const auto& ex : data) {
    ASSERT_GE(ex.source.size(), 5u);
    ASSERT_LE(ex.source.size(), 40u);
    TokenIds reversed(ex.source.rbegin(), ex.source.rend());
    ASSERT_EQ(ex.target, reversed);
    lengths.insert(ex.source.size());
    ids.insert(ex.source.begin(), ex.source.end());
  }
  EXPECT_EQ(lengths.size(), 36u);  // every length 5..40 occurs in 2000 draws
  EXPECT_EQ(*ids.begin(), 4);
  EXPECT_EQ(*ids.rbegin(), 23);
  EXPECT_EQ(ids.size(), 20u);
  options.task = SyntheticTask::copy;
  for (const auto& ex : make_synthetic(50, options, gen)) EXPECT_EQ(ex.target, ex.source);
}

TEST(Synthetic, SplitIsSeededAndTestIsDisjointFromTrain) {
  const SyntheticOptions small{.task = SyntheticTask::copy, .alphabet = 3, .min_length = 2, .max_length = 3};
  const auto a = make_synthetic_split(20, 5, small, 1), b = make_synthetic_split(20, 5, small, 1);
  const auto c = make_synthetic_split(20, 5, small, 2);
  const auto sources = [](const std::vector<Example>& v) {
    std::vector<TokenIds> s;
    for (const auto& ex : v) s.push_back(ex.source);
    return s;
  };
  EXPECT_EQ(sources(a.train), sources(b.train));
  EXPECT_EQ(sources(a.test), sources(b.test));
  EXPECT_NE(sources(a.train), sources(c.train));
  const auto train_sources = sources(a.train);
  const std::set<TokenIds> train(train_sources.begin(), train_sources.end());
  EXPECT_LT(train.size(), 20u);  // the small space repeats sources, so redraws did happen
  for (const auto& ex : a.test) EXPECT_FALSE(train.contains(ex.source));
  // Test data comes from its own stream: with the default space (no redraws) it does not change
  // with the training set's size.
  const SyntheticOptions big{};
  EXPECT_EQ(sources(make_synthetic_split(10, 20, big, 3).test), sources(make_synthetic_split(50, 20, big, 3).test));
  // 3^2 + 3^3 = 36 possible sources, all among 2000 training draws: no test sequence can be drawn,
  // and that is refused rather than looping.
  EXPECT_THROW(make_synthetic_split(2000, 10, small, 4), std::invalid_argument);
  EXPECT_THROW(synthetic_vocabulary({.alphabet = 27}), std::invalid_argument);
  EXPECT_THROW(synthetic_vocabulary({.min_length = 0}), std::invalid_argument);
}
