#pragma once
// Attention: the scorers of encoder-decoder models (one decoder state attends over a source
// sequence), scaled dot-product attention over whole sequences, and multi-head attention as
// torch.nn.MultiheadAttention (batch_first).
//
// Masks. A padding mask is [B, T], bool or int64, true / 1 at real tokens and false / 0 at padding
// (the golden-case convention; note that torch's key_padding_mask means the opposite, true =
// padding). An undefined mask means every token is real. Masked positions get exactly zero weight:
// their scores are replaced by -inf before the softmax, so exp gives exactly 0 and no gradient
// reaches the masked keys or values.
//
// A query with nothing to attend to (a sequence whose tokens are all padding; with a causal mask, a
// query whose earlier keys are all padding) has no defined softmax: instead of torch's NaN rows this
// is std::invalid_argument naming the layer and the row.
#include <memory>
#include <string>

#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

struct AttentionOutput {
  Tensor context;  // the weighted sum of the values
  Tensor weights;  // the attention distribution: sums to 1 over the real positions, 0 elsewhere
};

// ---------------------------------------------------------------------------------------------
// The attention family of encoder-decoder models: one query (the decoder state) per sequence.
//
//   scores_t = score(s, h_t)    weights = softmax over the real t    context = sum_t weights_t v_t
//
// A decoder attends over the same source sequence at every step, so the part of the score that
// depends on the keys alone is computed once per sequence: precompute_keys(keys) gives
// ProjectedKeys that forward(query, projected, values, mask) reuses at each step.
// ---------------------------------------------------------------------------------------------

class Attention;

// Keys as one scorer compares queries against them (projected by AdditiveAttention and
// GeneralAttention, as they are for the others). Valid only with the layer that made them.
struct ProjectedKeys {
  Tensor keys;                     // [B, T, K]
  const Attention* made_by = nullptr;
};

class Attention : public Module {
 public:
  // keys [B, T, Dk] -> the keys this scorer compares queries against, once per source sequence.
  virtual ProjectedKeys precompute_keys(const Tensor& keys) const;

  // query [B, Dq], values [B, T, Dv], mask [B, T] (or undefined) -> context [B, Dv], weights [B, T].
  AttentionOutput forward(const Tensor& query, const ProjectedKeys& keys, const Tensor& values,
                          const Tensor& mask = Tensor()) const;
  // The same with keys [B, T, Dk] projected on the spot.
  AttentionOutput forward(const Tensor& query, const Tensor& keys, const Tensor& values,
                          const Tensor& mask = Tensor()) const {
    return forward(query, precompute_keys(keys), values, mask);
  }
  AttentionOutput operator()(const Tensor& query, const Tensor& keys, const Tensor& values,
                             const Tensor& mask = Tensor()) const {
    return forward(query, keys, values, mask);
  }

 protected:
  explicit Attention(std::string layer_name) : name_(std::move(layer_name)) {}
  // Scores [B, T] of each query [B, Dq] against its own sequence's projected keys [B, T, K].
  virtual Tensor score(const Tensor& query, const Tensor& projected_keys) const = 0;
  // Throw std::invalid_argument naming this layer and the shapes unless query is [B, dim] (B the
  // keys' batch) / keys are [B, T, dim] (any last size when dim is 0); `rule` says where dim comes from.
  void check_query(const Tensor& query, std::size_t dim, const Tensor& projected_keys, const std::string& rule) const;
  void check_keys(const Tensor& keys, std::size_t dim, const std::string& rule) const;

 private:
  std::string name_;
};

// Every real position the same weight: context = mean of the values over the real positions (the
// attention-free baseline). The query is ignored and may be undefined.
class MeanContext : public Attention {
 public:
  MeanContext() : Attention("MeanContext") {}

 protected:
  Tensor score(const Tensor& query, const Tensor& projected_keys) const override;
};

// score = s . h (Luong "dot"); query and keys have one size.
class DotAttention : public Attention {
 public:
  DotAttention() : Attention("DotAttention") {}

 protected:
  explicit DotAttention(std::string name) : Attention(std::move(name)) {}
  Tensor score(const Tensor& query, const Tensor& projected_keys) const override;
};

// score = s . h / sqrt(d), d the key size (Vaswani et al.).
class ScaledDotAttention : public DotAttention {
 public:
  ScaledDotAttention() : DotAttention("ScaledDotAttention") {}

 protected:
  Tensor score(const Tensor& query, const Tensor& projected_keys) const override;
};

struct AttentionOptions {
  DType dtype = DType::f32;
};

// score = s^T W h (Luong "general"), W [Dq, Dk]. precompute_keys gives W h_t [B, T, Dq] once per
// sequence, so a step costs one dot product per key.
struct GeneralAttentionWeights {
  Tensor W;  // [Dq, Dk]
};

class GeneralAttention : public Attention {
 public:
  // W ~ Glorot uniform.
  GeneralAttention(std::size_t query_dim, std::size_t key_dim, Generator& gen, AttentionOptions options = {});
  // Adopts the given tensor as its parameter (weights from elsewhere, e.g. a golden case).
  explicit GeneralAttention(GeneralAttentionWeights weights);

  ProjectedKeys precompute_keys(const Tensor& keys) const override;
  Tensor W;

 protected:
  Tensor score(const Tensor& query, const Tensor& projected_keys) const override;
};

// Bahdanau: score = v^T tanh(W_h h_t + W_s s + b_s). Parameter names and shapes as the golden case:
// W_h [A, Dh], W_s [A, Ds], b_s [A], v [A] (A the attention size). precompute_keys gives W_h h_t
// [B, T, A] once per sequence; a step then costs W_s s, one tanh over [B, T, A] and a dot with v.
struct AdditiveAttentionWeights {
  Tensor W_h, W_s, b_s, v;
};

class AdditiveAttention : public Attention {
 public:
  // W_h, W_s, b_s, v ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as torch.nn.Linear (fan_in: Dh, Ds, Ds, A).
  AdditiveAttention(std::size_t query_dim, std::size_t key_dim, std::size_t attention_dim, Generator& gen,
                    AttentionOptions options = {});
  // Adopts the given tensors as its parameters (weights from elsewhere, e.g. a golden case).
  explicit AdditiveAttention(AdditiveAttentionWeights weights);

  ProjectedKeys precompute_keys(const Tensor& keys) const override;
  Tensor W_h, W_s, b_s, v;

 protected:
  Tensor score(const Tensor& query, const Tensor& projected_keys) const override;

 private:
  void register_weights(const AdditiveAttentionWeights& w);
};

// ---------------------------------------------------------------------------------------------
// Scaled dot-product attention over whole sequences: softmax(q k^T / sqrt(d)) v.
// ---------------------------------------------------------------------------------------------

struct ScaledDotProductOptions {
  bool causal = false;    // query i attends to keys j <= i only (top-left aligned when Tq != Tk)
  double dropout = 0.0;   // on the weights, in training only (masks from this thread's default_generator)
  bool training = false;
};

// q [B, Tq, d], k [B, Tk, d], v [B, Tk, dv]; or head-batched [B, H, Tq, d], [B, H, Tk, d],
// [B, H, Tk, dv], the heads folded into the batch of one batched matmul. key_padding_mask [B, Tk]
// (every head of sequence b uses row b) or undefined. Returns context [.., Tq, dv] and weights
// [.., Tq, Tk] (before dropout, as torch returns them).
AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& key_padding_mask = Tensor(),
                                             ScaledDotProductOptions options = {});

// ---------------------------------------------------------------------------------------------
// Multi-head attention, as torch.nn.MultiheadAttention(embed_dim, num_heads, batch_first=True):
//   [q | k | v] = x in_proj_weight^T + in_proj_bias     (in_proj_weight [3D, D]: W_q, W_k, W_v rows)
//   head_h = softmax(q_h k_h^T / sqrt(D/H)) v_h          (each head a D/H slice of q, k, v)
//   y = concat(head_1..head_H) out_proj.weight^T + out_proj.bias
// ---------------------------------------------------------------------------------------------

// The parameters by torch's names (out_proj's as out_proj.weight / out_proj.bias). Biases may be
// undefined (bias = false).
struct MultiheadAttentionWeights {
  Tensor in_proj_weight, in_proj_bias, out_proj_weight, out_proj_bias;
};

struct MultiheadAttentionOptions {
  bool bias = true;
  double dropout = 0.0;  // on the attention weights, in training mode
  DType dtype = DType::f32;
};

// The computation, with the parameters passed in (the module below calls it with its own).
// query [B, Tq, D], key [B, Tk, D], value [B, Tk, D]; when query, key and value are one tensor
// (self-attention) the three projections are one matmul, when key and value are one tensor those two.
// It is the steps below in turn.
AttentionOutput multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const MultiheadAttentionWeights& weights, std::size_t num_heads,
                                     const Tensor& key_padding_mask = Tensor(), ScaledDotProductOptions options = {});

// The same in its steps, for callers that keep a step's result: a transformer decoder projects its
// memory's keys and values once per source sequence, and decoding one position at a time can append
// the new position's keys and values to the earlier ones' (a cache growing by one position per step)
// instead of projecting the whole prefix again:
//
//   kv = multi_head_keys_values(memory, memory, w, H);                 // once per source
//   p = multi_head_self_projections(x_t, w_self, H);                     // x_t [B, 1, D]
//   cache.keys = concat({cache.keys, p.keys_values.keys}, 2); ... values likewise
//   y = multi_head_attend(p.queries, cache, w_self).context;             // not causal: x_t is last
//
// Errors name `layer` (e.g. "TransformerDecoderLayer multihead_attn") and the shapes.

// Keys and values split into heads: [B, H, Tk, D/H] each.
struct MultiheadKeysValues {
  Tensor keys, values;
};

// Queries with the keys and values of the same positions (self-attention).
struct MultiheadProjections {
  Tensor queries;  // [B, H, T, D/H]
  MultiheadKeysValues keys_values;
};

// q = query W_q^T + b_q, split into heads: [B, Tq, D] -> [B, H, Tq, D/H].
Tensor multi_head_queries(const Tensor& query, const MultiheadAttentionWeights& weights, std::size_t num_heads,
                          const std::string& layer = "MultiheadAttention");
// k = key W_k^T + b_k and v = value W_v^T + b_v, split into heads (one matmul when key and value
// are one tensor): [B, Tk, D] each -> [B, H, Tk, D/H] each.
MultiheadKeysValues multi_head_keys_values(const Tensor& key, const Tensor& value,
                                           const MultiheadAttentionWeights& weights, std::size_t num_heads,
                                           const std::string& layer = "MultiheadAttention");
// q, k and v of x [B, T, D] in one matmul.
MultiheadProjections multi_head_self_projections(const Tensor& x, const MultiheadAttentionWeights& weights,
                                                 std::size_t num_heads, const std::string& layer = "MultiheadAttention");
// head_h = softmax(q_h k_h^T / sqrt(D/H)) v_h for each head, concatenated, through out_proj: queries
// [B, H, Tq, D/H] over keys_values [B, H, Tk, D/H] -> context [B, Tq, D] and weights [B, H, Tq, Tk].
// key_padding_mask [B, Tk] (true / 1 = real) or undefined.
AttentionOutput multi_head_attend(const Tensor& queries, const MultiheadKeysValues& keys_values,
                                  const MultiheadAttentionWeights& weights, const Tensor& key_padding_mask = Tensor(),
                                  ScaledDotProductOptions options = {}, const std::string& layer = "MultiheadAttention");

class MultiheadAttention : public Module {
 public:
  // in_proj_weight ~ Glorot uniform, in_proj_bias = 0, out_proj.weight ~ U(+-1/sqrt(D)),
  // out_proj.bias = 0 (torch's initialisation). embed_dim must be a multiple of num_heads.
  MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, Generator& gen,
                     MultiheadAttentionOptions options = {});

  // Cross-attention: query [B, Tq, D] over key [B, Tk, D] / value [B, Tk, D]; key_padding_mask
  // [B, Tk] (true / 1 = real). Returns context [B, Tq, D] and per-head weights [B, H, Tq, Tk].
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& key_padding_mask = Tensor(), bool causal = false) const;
  AttentionOutput operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                             const Tensor& key_padding_mask = Tensor(), bool causal = false) const {
    return forward(query, key, value, key_padding_mask, causal);
  }
  // Self-attention: x [B, T, D] attends over itself.
  AttentionOutput self_attention(const Tensor& x, const Tensor& padding_mask = Tensor(), bool causal = false) const {
    return forward(x, x, x, padding_mask, causal);
  }

  MultiheadAttentionWeights weights() const;  // handles to this module's parameters
  std::size_t embed_dim() const { return embed_dim_; }
  std::size_t num_heads() const { return num_heads_; }

  Tensor in_proj_weight;  // [3D, D]
  Tensor in_proj_bias;    // [3D], undefined without bias
  std::shared_ptr<Linear> out_proj;

 private:
  std::size_t embed_dim_, num_heads_;
  double dropout_;
};

}  // namespace seqgrad::nn
