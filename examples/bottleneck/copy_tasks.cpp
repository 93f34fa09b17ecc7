#include "copy_tasks.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>

#include "seqgrad/graph/random.hpp"
#include "seqgrad/nn/seq2seq/batcher.hpp"

namespace bottleneck {

using namespace seqgrad::nn::seq2seq;

namespace {

void check(const SyntheticOptions& o) {
  if (o.alphabet == 0 || o.alphabet > 26)
    throw std::invalid_argument("synthetic task: alphabet must be 1..26, got " + std::to_string(o.alphabet));
  if (o.min_length == 0 || o.min_length > o.max_length)
    throw std::invalid_argument("synthetic task: need 1 <= min_length <= max_length, got " +
                                std::to_string(o.min_length) + ".." + std::to_string(o.max_length));
}

Example draw(const SyntheticOptions& o, Generator& gen) {
  const std::size_t length = o.min_length + gen.below(o.max_length - o.min_length + 1);
  Example ex;
  ex.source.resize(length);
  for (auto& id : ex.source) id = kNumSpecials + static_cast<TokenId>(gen.below(o.alphabet));
  ex.target = ex.source;
  if (o.task == SyntheticTask::reverse) std::reverse(ex.target.begin(), ex.target.end());
  return ex;
}

}  // namespace

Vocabulary synthetic_vocabulary(const SyntheticOptions& options) {
  check(options);
  Vocabulary vocab;
  for (std::size_t k = 0; k < options.alphabet; ++k) vocab.add(std::string(1, static_cast<char>('a' + k)));
  return vocab;
}

std::vector<Example> make_synthetic(std::size_t count, const SyntheticOptions& options, Generator& gen) {
  check(options);
  std::vector<Example> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(draw(options, gen));
  return out;
}

SyntheticData make_synthetic_split(std::size_t train_count, std::size_t test_count, const SyntheticOptions& options,
                                   std::uint64_t seed) {
  Generator train_gen(mix_seed(seed, 0)), test_gen(mix_seed(seed, 1));
  SyntheticData data{make_synthetic(train_count, options, train_gen), {}};
  const std::set<TokenIds> seen = [&] {
    std::set<TokenIds> s;
    for (const auto& ex : data.train) s.insert(ex.source);
    return s;
  }();
  // With alphabet^min_length possible sources redraws are rare, but a tiny space could make them
  // endless: give up with an error instead.
  const std::size_t max_draws = 100 * (test_count + 1);
  std::size_t draws = 0;
  while (data.test.size() < test_count) {
    if (++draws > max_draws)
      throw std::invalid_argument("make_synthetic_split: could not draw " + std::to_string(test_count) +
                                  " test sequences absent from the training set");
    Example ex = draw(options, test_gen);
    if (!seen.contains(ex.source)) data.test.push_back(std::move(ex));
  }
  return data;
}

}  // namespace bottleneck
