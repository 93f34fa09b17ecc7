// Evaluators of the attention golden cases: the attention family, scaled dot-product attention,
// multi-head self-attention and the transformer encoder and decoder blocks, each fed the case's own
// tensors as its parameters (so the runner's gradients reach them).
#include <stdexcept>

#include "evaluators.hpp"
#include "seqgrad/nn/attention.hpp"
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/nn/transformer_decoder.hpp"

namespace seqgrad::conformance {

namespace {

// An encoder or decoder block's attrs: activation (relu or gelu_tanh), norm_first, eps.
nn::TransformerLayerOptions layer_options(const CaseView& c, const std::string& op) {
  const std::string activation = c.text("activation", "relu");
  nn::TransformerLayerOptions options;
  if (activation == "relu") options.activation = nn::Activation::relu;
  else if (activation == "gelu_tanh") options.activation = nn::Activation::gelu_tanh;
  else
    throw std::invalid_argument(op + ": activation '" + activation +
                                "' is not supported (relu, gelu_tanh; torch's 'gelu' is the exact erf gelu)");
  options.norm_first = c.flag("norm_first", false);
  options.layer_norm_eps = c.number("eps", 1e-5);
  return options;
}

// A block's MultiheadAttention parameters, under torch's names prefix.in_proj_weight, ...
nn::MultiheadAttentionWeights attention_weights(const CaseView& c, const std::string& prefix) {
  return {c.input(prefix + ".in_proj_weight"), c.optional_input(prefix + ".in_proj_bias"),
          c.input(prefix + ".out_proj.weight"), c.optional_input(prefix + ".out_proj.bias")};
}

}  // namespace

void register_attention_evaluators(Registry& r) {
  // weights = softmax_T(tanh(keys W_h^T + (s W_s^T + b_s)) v), context = sum_T weights * keys
  r.add("additive_attention", [](const CaseView& c) {
    const nn::AdditiveAttention attention(
        nn::AdditiveAttentionWeights{c.input("W_h"), c.input("W_s"), c.input("b_s"), c.input("v")});
    const Tensor& keys = c.input("keys");
    const auto out = attention(c.input("s"), keys, keys, c.input("mask"));
    return NamedTensors{{"weights", out.weights}, {"context", out.context}};
  });

  r.add("mean_context", [](const CaseView& c) {
    const Tensor& keys = c.input("keys");
    return NamedTensors{{"context", nn::MeanContext()(Tensor(), keys, keys, c.input("mask")).context}};
  });

  r.add("scaled_dot_attention", [](const CaseView& c) {
    const auto out = nn::scaled_dot_product_attention(c.input("q"), c.input("k"), c.input("v"),
                                                      c.optional_input("mask"), {.causal = c.flag("causal", false)});
    return NamedTensors{{"out", out.context}, {"weights", out.weights}};
  });

  r.add("multi_head_self_attention", [](const CaseView& c) {
    const nn::MultiheadAttentionWeights w{c.input("in_proj_weight"), c.optional_input("in_proj_bias"),
                                          c.input("out_proj_weight"), c.optional_input("out_proj_bias")};
    const Tensor& x = c.input("x");
    const auto out = nn::multi_head_attention(x, x, x, w, c.integer("heads"), c.optional_input("mask"));
    return NamedTensors{{"y", out.context}, {"weights", out.weights}};
  });

  // torch.nn.TransformerEncoderLayer in eval mode (no dropout).
  r.add("transformer_encoder_block", [](const CaseView& c) {
    const nn::TransformerEncoderLayerOptions options = layer_options(c, "transformer_encoder_block");
    auto p = [&](const std::string& name) { return c.optional_input(name); };
    const nn::TransformerEncoderLayerWeights w{
        attention_weights(c, "self_attn"),
        c.input("linear1.weight"), p("linear1.bias"), c.input("linear2.weight"), p("linear2.bias"),
        p("norm1.weight"), p("norm1.bias"), p("norm2.weight"), p("norm2.bias")};
    return NamedTensors{{"y", nn::transformer_encoder_layer(c.input("x"), w, c.integer("heads"), options,
                                                            /*training=*/false, c.optional_input("mask"))}};
  });

  // torch.nn.TransformerDecoderLayer in eval mode, with tgt_mask the causal mask when `causal`.
  r.add("transformer_decoder_block", [](const CaseView& c) {
    const nn::TransformerDecoderLayerOptions options = layer_options(c, "transformer_decoder_block");
    auto p = [&](const std::string& name) { return c.optional_input(name); };
    const nn::TransformerDecoderLayerWeights w{
        attention_weights(c, "self_attn"),
        attention_weights(c, "multihead_attn"),
        c.input("linear1.weight"), p("linear1.bias"), c.input("linear2.weight"), p("linear2.bias"),
        p("norm1.weight"), p("norm1.bias"), p("norm2.weight"), p("norm2.bias"), p("norm3.weight"), p("norm3.bias")};
    return NamedTensors{{"y", nn::transformer_decoder_layer(c.input("x"), c.input("memory"), w, c.integer("heads"),
                                                            options, /*training=*/false, p("tgt_mask"), p("memory_mask"),
                                                            c.flag("causal", false))}};
  });
}

}  // namespace seqgrad::conformance
