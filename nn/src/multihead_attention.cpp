// Multi-head attention as torch.nn.MultiheadAttention (batch_first): the heads are folded into the
// batch, so every head of every sequence goes through one batched matmul for the scores and one
// for the context.
#include <cmath>
#include <stdexcept>

#include "attention_internal.hpp"
#include "seqgrad/nn/attention.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::nn {

namespace {

const std::string kLayer = "MultiheadAttention";

std::string shape_of(const Tensor& t) { return t.defined() ? to_string(t.shape()) : "(undefined)"; }

// Rows [first * D, (first + count) * D) of in_proj_weight / in_proj_bias: the projections of q (0),
// k (1) and v (2).
Tensor rows(const Tensor& t, std::size_t first, std::size_t count, std::size_t D) {
  if (!t.defined()) return t;
  if (first == 0 && count == 3) return t;
  return narrow(t, 0, first * D, count * D);
}

// x [B, T, n*D] (n projections side by side, each D = heads * head_dim wide) -> n tensors
// [B, heads, T, head_dim]: one permute moves every projection's heads into place.
std::vector<Tensor> split_heads(const Tensor& x, std::size_t n, std::size_t heads) {
  const std::size_t B = x.size(0), T = x.size(1), head_dim = x.size(2) / (n * heads);
  const Tensor by_head = permute(reshape(x, {B, T, n, heads, head_dim}), {2, 0, 3, 1, 4});  // [n, B, H, T, hd]
  if (n == 1) return {reshape(by_head, {B, heads, T, head_dim})};
  std::vector<Tensor> parts = split(by_head, 1, 0);
  for (auto& p : parts) p = reshape(p, {B, heads, T, head_dim});
  return parts;
}

bool same(const Tensor& a, const Tensor& b) { return a.impl() == b.impl(); }

void check_inputs(const Tensor& query, const Tensor& key, const Tensor& value, const MultiheadAttentionWeights& w,
                  std::size_t heads) {
  auto fail = [&](const std::string& why) {
    return std::invalid_argument(kLayer + ": query " + shape_of(query) + ", key " + shape_of(key) + ", value " +
                                 shape_of(value) + ": " + why);
  };
  if (!w.in_proj_weight.defined() || w.in_proj_weight.dim() != 2 || w.in_proj_weight.size(0) != 3 * w.in_proj_weight.size(1))
    throw std::invalid_argument(kLayer + ": in_proj_weight " + shape_of(w.in_proj_weight) + " is not [3D, D]");
  const std::size_t D = w.in_proj_weight.size(1);
  if (heads == 0 || D % heads != 0)
    throw std::invalid_argument(kLayer + ": embed_dim " + std::to_string(D) + " is not a multiple of num_heads " +
                                std::to_string(heads));
  if (w.in_proj_bias.defined() && w.in_proj_bias.shape() != Shape{3 * D})
    throw std::invalid_argument(kLayer + ": in_proj_bias " + shape_of(w.in_proj_bias) + " is not [" +
                                std::to_string(3 * D) + "]");
  if (!w.out_proj_weight.defined() || w.out_proj_weight.shape() != Shape{D, D} ||
      (w.out_proj_bias.defined() && w.out_proj_bias.shape() != Shape{D}))
    throw std::invalid_argument(kLayer + ": out_proj weight " + shape_of(w.out_proj_weight) + " / bias " +
                                shape_of(w.out_proj_bias) + " are not [" + std::to_string(D) + ", " +
                                std::to_string(D) + "] / [" + std::to_string(D) + "]");
  for (const Tensor* t : {&query, &key, &value})
    if (!t->defined() || t->dim() != 3 || t->size(2) != D)
      throw fail("each must be [B, T, " + std::to_string(D) + "] (embed_dim " + std::to_string(D) + ")");
  if (key.size(0) != query.size(0) || value.size(0) != query.size(0)) throw fail("batch sizes differ");
  if (value.size(1) != key.size(1)) throw fail("key and value lengths differ");
}

}  // namespace

AttentionOutput multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const MultiheadAttentionWeights& w, std::size_t num_heads,
                                     const Tensor& key_padding_mask, ScaledDotProductOptions options) {
  check_inputs(query, key, value, w, num_heads);
  if (options.dropout < 0.0 || options.dropout >= 1.0)
    throw std::invalid_argument(kLayer + ": dropout " + std::to_string(options.dropout) + " is not in [0, 1)");
  const std::size_t D = w.in_proj_weight.size(1), B = query.size(0), Tq = query.size(1), Tk = key.size(1);
  const std::size_t H = num_heads, head_dim = D / H;

  // q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v, as few matmuls as the inputs allow.
  auto project = [&](const Tensor& x, std::size_t first, std::size_t count) {
    return split_heads(linear(x, rows(w.in_proj_weight, first, count, D), rows(w.in_proj_bias, first, count, D)),
                       count, H);
  };
  Tensor q, k, v;
  if (same(query, key) && same(key, value)) {
    const auto qkv = project(query, 0, 3);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = project(query, 0, 1)[0];
    if (same(key, value)) {
      const auto kv = project(key, 1, 2);
      k = kv[0], v = kv[1];
    } else {
      k = project(key, 1, 1)[0];
      v = project(value, 2, 1)[0];
    }
  }

  // Every (sequence, head) pair is one row of the batched attention.
  auto fold = [&](const Tensor& t, std::size_t T) { return reshape(t, {B * H, T, head_dim}); };
  const AttentionOutput heads = detail::scaled_dot_attention_rows(fold(q, Tq), fold(k, Tk), fold(v, Tk),
                                                                  key_padding_mask, B, H, options, kLayer);
  // concat(head_1..head_H): [B*H, Tq, hd] -> [B, Tq, H, hd] -> [B, Tq, D]
  const Tensor concat_heads = reshape(permute(reshape(heads.context, {B, H, Tq, head_dim}), {0, 2, 1, 3}), {B, Tq, D});
  return {linear(concat_heads, w.out_proj_weight, w.out_proj_bias), reshape(heads.weights, {B, H, Tq, Tk})};
}

MultiheadAttention::MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, Generator& gen,
                                       MultiheadAttentionOptions options)
    : embed_dim_(embed_dim), num_heads_(num_heads), dropout_(options.dropout) {
  if (embed_dim == 0 || num_heads == 0 || embed_dim % num_heads != 0)
    throw std::invalid_argument(kLayer + ": embed_dim " + std::to_string(embed_dim) +
                                " is not a positive multiple of num_heads " + std::to_string(num_heads));
  if (options.dropout < 0.0 || options.dropout >= 1.0)
    throw std::invalid_argument(kLayer + ": dropout " + std::to_string(options.dropout) + " is not in [0, 1)");
  in_proj_weight = Tensor::empty({3 * embed_dim, embed_dim}, options.dtype);
  init::xavier_uniform_(in_proj_weight, gen);
  register_parameter("in_proj_weight", in_proj_weight);
  if (options.bias) in_proj_bias = register_parameter("in_proj_bias", Tensor::zeros({3 * embed_dim}, options.dtype));
  out_proj = register_module(
      "out_proj", std::make_shared<Linear>(embed_dim, embed_dim, gen, LinearOptions{.bias = options.bias, .dtype = options.dtype}));
  if (options.bias) out_proj->bias.fill_(0.0);  // torch zeroes both projection biases
}

MultiheadAttentionWeights MultiheadAttention::weights() const {
  return {in_proj_weight, in_proj_bias, out_proj->weight, out_proj->bias};
}

AttentionOutput MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                            const Tensor& key_padding_mask, bool causal) const {
  return multi_head_attention(query, key, value, weights(), num_heads_, key_padding_mask,
                              {.causal = causal, .dropout = dropout_, .training = is_training()});
}

}  // namespace seqgrad::nn
