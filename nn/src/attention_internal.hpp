#pragma once
// Pieces shared by the attention layers (private to nn/src): which (query, key) pairs may not
// attend, the softmax that gives them exactly zero weight, and scaled dot-product attention on
// [N, T, d] rows.
#include <string>

#include "seqgrad/nn/attention.hpp"

namespace seqgrad::nn::detail {

// The blocked pairs as a bool tensor [B * heads, Tq, Tk], true where query i may not attend to key j
// of sequence b: key j is padding (mask[b][j] false / 0), or causal and j > i. Every head of sequence
// b shares its rows. Undefined when nothing is blocked (no mask and not causal).
//
// Throws std::invalid_argument naming `layer` when the mask is not a bool or int64 [B, Tk] tensor of
// zeros and ones, or when some query has no key left to attend to (its softmax would be 0/0).
Tensor blocked_pairs(const Tensor& padding_mask, std::size_t batch, std::size_t heads, std::size_t Tq,
                     std::size_t Tk, bool causal, const std::string& layer);

// softmax over the last axis of scores [.., Tk], with the blocked places (same shape, or undefined)
// set to -inf first: they get weight exactly 0 and pass no gradient back.
Tensor masked_softmax(const Tensor& scores, const Tensor& blocked);

// softmax(q k^T / sqrt(d)) v for q [N, Tq, d], k [N, Tk, d], v [N, Tk, dv] with N = batch * heads
// (shapes already checked by the caller, whose name `layer` errors carry). Returns context
// [N, Tq, dv] and weights [N, Tq, Tk] (before dropout).
AttentionOutput scaled_dot_attention_rows(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                          std::size_t batch, std::size_t heads, const ScaledDotProductOptions& o,
                                          const std::string& layer);

}  // namespace seqgrad::nn::detail
