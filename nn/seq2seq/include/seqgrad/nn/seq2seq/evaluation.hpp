#pragma once
// Scoring a model on a set of examples: the teacher-forced loss and the decoded outputs against
// every reference (what the trainer's validation and the programs' evaluate commands report).
#include <cstddef>
#include <vector>

#include "seqgrad/nn/seq2seq/batch.hpp"
#include "seqgrad/nn/seq2seq/decoding.hpp"
#include "seqgrad/nn/seq2seq/metrics.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"

namespace seqgrad::nn::seq2seq {

struct Evaluation {
  double loss = 0;         // teacher-forced, per target token
  SequenceScores scores;   // decoded outputs against every reference
  std::vector<Hypothesis> outputs;  // per example, in the examples' order
};

// Teacher-forced loss and decoding of `examples` in batches (model in eval mode meanwhile): greedy,
// or beam search when beam_width > 1.
Evaluation evaluate(Seq2Seq& model, const std::vector<Example>& examples, std::size_t batch_size,
                    std::size_t max_decode_length, std::size_t beam_width = 1);

}  // namespace seqgrad::nn::seq2seq
