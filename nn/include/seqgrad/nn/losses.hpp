#pragma once
// Losses of sequence models. The token-level cross-entropy (ignore_index, label smoothing) is the
// fused op seqgrad::cross_entropy; these are its shapes for padded batches.
#include <cstdint>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad::nn {

// Mean over the real target tokens of -log p(target): logits [B, T, V], targets int64 [B, T] holding
// pad_id at padding (those add nothing and are not counted), optional label smoothing. The mean is
// per token, not per sequence, so long targets weigh as much as their length.
Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets, std::int64_t pad_id,
                              double label_smoothing = 0.0);

}  // namespace seqgrad::nn
