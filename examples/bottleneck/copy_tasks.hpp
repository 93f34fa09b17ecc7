#pragma once
// The synthetic "bottleneck" task: random symbol sequences that the model must copy or reverse.
// Without attention the encoder must squeeze the whole sequence into one vector, and accuracy falls
// with length; with attention it stays high. Sequences are uniform over the alphabet with lengths
// uniform in [min_length, max_length], drawn from a seeded Generator, so a seed fixes the data.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "seqgrad/graph/random.hpp"
#include "seqgrad/nn/seq2seq/batch.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"

// The bottleneck demo's data: lives beside the program that reads it, not in the library.
namespace bottleneck {

using seqgrad::Generator;
using seqgrad::nn::seq2seq::Example;
using seqgrad::nn::seq2seq::Vocabulary;

enum class SyntheticTask { copy, reverse };

struct SyntheticOptions {
  SyntheticTask task = SyntheticTask::reverse;
  std::size_t alphabet = 20;  // symbols "a", "b", ... (at most 26)
  std::size_t min_length = 5, max_length = 40;
};

// The task's vocabulary (the same for source and target): the specials, then "a", "b", ...
Vocabulary synthetic_vocabulary(const SyntheticOptions& options);

// `count` examples drawn from `gen` (source and target ids in synthetic_vocabulary(options)).
std::vector<Example> make_synthetic(std::size_t count, const SyntheticOptions& options, Generator& gen);

struct SyntheticData {
  std::vector<Example> train, test;
};
// Train and test sets from separate streams of `seed` (so the test set does not change with the
// training set's size); a test source that also occurs in training is redrawn, so test accuracy
// measures generalisation rather than recall.
SyntheticData make_synthetic_split(std::size_t train_count, std::size_t test_count, const SyntheticOptions& options,
                                   std::uint64_t seed);

}  // namespace bottleneck
