// Transformer decoder blocks: torch's parameter names, first and second derivatives against finite
// differences for post-LN and pre-LN, relu and gelu, with target and memory padding (parameters,
// target and memory), the equations, what may not reach a position (later targets, padding), dropout
// only in training, the decoder stack and errors.
#include <gtest/gtest.h>

#include <functional>

#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/transformer_decoder.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/expect_error.hpp"
#include "transformer_layers.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using namespace seqgrad::test_support;

namespace {


// x with the values at positions `positions` of sequence `b` moved by 10.
Tensor changed_at(const Tensor& x, std::size_t b, const std::vector<std::size_t>& positions) {
  std::vector<double> v = x.to_vector();
  const std::size_t T = x.size(1), D = x.size(2);
  for (std::size_t t : positions)
    for (std::size_t d = 0; d < D; ++d) v[(b * T + t) * D + d] += 10.0;
  return Tensor::from(v, x.shape(), f64);
}

// Whether output position (b, t) is bit for bit the same in `a` and `b_out`.
bool same_position(const Tensor& a, const Tensor& b_out, std::size_t b, std::size_t t) {
  const std::size_t T = a.size(1), D = a.size(2);
  const auto va = a.to_vector(), vb = b_out.to_vector();
  for (std::size_t d = 0; d < D; ++d)
    if (va[(b * T + t) * D + d] != vb[(b * T + t) * D + d]) return false;
  return true;
}

}  // namespace

TEST(TransformerDecoderLayer, ParametersHaveTorchNamesAndShapes) {
  Generator gen(51);
  nn::TransformerDecoderLayer layer(8, 2, gen, {.dim_feedforward = 16});
  EXPECT_EQ(names_and_shapes(layer), (std::vector<std::string>{
                       "self_attn.in_proj_weight[24,8]", "self_attn.in_proj_bias[24]", "self_attn.out_proj.weight[8,8]",
                       "self_attn.out_proj.bias[8]", "multihead_attn.in_proj_weight[24,8]",
                       "multihead_attn.in_proj_bias[24]", "multihead_attn.out_proj.weight[8,8]",
                       "multihead_attn.out_proj.bias[8]", "linear1.weight[16,8]", "linear1.bias[16]",
                       "linear2.weight[8,16]", "linear2.bias[8]", "norm1.weight[8]", "norm1.bias[8]", "norm2.weight[8]",
                       "norm2.bias[8]", "norm3.weight[8]", "norm3.bias[8]"}));
  EXPECT_EQ(layer.parameter("norm3.weight").to_vector(), std::vector<double>(8, 1.0));
  EXPECT_EQ(layer.parameter("multihead_attn.in_proj_bias").to_vector(), std::vector<double>(24, 0.0));
  EXPECT_NE(layer.self_attn->in_proj_weight.to_vector(), layer.multihead_attn->in_proj_weight.to_vector());
}

TEST(TransformerDecoderLayer, FirstAndSecondDerivativesMatchFiniteDifferences) {
  // Sequence 0 has a padded last target and two padded memory positions. Second derivatives in fast mode.
  const Tensor target_mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {2, 3});
  const Tensor memory_mask = Tensor::from_indices({1, 1, 0, 0, 1, 1, 1, 1}, {2, 4});
  for (const LayerVariant& v : {LayerVariant{"post-LN relu causal", false, nn::Activation::relu, true},
                                 LayerVariant{"post-LN gelu", false, nn::Activation::gelu_tanh, false},
                                 LayerVariant{"pre-LN relu causal", true, nn::Activation::relu, true},
                                 LayerVariant{"pre-LN gelu causal", true, nn::Activation::gelu_tanh, true}}) {
    SCOPED_TRACE(v.name);
    Generator gen(52);
    nn::TransformerDecoderLayer layer(4, 2, gen, small_layer(v.norm_first, v.activation));
    perturb_norms(layer, gen);
    expect_derivatives(v.name, [&](const std::vector<Tensor>& in) {
      return layer(in[0], in[1], target_mask, memory_mask, v.causal);
    }, with_parameters({leaf({2, 3, 4}, gen), leaf({2, 4, 4}, gen)}, layer), kLayerCheck, kLayerCheckFast);
  }
}

TEST(TransformerDecoderLayer, PostAndPreLNFollowTheirEquations) {
  // The block against the same equations written with the module's own sub-modules.
  Generator gen(53);
  const Tensor x = leaf({2, 3, 4}, gen), memory = leaf({2, 5, 4}, gen);
  const Tensor target_mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {2, 3});
  const Tensor memory_mask = Tensor::from_indices({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
  for (bool norm_first : {false, true}) {
    nn::TransformerDecoderLayer layer(4, 2, gen, small_layer(norm_first, nn::Activation::gelu_tanh));
    perturb_norms(layer, gen);
    const auto& l = layer;
    auto norm = [](const std::shared_ptr<nn::LayerNorm>& n, const Tensor& t) { return n->forward(t); };
    auto sa = [&](const Tensor& t) { return l.self_attn->self_attention(t, target_mask, true).context; };
    auto ca = [&](const Tensor& t) { return (*l.multihead_attn)(t, memory, memory, memory_mask).context; };
    auto ff = [&](const Tensor& t) { return (*l.linear2)(gelu((*l.linear1)(t))); };
    Tensor want;
    if (norm_first) {
      const Tensor h1 = x + sa(norm(l.norm1, x));
      const Tensor h2 = h1 + ca(norm(l.norm2, h1));
      want = h2 + ff(norm(l.norm3, h2));
    } else {
      const Tensor h1 = norm(l.norm1, x + sa(x));
      const Tensor h2 = norm(l.norm2, h1 + ca(h1));
      want = norm(l.norm3, h2 + ff(h2));
    }
    EXPECT_EQ(layer(x, memory, target_mask, memory_mask).to_vector(), want.to_vector())
        << (norm_first ? "pre-LN" : "post-LN");
  }
}

TEST(TransformerDecoderLayer, LaterTargetsAndPaddingDoNotReachRealPositions) {
  Generator gen(54);
  for (bool norm_first : {false, true}) {
    SCOPED_TRACE(norm_first ? "pre-LN" : "post-LN");
    nn::TransformerDecoderLayer layer(8, 2, gen, {.dim_feedforward = 16, .dropout = 0.0, .norm_first = norm_first,
                                                  .dtype = f64});
    const Tensor x = leaf({2, 4, 8}, gen), memory = leaf({2, 5, 8}, gen);
    const Tensor memory_mask = Tensor::from_indices({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
    const Tensor before = layer(x, memory, Tensor(), memory_mask);

    // Causal: a change at position 2 reaches positions 2 and 3 only.
    const Tensor later = layer(changed_at(x, 0, {2}), memory, Tensor(), memory_mask);
    EXPECT_TRUE(same_position(before, later, 0, 0));
    EXPECT_TRUE(same_position(before, later, 0, 1));
    EXPECT_FALSE(same_position(before, later, 0, 2));
    EXPECT_FALSE(same_position(before, later, 0, 3));

    // Padded memory positions reach nothing.
    const Tensor padded_memory = layer(x, changed_at(memory, 0, {3, 4}), Tensor(), memory_mask);
    for (std::size_t t = 0; t < 4; ++t) EXPECT_TRUE(same_position(before, padded_memory, 0, t)) << "t " << t;

    // Not causal, a padded target position (1 of sequence 0) reaches only itself.
    const Tensor target_mask = Tensor::from_indices({1, 0, 1, 1, 1, 1, 1, 1}, {2, 4});
    const Tensor all_seeing = layer(x, memory, target_mask, memory_mask, false);
    const Tensor padded_target = layer(changed_at(x, 0, {1}), memory, target_mask, memory_mask, false);
    for (std::size_t t : {0u, 2u, 3u}) EXPECT_TRUE(same_position(all_seeing, padded_target, 0, t)) << "t " << t;
    EXPECT_FALSE(same_position(all_seeing, padded_target, 0, 1));
    // ...while without the mask it reaches every position.
    EXPECT_FALSE(same_position(layer(x, memory, Tensor(), memory_mask, false),
                               layer(changed_at(x, 0, {1}), memory, Tensor(), memory_mask, false), 0, 0));
  }
}

TEST(TransformerDecoderLayer, DropoutOnlyInTraining) {
  Generator gen(55);
  nn::TransformerDecoderLayer layer(4, 2, gen, small_layer(false, nn::Activation::relu, 0.3));
  const Tensor x = leaf({2, 5, 4}, gen), memory = leaf({2, 3, 4}, gen);
  const auto without =
      nn::transformer_decoder_layer(x, memory, layer.weights(), 2, layer.options(), false).to_vector();
  layer.eval();
  EXPECT_EQ(layer(x, memory).to_vector(), without);
  layer.train();
  EXPECT_NE(layer(x, memory).to_vector(), without);
}

TEST(TransformerDecoderLayer, BadInputsNameTheLayerAndTheShapes) {
  Generator gen(56);
  expect_error([&] { nn::TransformerDecoderLayer(6, 4, gen); }, {"MultiheadAttention", "embed_dim 6", "num_heads 4"});
  expect_error([&] { nn::TransformerDecoderLayer(8, 2, gen, {.dropout = 1.0}); }, {"TransformerDecoderLayer", "dropout"});
  expect_error([&] { nn::TransformerDecoderLayer(8, 2, gen, {.dim_feedforward = 0}); },
               {"TransformerDecoderLayer", "dim_feedforward"});
  nn::TransformerDecoderLayer layer(4, 2, gen, small_layer(false, nn::Activation::relu));
  const Tensor x = leaf({2, 3, 4}, gen), memory = leaf({2, 5, 4}, gen);
  expect_error([&] { layer(leaf({2, 3, 5}, gen), memory); }, {"TransformerDecoderLayer", "target [2,3,5]", "d_model 4"});
  expect_error([&] { layer(leaf({3, 4}, gen), memory); }, {"TransformerDecoderLayer", "target [3,4]"});
  expect_error([&] { layer(x, leaf({2, 5, 3}, gen)); }, {"TransformerDecoderLayer", "memory [2,5,3]", "d_model 4"});
  expect_error([&] { layer(x, Tensor()); }, {"TransformerDecoderLayer", "memory (undefined)"});
  expect_error([&] { layer(x, leaf({3, 5, 4}, gen)); },
               {"TransformerDecoderLayer", "target [2,3,4]", "memory [3,5,4]", "batch"});
  expect_error([&] { layer(x, memory, Tensor::from_indices({1, 1, 1, 1, 1}, {1, 5})); },
               {"TransformerDecoderLayer self_attn", "padding mask [1,5]", "[2, 3]"});
  expect_error([&] { layer(x, memory, Tensor(), Tensor::from_indices({1, 1, 1, 1, 1, 1}, {2, 3})); },
               {"TransformerDecoderLayer multihead_attn", "padding mask [2,3]", "[2, 5]"});
  expect_error([&] { layer(x, memory, Tensor(), Tensor::from_indices({0, 0, 0, 0, 0, 1, 1, 1, 1, 1}, {2, 5})); },
               {"TransformerDecoderLayer multihead_attn", "sequence 0", "no key to attend to"});
  // Weights from elsewhere that do not fit each other.
  auto w = layer.weights();
  w.multihead_attn = {Tensor::zeros({18, 6}, f64), Tensor::zeros({18}, f64), Tensor::zeros({6, 6}, f64),
                      Tensor::zeros({6}, f64)};
  expect_error([&] { nn::transformer_decoder_layer(x, memory, w, 2, layer.options(), false); },
               {"TransformerDecoderLayer multihead_attn", "key [2,5,4]", "embed_dim 6"});
}

TEST(TransformerDecoder, StacksLayersWithTorchNames) {
  Generator gen(57);
  nn::TransformerDecoder decoder(4, 2, 2, gen,
                                 {.layer = small_layer(true, nn::Activation::relu), .final_norm = true});
  const auto named = decoder.named_parameters();
  EXPECT_EQ(named.size(), 2u * 18u + 2u);
  EXPECT_EQ(named.front().first, "layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(named[4].first, "layers.0.multihead_attn.in_proj_weight");
  EXPECT_EQ(named[18].first, "layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(named[35].first, "layers.1.norm3.bias");
  EXPECT_EQ(named[named.size() - 2].first, "norm.weight");
  EXPECT_EQ(named.back().first, "norm.bias");
  EXPECT_NE(decoder.layers[0]->self_attn->in_proj_weight.to_vector(),
            decoder.layers[1]->self_attn->in_proj_weight.to_vector());

  const Tensor x = leaf({2, 3, 4}, gen), memory = leaf({2, 4, 4}, gen);
  const Tensor target_mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {2, 3});
  const Tensor memory_mask = Tensor::from_indices({1, 1, 1, 0, 1, 1, 1, 1}, {2, 4});
  const Tensor y = decoder(x, memory, target_mask, memory_mask);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  const auto& layers = decoder.layers;
  const Tensor by_hand =
      layer_norm((*layers[1])((*layers[0])(x, memory, target_mask, memory_mask), memory, target_mask, memory_mask),
                 decoder.parameter("norm.weight"), decoder.parameter("norm.bias"), 1e-5);
  EXPECT_EQ(y.to_vector(), by_hand.to_vector());
  EXPECT_NE(decoder(x, memory, target_mask, memory_mask, false).to_vector(), y.to_vector());
  decoder.eval();
  EXPECT_FALSE(decoder.layers[1]->multihead_attn->is_training());
  expect_error([&] { nn::TransformerDecoder(4, 2, 0, gen); }, {"TransformerDecoder", "num_layers"});
}

TEST(TransformerDecoder, GradientsReachEveryLayerAndTheMemory) {
  Generator gen(58);
  nn::TransformerDecoder decoder(4, 2, 2, gen, {.layer = small_layer(false, nn::Activation::relu)});
  std::vector<Tensor> inputs = {leaf({1, 3, 4}, gen), leaf({1, 2, 4}, gen)};
  for (const auto& p : decoder.parameters()) inputs.push_back(p);
  const GradCheckResult r = gradcheck("decoder", [&](const std::vector<Tensor>& in) {
    return decoder(in[0], in[1]);
  }, inputs, kLayerCheckFast);
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(TransformerDecoder, EncoderDecoderAsTheReadmeShowsIt) {
  Generator gen(59);
  const std::size_t B = 2, S = 5, T = 3, d_model = 16, heads = 4;
  const Tensor source = rand_uniform({B, S, d_model}, -1.0, 1.0, DType::f32, gen);
  const Tensor target = rand_uniform({B, T, d_model}, -1.0, 1.0, DType::f32, gen);
  const Tensor source_mask = Tensor::from_indices({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {B, S});
  const Tensor target_mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {B, T});
  // readme-begin: decoder
  nn::TransformerEncoder encoder(d_model, heads, 2, gen, {.layer = {.dim_feedforward = 64}});
  nn::TransformerDecoder decoder(d_model, heads, 2, gen,
                                 {.layer = {.dim_feedforward = 64, .norm_first = true}, .final_norm = true});
  const Tensor memory = encoder(source, source_mask);                        // [B, S, D]
  const Tensor states = decoder(target, memory, target_mask, source_mask);  // [B, T, D], causal
  // Parameters as torch.nn.TransformerDecoder's: layers.0.self_attn.in_proj_weight, ...,
  // layers.0.multihead_attn.*, layers.0.linear1.*, layers.0.norm1.* .. norm3.*, norm.*
  // readme-end: decoder
  EXPECT_EQ(states.shape(), (Shape{B, T, d_model}));
  EXPECT_EQ(memory.shape(), (Shape{B, S, d_model}));
  EXPECT_EQ(decoder.named_parameters().front().first, "layers.0.self_attn.in_proj_weight");
}
