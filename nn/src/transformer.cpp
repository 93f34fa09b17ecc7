// Transformer encoder blocks (post-LN and pre-LN), what they share with the decoder blocks, and the
// sinusoidal positional encoding.
#include "seqgrad/nn/transformer.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "seqgrad/ops/ops.hpp"
#include "transformer_internal.hpp"

namespace seqgrad::nn {

namespace detail {

void check_layer_options(const TransformerLayerOptions& options, const std::string& layer) {
  if (options.dim_feedforward == 0) throw std::invalid_argument(layer + ": dim_feedforward must be positive");
  if (options.dropout < 0.0 || options.dropout >= 1.0)
    throw std::invalid_argument(layer + ": dropout " + std::to_string(options.dropout) + " is not in [0, 1)");
}

std::shared_ptr<MultiheadAttention> make_attention(std::size_t d_model, std::size_t num_heads, Generator& gen,
                                                   const TransformerLayerOptions& options) {
  return std::make_shared<MultiheadAttention>(
      d_model, num_heads, gen, MultiheadAttentionOptions{.dropout = options.dropout, .dtype = options.dtype});
}

std::shared_ptr<Linear> make_linear(std::size_t in, std::size_t out, Generator& gen,
                                    const TransformerLayerOptions& options) {
  return std::make_shared<Linear>(in, out, gen, LinearOptions{.dtype = options.dtype});
}

std::shared_ptr<LayerNorm> make_norm(std::size_t d_model, const TransformerLayerOptions& options) {
  return std::make_shared<LayerNorm>(d_model, LayerNormOptions{.eps = options.layer_norm_eps, .dtype = options.dtype});
}

Tensor dropout_if(const Tensor& x, const TransformerLayerOptions& options, bool training) {
  return training && options.dropout > 0.0 ? dropout(x, options.dropout, true) : x;
}

Tensor feed_forward(const Tensor& x, const Tensor& linear1_weight, const Tensor& linear1_bias,
                    const Tensor& linear2_weight, const Tensor& linear2_bias, const TransformerLayerOptions& o,
                    bool training) {
  const Tensor pre_activation = linear(x, linear1_weight, linear1_bias);
  const Tensor hidden = o.activation == Activation::relu ? relu(pre_activation) : gelu(pre_activation);
  return dropout_if(linear(dropout_if(hidden, o, training), linear2_weight, linear2_bias), o, training);
}

}  // namespace detail

Tensor sinusoidal_positional_encoding(std::size_t length, std::size_t d_model, DType dtype, std::size_t first) {
  std::vector<double> pe(length * d_model);
  for (std::size_t row = 0; row < length; ++row)
    for (std::size_t i = 0; i < d_model; ++i) {
      const std::size_t pair = i - i % 2;  // 2i of the formula, shared by the sin and cos columns
      const double pos = static_cast<double>(first + row);
      const double angle = pos / std::pow(10000.0, static_cast<double>(pair) / d_model);
      pe[row * d_model + i] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
    }
  return Tensor::from(pe, {length, d_model}, dtype);
}

Tensor transformer_encoder_layer(const Tensor& x, const TransformerEncoderLayerWeights& w, std::size_t num_heads,
                                 const TransformerEncoderLayerOptions& o, bool training, const Tensor& padding_mask,
                                 bool causal) {
  const std::size_t D = w.self_attn.in_proj_weight.defined() ? w.self_attn.in_proj_weight.size(1) : 0;
  if (!x.defined() || x.dim() != 3 || x.size(2) != D)
    throw std::invalid_argument("TransformerEncoderLayer: input " +
                                (x.defined() ? to_string(x.shape()) : std::string("(undefined)")) +
                                " is not [B, T, " + std::to_string(D) + "] (d_model " + std::to_string(D) + ")");
  auto norm1 = [&](const Tensor& t) { return layer_norm(t, w.norm1_weight, w.norm1_bias, o.layer_norm_eps); };
  auto norm2 = [&](const Tensor& t) { return layer_norm(t, w.norm2_weight, w.norm2_bias, o.layer_norm_eps); };
  auto self_attention = [&](const Tensor& t) {
    const ScaledDotProductOptions attention{.causal = causal, .dropout = o.dropout, .training = training};
    return detail::dropout_if(multi_head_attention(t, t, t, w.self_attn, num_heads, padding_mask, attention).context,
                              o, training);
  };
  auto feed_forward = [&](const Tensor& t) {
    return detail::feed_forward(t, w.linear1_weight, w.linear1_bias, w.linear2_weight, w.linear2_bias, o, training);
  };

  if (o.norm_first) {
    const Tensor h = x + self_attention(norm1(x));
    return h + feed_forward(norm2(h));
  }
  const Tensor h = norm1(x + self_attention(x));
  return norm2(h + feed_forward(h));
}

TransformerEncoderLayer::TransformerEncoderLayer(std::size_t d_model, std::size_t num_heads, Generator& gen,
                                                 TransformerEncoderLayerOptions options)
    : options_(options) {
  detail::check_layer_options(options, "TransformerEncoderLayer");
  // Registration order = torch's parameter order.
  self_attn = register_module("self_attn", detail::make_attention(d_model, num_heads, gen, options));
  linear1 = register_module("linear1", detail::make_linear(d_model, options.dim_feedforward, gen, options));
  linear2 = register_module("linear2", detail::make_linear(options.dim_feedforward, d_model, gen, options));
  norm1 = register_module("norm1", detail::make_norm(d_model, options));
  norm2 = register_module("norm2", detail::make_norm(d_model, options));
}

TransformerEncoderLayerWeights TransformerEncoderLayer::weights() const {
  return {self_attn->weights(), linear1->weight, linear1->bias, linear2->weight, linear2->bias,
          norm1->weight,        norm1->bias,     norm2->weight,   norm2->bias};
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& padding_mask, bool causal) const {
  return transformer_encoder_layer(x, weights(), self_attn->num_heads(), options_, is_training(), padding_mask, causal);
}

TransformerEncoder::TransformerEncoder(std::size_t d_model, std::size_t num_heads, std::size_t num_layers,
                                       Generator& gen, TransformerEncoderOptions options) {
  layers = detail::make_layers<TransformerEncoderLayer>("TransformerEncoder", num_layers, d_model, num_heads, gen,
                                                        options.layer);
  register_module("layers", std::make_shared<detail::LayerStack>(layers));
  if (options.final_norm) norm = register_module("norm", detail::make_norm(d_model, options.layer));
}

Tensor TransformerEncoder::forward(const Tensor& x, const Tensor& padding_mask, bool causal) const {
  Tensor h = x;
  for (const auto& layer : layers) h = layer->forward(h, padding_mask, causal);
  return norm ? norm->forward(h) : h;
}

}  // namespace seqgrad::nn
