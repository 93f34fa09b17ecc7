#pragma once
// Fused ops of neural networks: one forward and one backward each, for speed and numerical care.
#include <cstdint>

#include "seqgrad/graph/node.hpp"
#include "seqgrad/graph/random.hpp"

namespace seqgrad {

// Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1-p);
// identity otherwise. The mask comes from gen.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

// Normalises over the last dimension: (x - mean) / sqrt(var + eps) * weight + bias (weight and bias
// [D] or undefined), as torch.nn.functional.layer_norm.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

struct CrossEntropyOptions {
  long ignore_index = -100;      // targets equal to this add nothing and are not counted
  double label_smoothing = 0.0;  // as torch: target distribution (1-s) one-hot + s/V
};
// Mean over non-ignored targets of -log softmax(logits)[target] (with smoothing). logits [N, V],
// targets int64 [N]. A target outside [0, V) that is not ignore_index is an error.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options = {});

}  // namespace seqgrad
