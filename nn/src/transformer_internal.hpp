#pragma once
// What the transformer encoder and decoder layers share (private to nn/src): the option checks, the
// sub-modules both build the same way, the feed-forward block and the stack of layers.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqgrad/nn/transformer.hpp"

namespace seqgrad::nn::detail {

// Throws std::invalid_argument naming `layer` unless dim_feedforward > 0 and dropout is in [0, 1).
void check_layer_options(const TransformerLayerOptions& options, const std::string& layer);

// The layer's sub-modules, initialised as torch's: attention as MultiheadAttention (dropout on its
// weights), the feed-forward linears as Linear, norms to weight 1 and bias 0.
std::shared_ptr<MultiheadAttention> make_attention(std::size_t d_model, std::size_t num_heads, Generator& gen,
                                                   const TransformerLayerOptions& options);
std::shared_ptr<Linear> make_linear(std::size_t in, std::size_t out, Generator& gen,
                                    const TransformerLayerOptions& options);
std::shared_ptr<LayerNorm> make_norm(std::size_t d_model, const TransformerLayerOptions& options);

// dropout(x) when training with a positive rate, else x.
Tensor dropout_if(const Tensor& x, const TransformerLayerOptions& options, bool training);

// FF(x) = dropout(linear2(dropout(act(linear1(x)))))
Tensor feed_forward(const Tensor& x, const Tensor& linear1_weight, const Tensor& linear1_bias,
                    const Tensor& linear2_weight, const Tensor& linear2_bias, const TransformerLayerOptions& options,
                    bool training);

// num_layers layers, each drawing its own initial weights from gen; `stack` names the stack in errors.
template <class Layer>
std::vector<std::shared_ptr<Layer>> make_layers(const std::string& stack, std::size_t num_layers, std::size_t d_model,
                                                std::size_t num_heads, Generator& gen,
                                                const TransformerLayerOptions& options) {
  if (num_layers == 0) throw std::invalid_argument(stack + ": num_layers must be positive");
  std::vector<std::shared_ptr<Layer>> layers;
  for (std::size_t i = 0; i < num_layers; ++i)
    layers.push_back(std::make_shared<Layer>(d_model, num_heads, gen, options));
  return layers;
}

// A stack's layers as one sub-module with children "0", "1", ..., so that parameters are named
// layers.0.self_attn.in_proj_weight as in torch.
class LayerStack : public Module {
 public:
  template <class Layer>
  explicit LayerStack(const std::vector<std::shared_ptr<Layer>>& layers) {
    for (std::size_t i = 0; i < layers.size(); ++i) register_module(std::to_string(i), layers[i]);
  }
};

}  // namespace seqgrad::nn::detail
