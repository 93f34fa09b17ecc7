#pragma once
// What model.cpp and model_transformer.cpp share.
#include <cstdint>
#include <vector>

#include "seqgrad/graph/random.hpp"
#include "seqgrad/graph/tensor.hpp"

namespace seqgrad::nn::seq2seq::detail {

// The model's own prediction per example for logits [B, V]: its argmax, or a draw from
// softmax(logits) when `sample` (scheduled sampling's fed-back tokens).
std::vector<std::int64_t> predictions(const Tensor& logits, bool sample, Generator& gen);

}  // namespace seqgrad::nn::seq2seq::detail
