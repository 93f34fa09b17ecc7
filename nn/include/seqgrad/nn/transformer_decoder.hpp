#pragma once
// Transformer decoder blocks, as torch.nn.TransformerDecoderLayer / TransformerDecoder with
// batch_first=True: the target attends to its own earlier positions (masked self-attention), then to
// the encoder's states (the memory: cross-attention), then goes through the feed-forward block.
//
// Unlike torch, whose tgt_mask defaults to none, the self-attention is causal unless told otherwise:
// a decoder trained seeing its later targets learns to copy them and fails when it generates.
#include <memory>
#include <vector>

#include "seqgrad/nn/attention.hpp"
#include "seqgrad/nn/transformer.hpp"

namespace seqgrad::nn {

using TransformerDecoderLayerOptions = TransformerLayerOptions;
using TransformerDecoderOptions = TransformerStackOptions;

// The parameters by torch's names (self_attn.*, multihead_attn.*, linear1.*, linear2.*, norm1.*,
// norm2.*, norm3.*).
struct TransformerDecoderLayerWeights {
  MultiheadAttentionWeights self_attn, multihead_attn;
  Tensor linear1_weight, linear1_bias, linear2_weight, linear2_bias;
  Tensor norm1_weight, norm1_bias, norm2_weight, norm2_bias, norm3_weight, norm3_bias;
};

// The block as a function of its parameters (the module below calls it with its own):
//   post-LN:  x = norm1(x + SA(x));   x = norm2(x + CA(x, memory));   x = norm3(x + FF(x))
//   pre-LN:   x = x + SA(norm1(x));   x = x + CA(norm2(x), memory);   x = x + FF(norm3(x))
//   SA(x) = dropout(self-attention of x, position t seeing positions <= t when causal)
//   CA(x, memory) = dropout(attention with queries from x, keys and values from memory)
//   FF(x) = dropout(linear2(dropout(act(linear1(x)))))
// x [B, T, D] (the target), memory [B, S, D]; target_padding_mask [B, T] and memory_padding_mask
// [B, S] (true / 1 = real) or undefined. Dropout is active when `training` (masks from this
// thread's default_generator()). With cross_attention_weights, the cross-attention's weights
// [B, heads, T, S] are stored there (before dropout: what the pictures draw).
Tensor transformer_decoder_layer(const Tensor& x, const Tensor& memory, const TransformerDecoderLayerWeights& weights,
                                 std::size_t num_heads, const TransformerDecoderLayerOptions& options, bool training,
                                 const Tensor& target_padding_mask = Tensor(),
                                 const Tensor& memory_padding_mask = Tensor(), bool causal = true,
                                 Tensor* cross_attention_weights = nullptr);

class TransformerDecoderLayer : public Module {
 public:
  // Parameters initialised as torch's: self_attn and multihead_attn as MultiheadAttention,
  // linear1/linear2 as Linear, norms to weight 1 and bias 0. d_model must be a multiple of num_heads.
  TransformerDecoderLayer(std::size_t d_model, std::size_t num_heads, Generator& gen,
                          TransformerDecoderLayerOptions options = {});

  // x [B, T, D], memory [B, S, D] -> [B, T, D]; cross_attention_weights as transformer_decoder_layer's
  Tensor forward(const Tensor& x, const Tensor& memory, const Tensor& target_padding_mask = Tensor(),
                 const Tensor& memory_padding_mask = Tensor(), bool causal = true,
                 Tensor* cross_attention_weights = nullptr) const;
  Tensor operator()(const Tensor& x, const Tensor& memory, const Tensor& target_padding_mask = Tensor(),
                    const Tensor& memory_padding_mask = Tensor(), bool causal = true) const {
    return forward(x, memory, target_padding_mask, memory_padding_mask, causal);
  }

  TransformerDecoderLayerWeights weights() const;  // handles to this module's parameters
  const TransformerDecoderLayerOptions& options() const { return options_; }

  std::shared_ptr<MultiheadAttention> self_attn, multihead_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;

 private:
  TransformerDecoderLayerOptions options_;
};

// What a step-by-step decoder keeps between steps (TransformerDecoder::start / step / reorder), as
// torch's / fairseq's incremental state: per layer, the self-attention's keys and values of the
// positions decoded so far (one position longer after every step) and the memory's keys and values
// for the cross-attention (projected once, by start). Every tensor's first dimension is the batch.
struct TransformerDecoderCache {
  struct Layer {
    MultiheadKeysValues self_attention;  // [B, H, t, D/H] after t steps; undefined before the first
    MultiheadKeysValues memory;          // [B, H, S, D/H]
  };
  std::vector<Layer> layers;
  Tensor memory_padding_mask;  // [B, S] or undefined
  std::size_t positions = 0;   // steps taken
};

// num_layers decoder layers, parameters named layers.0.self_attn.in_proj_weight, ..., norm.* as
// torch's TransformerDecoder; each layer draws its own initial weights from gen (torch's copies one).
class TransformerDecoder : public Module {
 public:
  TransformerDecoder(std::size_t d_model, std::size_t num_heads, std::size_t num_layers, Generator& gen,
                     TransformerDecoderOptions options = {});

  // x [B, T, D], memory [B, S, D] (every layer attends to the same memory) -> [B, T, D]. With
  // last_cross_attention_weights, the last layer's cross-attention weights [B, heads, T, S] are
  // stored there (what attention pictures of a transformer decoder draw).
  Tensor forward(const Tensor& x, const Tensor& memory, const Tensor& target_padding_mask = Tensor(),
                 const Tensor& memory_padding_mask = Tensor(), bool causal = true,
                 Tensor* last_cross_attention_weights = nullptr) const;
  Tensor operator()(const Tensor& x, const Tensor& memory, const Tensor& target_padding_mask = Tensor(),
                    const Tensor& memory_padding_mask = Tensor(), bool causal = true) const {
    return forward(x, memory, target_padding_mask, memory_padding_mask, causal);
  }

  // Incremental decoding: start projects the memory [B, S, D] for every layer's cross-attention;
  // each step takes the target at the next position, x_t [B, 1, D], and returns the stack's output
  // there [B, 1, D], equal to position t of forward (causal, no target padding) over the positions
  // stepped so far, at the cost of one position instead of the whole prefix. reorder keeps the rows
  // `indices` (int64, 1-D, any length: beams may be dropped or repeated) of every cached tensor, as
  // beam search needs after each step. The ops record gradients as forward does when recording is
  // on (the gradients through the steps equal forward's); decoding normally runs under NoGradGuard,
  // which keeps nothing for backward. In training mode dropout draws its masks per step. Bad shapes
  // throw std::invalid_argument naming start, step or reorder; a step or reorder that throws leaves
  // the cache as it was.
  TransformerDecoderCache start(const Tensor& memory, const Tensor& memory_padding_mask = Tensor()) const;
  // last_cross_attention_weights: as forward's, [B, heads, 1, S] for the new position.
  Tensor step(TransformerDecoderCache& cache, const Tensor& x_t, Tensor* last_cross_attention_weights = nullptr) const;
  static void reorder(TransformerDecoderCache& cache, const Tensor& indices);

  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers;
  std::shared_ptr<LayerNorm> norm;  // null without final_norm
};

}  // namespace seqgrad::nn
