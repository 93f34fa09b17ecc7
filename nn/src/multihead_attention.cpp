// Multi-head attention as torch.nn.MultiheadAttention (batch_first): the heads are folded into the
// batch, so every head of every sequence goes through one batched matmul for the scores and one
// for the context. The public steps (project queries, project keys and values, attend) check their
// inputs and call the unchecked ones here, which multi_head_attention calls after one check of all.
#include <cmath>
#include <initializer_list>
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

// ---- checks: the weights, the [B, T, D] inputs and the head-split ones ----

// Returns D.
std::size_t check_weights(const MultiheadAttentionWeights& w, std::size_t heads, const std::string& layer) {
  if (!w.in_proj_weight.defined() || w.in_proj_weight.dim() != 2 || w.in_proj_weight.size(0) != 3 * w.in_proj_weight.size(1))
    throw std::invalid_argument(layer + ": in_proj_weight " + shape_of(w.in_proj_weight) + " is not [3D, D]");
  const std::size_t D = w.in_proj_weight.size(1);
  if (heads == 0 || D % heads != 0)
    throw std::invalid_argument(layer + ": embed_dim " + std::to_string(D) + " is not a multiple of num_heads " +
                                std::to_string(heads));
  if (w.in_proj_bias.defined() && w.in_proj_bias.shape() != Shape{3 * D})
    throw std::invalid_argument(layer + ": in_proj_bias " + shape_of(w.in_proj_bias) + " is not [" +
                                std::to_string(3 * D) + "]");
  if (!w.out_proj_weight.defined() || w.out_proj_weight.shape() != Shape{D, D} ||
      (w.out_proj_bias.defined() && w.out_proj_bias.shape() != Shape{D}))
    throw std::invalid_argument(layer + ": out_proj weight " + shape_of(w.out_proj_weight) + " / bias " +
                                shape_of(w.out_proj_bias) + " are not [" + std::to_string(D) + ", " +
                                std::to_string(D) + "] / [" + std::to_string(D) + "]");
  return D;
}

struct Named {
  const char* name;
  const Tensor& tensor;
};

// Inputs [B, T, D] of one batch; with `key` and `value` given, of one length too.
void check_sequences(std::initializer_list<Named> inputs, std::size_t D, const std::string& layer,
                     const Tensor* key = nullptr, const Tensor* value = nullptr) {
  std::string shapes;
  for (const Named& in : inputs) shapes += (shapes.empty() ? "" : ", ") + std::string(in.name) + " " + shape_of(in.tensor);
  auto fail = [&](const std::string& why) { return std::invalid_argument(layer + ": " + shapes + ": " + why); };
  for (const Named& in : inputs)
    if (!in.tensor.defined() || in.tensor.dim() != 3 || in.tensor.size(2) != D)
      throw fail(std::string(inputs.size() == 1 ? "must be" : "each must be") + " [B, T, " + std::to_string(D) +
                 "] (embed_dim " + std::to_string(D) + ")");
  for (const Named& in : inputs)
    if (in.tensor.size(0) != inputs.begin()->tensor.size(0)) throw fail("batch sizes differ");
  if (key && value && key->size(1) != value->size(1)) throw fail("key and value lengths differ");
}

void check_dropout(const ScaledDotProductOptions& options, const std::string& layer) {
  if (options.dropout < 0.0 || options.dropout >= 1.0)
    throw std::invalid_argument(layer + ": dropout " + std::to_string(options.dropout) + " is not in [0, 1)");
}

// queries [B, H, Tq, D/H] and keys / values [B, H, Tk, D/H], H * D/H = D.
void check_heads(const Tensor& q, const MultiheadKeysValues& kv, std::size_t D, const std::string& layer) {
  auto fail = [&](const std::string& why) {
    return std::invalid_argument(layer + ": queries " + shape_of(q) + ", keys " + shape_of(kv.keys) + ", values " +
                                 shape_of(kv.values) + " (split into heads): " + why);
  };
  for (const Tensor* t : {&q, &kv.keys, &kv.values})
    if (!t->defined() || t->dim() != 4 || t->size(1) * t->size(3) != D || t->size(1) == 0)
      throw fail("each must be [B, H, T, D/H] with H * D/H = " + std::to_string(D) + " (embed_dim)");
  for (const Tensor* t : {&kv.keys, &kv.values})
    if (t->size(0) != q.size(0) || t->size(1) != q.size(1) || t->size(3) != q.size(3))
      throw fail("batch, heads or head size differ");
  if (kv.values.size(2) != kv.keys.size(2)) throw fail("key and value lengths differ");
}

// ---- the steps, unchecked ----

std::vector<Tensor> project(const Tensor& x, const MultiheadAttentionWeights& w, std::size_t first, std::size_t count,
                            std::size_t heads) {
  const std::size_t D = w.in_proj_weight.size(1);
  return split_heads(linear(x, rows(w.in_proj_weight, first, count, D), rows(w.in_proj_bias, first, count, D)), count,
                     heads);
}

MultiheadKeysValues keys_values(const Tensor& key, const Tensor& value, const MultiheadAttentionWeights& w,
                                std::size_t heads) {
  if (same(key, value)) {
    const auto kv = project(key, w, 1, 2, heads);
    return {kv[0], kv[1]};
  }
  return {project(key, w, 1, 1, heads)[0], project(value, w, 2, 1, heads)[0]};
}

MultiheadProjections self_projections(const Tensor& x, const MultiheadAttentionWeights& w, std::size_t heads) {
  const auto qkv = project(x, w, 0, 3, heads);
  return {qkv[0], {qkv[1], qkv[2]}};
}

AttentionOutput attend(const Tensor& q, const MultiheadKeysValues& kv, const MultiheadAttentionWeights& w,
                       const Tensor& key_padding_mask, const ScaledDotProductOptions& options, const std::string& layer) {
  const std::size_t B = q.size(0), H = q.size(1), Tq = q.size(2), head_dim = q.size(3), Tk = kv.keys.size(2);
  const std::size_t D = H * head_dim;
  // Every (sequence, head) pair is one row of the batched attention.
  auto fold = [&](const Tensor& t, std::size_t T) { return reshape(t, {B * H, T, head_dim}); };
  const AttentionOutput heads = detail::scaled_dot_attention_rows(fold(q, Tq), fold(kv.keys, Tk), fold(kv.values, Tk),
                                                                  key_padding_mask, B, H, options, layer);
  // concat(head_1..head_H): [B*H, Tq, hd] -> [B, Tq, H, hd] -> [B, Tq, D]
  const Tensor concat_heads = reshape(permute(reshape(heads.context, {B, H, Tq, head_dim}), {0, 2, 1, 3}), {B, Tq, D});
  return {linear(concat_heads, w.out_proj_weight, w.out_proj_bias), reshape(heads.weights, {B, H, Tq, Tk})};
}

}  // namespace

AttentionOutput multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const MultiheadAttentionWeights& w, std::size_t num_heads,
                                     const Tensor& key_padding_mask, ScaledDotProductOptions options) {
  const std::size_t D = check_weights(w, num_heads, kLayer);
  check_sequences({{"query", query}, {"key", key}, {"value", value}}, D, kLayer, &key, &value);
  check_dropout(options, kLayer);
  // q, k, v = query W_q^T + b_q, key W_k^T + b_k, value W_v^T + b_v, as few matmuls as the inputs allow.
  const MultiheadProjections p = same(query, key) && same(key, value)
                                     ? self_projections(query, w, num_heads)
                                     : MultiheadProjections{project(query, w, 0, 1, num_heads)[0],
                                                            keys_values(key, value, w, num_heads)};
  return attend(p.queries, p.keys_values, w, key_padding_mask, options, kLayer);
}

Tensor multi_head_queries(const Tensor& query, const MultiheadAttentionWeights& w, std::size_t num_heads,
                          const std::string& layer) {
  check_sequences({{"query", query}}, check_weights(w, num_heads, layer), layer);
  return project(query, w, 0, 1, num_heads)[0];
}

MultiheadKeysValues multi_head_keys_values(const Tensor& key, const Tensor& value, const MultiheadAttentionWeights& w,
                                           std::size_t num_heads, const std::string& layer) {
  check_sequences({{"key", key}, {"value", value}}, check_weights(w, num_heads, layer), layer, &key, &value);
  return keys_values(key, value, w, num_heads);
}

MultiheadProjections multi_head_self_projections(const Tensor& x, const MultiheadAttentionWeights& w,
                                                 std::size_t num_heads, const std::string& layer) {
  check_sequences({{"x", x}}, check_weights(w, num_heads, layer), layer);
  return self_projections(x, w, num_heads);
}

AttentionOutput multi_head_attend(const Tensor& queries, const MultiheadKeysValues& keys_values,
                                  const MultiheadAttentionWeights& w, const Tensor& key_padding_mask,
                                  ScaledDotProductOptions options, const std::string& layer) {
  const std::size_t heads = queries.defined() && queries.dim() == 4 ? queries.size(1) : 1;
  check_heads(queries, keys_values, check_weights(w, heads, layer), layer);
  check_dropout(options, layer);
  return attend(queries, keys_values, w, key_padding_mask, options, layer);
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
