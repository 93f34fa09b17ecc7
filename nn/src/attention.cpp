// The attention family (one decoder query over a source sequence), scaled dot-product attention, and
// the masks they share.
#include "seqgrad/nn/attention.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "attention_internal.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::nn {

// ---- masks ----

namespace detail {

namespace {

// mask[b][j] as "is a real token", for bool and int64 masks of zeros and ones.
template <class M>
std::vector<char> real_tokens(const Tensor& mask, const std::string& layer) {
  const M* m = mask.data<M>();
  std::vector<char> real(mask.numel());
  for (std::size_t i = 0; i < real.size(); ++i) {
    if (m[i] != M(0) && m[i] != M(1))
      throw std::invalid_argument(layer + ": padding mask " + to_string(mask.shape()) + " holds " +
                                  std::to_string(static_cast<long long>(m[i])) +
                                  "; it must hold 1 (real token) or 0 (padding)");
    real[i] = m[i] == M(1);
  }
  return real;
}

}  // namespace

Tensor blocked_pairs(const Tensor& padding_mask, std::size_t batch, std::size_t heads, std::size_t Tq,
                     std::size_t Tk, bool causal, const std::string& layer) {
  if (!padding_mask.defined() && !causal) return Tensor();
  std::vector<char> real(batch * Tk, 1);
  if (padding_mask.defined()) {
    if (padding_mask.shape() != Shape{batch, Tk})
      throw std::invalid_argument(layer + ": padding mask " + to_string(padding_mask.shape()) +
                                  " does not match the keys (expected [" + std::to_string(batch) + ", " +
                                  std::to_string(Tk) + "])");
    if (padding_mask.dtype() == DType::b8) real = real_tokens<bool>(padding_mask, layer);
    else if (padding_mask.dtype() == DType::i64) real = real_tokens<std::int64_t>(padding_mask, layer);
    else
      throw std::invalid_argument(layer + ": padding mask must be bool or int64, got " +
                                  dtype_name(padding_mask.dtype()));
  }
  Tensor blocked = Tensor::empty({batch * heads, Tq, Tk}, DType::b8);
  bool* out = blocked.data<bool>();
  const std::size_t per_head = Tq * Tk;
  for (std::size_t b = 0; b < batch; ++b) {
    bool* rows = out + b * heads * per_head;  // the first head's rows; the others copy them
    for (std::size_t i = 0; i < Tq; ++i) {
      bool any_open = false;
      for (std::size_t j = 0; j < Tk; ++j) {
        const bool open = real[b * Tk + j] && !(causal && j > i);
        rows[i * Tk + j] = !open;
        any_open = any_open || open;
      }
      if (!any_open)
        throw std::invalid_argument(layer + ": query " + std::to_string(i) + " of sequence " + std::to_string(b) +
                                    " has no key to attend to (every key it may see is padding); a softmax over "
                                    "no positions is undefined");
    }
    for (std::size_t h = 1; h < heads; ++h) std::copy(rows, rows + per_head, rows + h * per_head);
  }
  return blocked;
}

Tensor masked_softmax(const Tensor& scores, const Tensor& blocked) {
  if (!blocked.defined()) return softmax(scores, -1);
  return softmax(masked_fill(scores, blocked, -std::numeric_limits<double>::infinity()), -1);
}

}  // namespace detail

// ---- the attention family ----

namespace {

// keys [B, T, D] . query [B, D] -> [B, T]: one batched matrix-vector product.
Tensor dot_each_key(const Tensor& keys, const Tensor& query) {
  const std::size_t B = keys.size(0), T = keys.size(1), D = keys.size(2);
  return reshape(matmul(keys, reshape(query, {B, D, 1})), {B, T});
}

}  // namespace

void Attention::check_query(const Tensor& query, std::size_t dim, const Tensor& keys, const std::string& rule) const {
  if (!query.defined() || query.dim() != 2 || query.size(0) != keys.size(0) || query.size(1) != dim)
    throw std::invalid_argument(name_ + ": query " + (query.defined() ? to_string(query.shape()) : "(undefined)") +
                                " is not [B, Dq] = [" + std::to_string(keys.size(0)) + ", " + std::to_string(dim) +
                                "] (B: the keys' batch; " + rule + ")");
}

void Attention::check_keys(const Tensor& keys, std::size_t dim, const std::string& rule) const {
  if (!keys.defined() || keys.dim() != 3 || (dim != 0 && keys.size(2) != dim))
    throw std::invalid_argument(name_ + ": keys " + (keys.defined() ? to_string(keys.shape()) : "(undefined)") +
                                " are not [B, T, " + (dim ? std::to_string(dim) : std::string("D")) + "]" +
                                (rule.empty() ? "" : " (" + rule + ")"));
}

ProjectedKeys Attention::precompute_keys(const Tensor& keys) const {
  check_keys(keys, 0, "");
  return {keys, this};
}

AttentionOutput Attention::forward(const Tensor& query, const ProjectedKeys& projected, const Tensor& values,
                                   const Tensor& mask) const {
  if (projected.made_by != this)
    throw std::invalid_argument(name_ + ": these projected keys were made by another attention layer "
                                "(call this layer's precompute_keys)");
  const Tensor& keys = projected.keys;
  const std::size_t B = keys.size(0), T = keys.size(1);
  if (!values.defined() || values.dim() != 3 || values.size(0) != B || values.size(1) != T)
    throw std::invalid_argument(name_ + ": values " + (values.defined() ? to_string(values.shape()) : "(undefined)") +
                                " do not match the keys' batch and length (expected [" + std::to_string(B) + ", " +
                                std::to_string(T) + ", Dv])");
  // The mask's rows are [B, 1, T] (one query per sequence); they are [B, T] as the scores are.
  Tensor blocked = detail::blocked_pairs(mask, B, 1, 1, T, false, name_);
  if (blocked.defined()) blocked = blocked.reshaped_view({B, T});

  const Tensor weights = detail::masked_softmax(score(query, keys), blocked);              // [B, T]
  // context = sum_t weights_t values_t, one [1, T] x [T, Dv] product per sequence
  const Tensor context = reshape(matmul(reshape(weights, {B, 1, T}), values), {B, values.size(2)});
  return {context, weights};
}

Tensor MeanContext::score(const Tensor& query, const Tensor& keys) const {
  if (query.defined() && (query.dim() != 2 || query.size(0) != keys.size(0)))
    throw std::invalid_argument("MeanContext: query " + to_string(query.shape()) + " is not [B, Dq] with B = " +
                                std::to_string(keys.size(0)) + " (it is ignored, but must be [B, Dq] or undefined)");
  return Tensor::zeros({keys.size(0), keys.size(1)}, keys.dtype());  // one score for all: equal weights
}

Tensor DotAttention::score(const Tensor& query, const Tensor& keys) const {
  check_query(query, keys.size(2), keys, "Dq: the keys' size " + std::to_string(keys.size(2)));
  return dot_each_key(keys, query);
}

Tensor ScaledDotAttention::score(const Tensor& query, const Tensor& keys) const {
  return DotAttention::score(query, keys) / std::sqrt(static_cast<double>(keys.size(2)));
}

GeneralAttention::GeneralAttention(std::size_t query_dim, std::size_t key_dim, Generator& gen, AttentionOptions options)
    : Attention("GeneralAttention") {
  W = Tensor::empty({query_dim, key_dim}, options.dtype);
  init::xavier_uniform_(W, gen);
  register_parameter("W", W);
}

GeneralAttention::GeneralAttention(GeneralAttentionWeights weights) : Attention("GeneralAttention") {
  if (!weights.W.defined() || weights.W.dim() != 2)
    throw std::invalid_argument("GeneralAttention: W must be [Dq, Dk], got " +
                                (weights.W.defined() ? to_string(weights.W.shape()) : std::string("(undefined)")));
  W = register_parameter("W", weights.W);
}

ProjectedKeys GeneralAttention::precompute_keys(const Tensor& keys) const {
  check_keys(keys, W.size(1), "W is " + to_string(W.shape()));
  return {linear(keys, W), this};  // W h_t for every t: [B, T, Dq]
}

Tensor GeneralAttention::score(const Tensor& query, const Tensor& projected_keys) const {
  check_query(query, W.size(0), projected_keys, "W is " + to_string(W.shape()));
  return dot_each_key(projected_keys, query);  // s . (W h_t)
}

AdditiveAttention::AdditiveAttention(std::size_t query_dim, std::size_t key_dim, std::size_t attention_dim,
                                     Generator& gen, AttentionOptions options)
    : Attention("AdditiveAttention") {
  AdditiveAttentionWeights w{Tensor::empty({attention_dim, key_dim}, options.dtype),
                             Tensor::empty({attention_dim, query_dim}, options.dtype),
                             Tensor::empty({attention_dim}, options.dtype), Tensor::empty({attention_dim}, options.dtype)};
  init::fan_uniform_(w.W_h, key_dim, gen);
  init::fan_uniform_(w.W_s, query_dim, gen);
  init::fan_uniform_(w.b_s, query_dim, gen);
  init::fan_uniform_(w.v, attention_dim, gen);
  register_weights(w);
}

AdditiveAttention::AdditiveAttention(AdditiveAttentionWeights weights) : Attention("AdditiveAttention") {
  auto shape = [](const Tensor& t) { return t.defined() ? to_string(t.shape()) : std::string("(undefined)"); };
  const bool ok = weights.W_h.defined() && weights.W_s.defined() && weights.b_s.defined() && weights.v.defined() &&
                  weights.W_h.dim() == 2 && weights.W_s.dim() == 2 && weights.W_s.size(0) == weights.W_h.size(0) &&
                  weights.b_s.shape() == Shape{weights.W_h.size(0)} && weights.v.shape() == Shape{weights.W_h.size(0)};
  if (!ok)
    throw std::invalid_argument("AdditiveAttention: weights W_h " + shape(weights.W_h) + ", W_s " + shape(weights.W_s) +
                                ", b_s " + shape(weights.b_s) + ", v " + shape(weights.v) +
                                " do not fit (expected [A, Dh], [A, Ds], [A], [A])");
  register_weights(weights);
}

void AdditiveAttention::register_weights(const AdditiveAttentionWeights& w) {
  W_h = register_parameter("W_h", w.W_h);
  W_s = register_parameter("W_s", w.W_s);
  b_s = register_parameter("b_s", w.b_s);
  v = register_parameter("v", w.v);
}

ProjectedKeys AdditiveAttention::precompute_keys(const Tensor& keys) const {
  check_keys(keys, W_h.size(1), "W_h is " + to_string(W_h.shape()));
  return {linear(keys, W_h), this};  // W_h h_t for every t: [B, T, A]
}

Tensor AdditiveAttention::score(const Tensor& query, const Tensor& projected_keys) const {
  check_query(query, W_s.size(1), projected_keys, "W_s is " + to_string(W_s.shape()));
  // score_t = v . tanh(W_h h_t + (W_s s + b_s)): the key part is projected_keys [B, T, A]; the query part
  // is the same for every t. The broadcast add, the tanh and the dot with v are one fused op.
  return additive_attention_scores(projected_keys, linear(query, W_s, b_s), v);
}

// ---- scaled dot-product attention ----

namespace detail {

AttentionOutput scaled_dot_attention_rows(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                          std::size_t batch, std::size_t heads, const ScaledDotProductOptions& o,
                                          const std::string& layer) {
  const std::size_t Tq = q.size(1), Tk = k.size(1), d = q.size(2);
  const Tensor blocked = blocked_pairs(mask, batch, heads, Tq, Tk, o.causal, layer);
  const Tensor scores = matmul(q * (1.0 / std::sqrt(static_cast<double>(d))), k, false, true);  // [N, Tq, Tk]
  const Tensor weights = masked_softmax(scores, blocked);
  const Tensor attended = o.training && o.dropout > 0.0 ? dropout(weights, o.dropout, true) : weights;
  return {matmul(attended, v), weights};
}

}  // namespace detail

AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& key_padding_mask, ScaledDotProductOptions options) {
  const std::string op = "scaled_dot_product_attention";
  auto fail = [&](const std::string& why) {
    return std::invalid_argument(op + ": q " + to_string(q.shape()) + ", k " + to_string(k.shape()) + ", v " +
                                 to_string(v.shape()) + ": " + why);
  };
  const std::size_t rank = q.dim();
  if ((rank != 3 && rank != 4) || k.dim() != rank || v.dim() != rank)
    throw fail("expected [B, T, d] each, or [B, H, T, d] each");
  for (std::size_t a = 0; a + 2 < rank; ++a)
    if (k.size(a) != q.size(a) || v.size(a) != q.size(a)) throw fail("batch (and head) dimensions differ");
  if (k.size(-1) != q.size(-1)) throw fail("q and k have different sizes d");
  if (v.size(-2) != k.size(-2)) throw fail("k and v have different lengths Tk");
  if (options.dropout < 0.0 || options.dropout >= 1.0)
    throw fail("dropout " + std::to_string(options.dropout) + " is not in [0, 1)");

  const std::size_t B = q.size(0), H = rank == 4 ? q.size(1) : 1;
  const std::size_t Tq = q.size(-2), Tk = k.size(-2), d = q.size(-1), dv = v.size(-1);
  auto rows = [&](const Tensor& t, std::size_t T, std::size_t width) { return reshape(t, {B * H, T, width}); };
  AttentionOutput out = detail::scaled_dot_attention_rows(rows(q, Tq, d), rows(k, Tk, d), rows(v, Tk, dv),
                                                          key_padding_mask, B, H, options, op);
  if (rank == 4) return {reshape(out.context, {B, H, Tq, dv}), reshape(out.weights, {B, H, Tq, Tk})};
  return out;
}

}  // namespace seqgrad::nn
