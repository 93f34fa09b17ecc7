#pragma once
// Transformer encoder blocks, as torch.nn.TransformerEncoderLayer / TransformerEncoder with
// batch_first=True, and the sinusoidal positional encoding of Vaswani et al.
//
// A TransformerEncoder can stand in for an RNN encoder: it maps [B, T, D] inputs to [B, T, D]
// states. Turning tokens into those inputs is the model's choice; the usual recipe (Vaswani et al.) is
//
//   x = embedding(tokens) * sqrt(D) + sinusoidal_positional_encoding(T, D)    // [B,T,D] + [T,D]
//
// States at padding positions are computed (from the real keys) but mean nothing: mask them
// downstream, as the attention layers do when given the same padding mask.
#include <memory>
#include <vector>

#include "seqgrad/nn/attention.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

// PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(pos / 10000^(2i/D)) for the positions
// first, ..., first + length - 1: [length, D],
// a constant (no gradient).
Tensor sinusoidal_positional_encoding(std::size_t length, std::size_t d_model, DType dtype = DType::f32,
                                      std::size_t first = 0);

// relu, or gelu in its tanh approximation: torch's activation="gelu" is the exact (erf) gelu, which
// differs from this by up to about 1e-3; the torch equivalent of gelu_tanh is
// activation=lambda x: F.gelu(x, approximate="tanh").
enum class Activation { relu, gelu_tanh };

// The settings of one encoder or decoder layer (transformer_decoder.hpp has the decoder), torch's
// defaults.
struct TransformerLayerOptions {
  std::size_t dim_feedforward = 2048;
  double dropout = 0.1;  // after attention, inside and after the feed-forward block, on the attention weights
  Activation activation = Activation::relu;
  double layer_norm_eps = 1e-5;
  bool norm_first = false;  // false: post-LN (the original); true: pre-LN
  DType dtype = DType::f32;
};
using TransformerEncoderLayerOptions = TransformerLayerOptions;

// The parameters by torch's names (self_attn.*, linear1.*, linear2.*, norm1.*, norm2.*).
struct TransformerEncoderLayerWeights {
  MultiheadAttentionWeights self_attn;
  Tensor linear1_weight, linear1_bias, linear2_weight, linear2_bias;
  Tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias;
};

// The block as a function of its parameters (the module below calls it with its own):
//   post-LN:  x = norm1(x + SA(x));        x = norm2(x + FF(x))
//   pre-LN:   x = x + SA(norm1(x));        x = x + FF(norm2(x))
//   SA(x) = dropout(self-attention of x);  FF(x) = dropout(linear2(dropout(act(linear1(x)))))
// x [B, T, D], padding_mask [B, T] (true / 1 = real) or undefined; causal: position t sees <= t.
// Dropout is active when `training` (masks from this thread's default_generator()).
Tensor transformer_encoder_layer(const Tensor& x, const TransformerEncoderLayerWeights& weights,
                                 std::size_t num_heads, const TransformerEncoderLayerOptions& options,
                                 bool training, const Tensor& padding_mask = Tensor(), bool causal = false);

class TransformerEncoderLayer : public Module {
 public:
  // Parameters initialised as torch's: self_attn as MultiheadAttention, linear1/linear2 as Linear,
  // norms to weight 1 and bias 0. d_model must be a multiple of num_heads.
  TransformerEncoderLayer(std::size_t d_model, std::size_t num_heads, Generator& gen,
                          TransformerEncoderLayerOptions options = {});

  // x [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x, const Tensor& padding_mask = Tensor(), bool causal = false) const;
  Tensor operator()(const Tensor& x, const Tensor& padding_mask = Tensor(), bool causal = false) const {
    return forward(x, padding_mask, causal);
  }

  TransformerEncoderLayerWeights weights() const;  // handles to this module's parameters
  const TransformerEncoderLayerOptions& options() const { return options_; }

  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  TransformerEncoderLayerOptions options_;
};

// A stack of encoder (or decoder) layers.
struct TransformerStackOptions {
  TransformerLayerOptions layer;
  // A last LayerNorm over the output (named "norm"), as torch's TransformerEncoder(norm=LayerNorm) and
  // TransformerDecoder(norm=LayerNorm): pre-LN stacks need it, post-LN stacks end normalised already.
  bool final_norm = false;
};
using TransformerEncoderOptions = TransformerStackOptions;

// num_layers encoder layers, parameters named layers.0.self_attn.in_proj_weight, ... as torch's
// TransformerEncoder. Unlike torch, which deep-copies one layer (every layer starts equal), each
// layer draws its own initial weights from gen.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(std::size_t d_model, std::size_t num_heads, std::size_t num_layers, Generator& gen,
                     TransformerEncoderOptions options = {});

  // x [B, T, D] -> states [B, T, D]
  Tensor forward(const Tensor& x, const Tensor& padding_mask = Tensor(), bool causal = false) const;
  Tensor operator()(const Tensor& x, const Tensor& padding_mask = Tensor(), bool causal = false) const {
    return forward(x, padding_mask, causal);
  }

  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  // null without final_norm
};

}  // namespace seqgrad::nn
