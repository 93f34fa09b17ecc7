#include "seqgrad/nn/losses.hpp"

#include <stdexcept>

#include "seqgrad/ops/nn_ops.hpp"

namespace seqgrad::nn {

Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets, std::int64_t pad_id,
                              double label_smoothing) {
  if (logits.dim() != 3 || targets.dim() != 2 || logits.shape()[0] != targets.shape()[0] ||
      logits.shape()[1] != targets.shape()[1])
    throw std::invalid_argument("sequence_cross_entropy: logits must be [B, T, V] and targets [B, T], got " +
                                to_string(logits.shape()) + " and " + to_string(targets.shape()));
  return cross_entropy(logits, targets, {.ignore_index = pad_id, .label_smoothing = label_smoothing});
}

}  // namespace seqgrad::nn
