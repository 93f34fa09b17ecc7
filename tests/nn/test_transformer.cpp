// Transformer encoder blocks: torch's parameter names, first and second derivatives against finite
// differences for post-LN and pre-LN (parameters and inputs), padding that cannot leak into real
// positions, dropout only in training, the encoder stack, the positional encoding and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/expect_error.hpp"
#include "transformer_layers.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using namespace seqgrad::test_support;

TEST(TransformerEncoderLayer, ParametersHaveTorchNamesAndShapes) {
  Generator gen(41);
  nn::TransformerEncoderLayer layer(8, 2, gen, {.dim_feedforward = 16});
  EXPECT_EQ(names_and_shapes(layer), (std::vector<std::string>{
                       "self_attn.in_proj_weight[24,8]", "self_attn.in_proj_bias[24]", "self_attn.out_proj.weight[8,8]",
                       "self_attn.out_proj.bias[8]", "linear1.weight[16,8]", "linear1.bias[16]", "linear2.weight[8,16]",
                       "linear2.bias[8]", "norm1.weight[8]", "norm1.bias[8]", "norm2.weight[8]", "norm2.bias[8]"}));
  EXPECT_EQ(layer.parameter("norm1.weight").to_vector(), std::vector<double>(8, 1.0));
  EXPECT_EQ(layer.parameter("norm2.bias").to_vector(), std::vector<double>(8, 0.0));
}

TEST(TransformerEncoderLayer, FirstAndSecondDerivativesMatchFiniteDifferences) {
  // Second derivatives in fast mode.
  const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 1, 1, 1, 1}, {2, 4});
  for (const LayerVariant& v : {LayerVariant{"post-LN relu", false, nn::Activation::relu, false},
                                 LayerVariant{"post-LN gelu causal", false, nn::Activation::gelu_tanh, true},
                                 LayerVariant{"pre-LN relu causal", true, nn::Activation::relu, true},
                                 LayerVariant{"pre-LN gelu", true, nn::Activation::gelu_tanh, false}}) {
    SCOPED_TRACE(v.name);
    Generator gen(42);
    nn::TransformerEncoderLayer layer(4, 2, gen, small_layer(v.norm_first, v.activation));
    perturb_norms(layer, gen);
    expect_derivatives(v.name, [&](const std::vector<Tensor>& in) { return layer(in[0], mask, v.causal); },
                       with_parameters({leaf({2, 4, 4}, gen)}, layer), kLayerCheck, kLayerCheckFast);
  }
}

TEST(TransformerEncoderLayer, PaddingDoesNotReachRealPositions) {
  // Whatever sits at padding positions, the real positions' outputs are the same, bit for bit.
  Generator gen(43);
  nn::TransformerEncoderLayer layer(8, 2, gen, {.dim_feedforward = 16, .dropout = 0.0, .dtype = f64});
  const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
  Tensor x = leaf({2, 5, 8}, gen);
  const auto before = layer(x, mask).to_vector();
  std::vector<double> changed = x.to_vector();
  for (std::size_t t : {3u, 4u})
    for (std::size_t d = 0; d < 8; ++d) changed[t * 8 + d] += 10.0;
  const auto after = layer(Tensor::from(changed, {2, 5, 8}, f64), mask).to_vector();
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t t = 0; t < 5; ++t) {
      const bool real = mask.to_vector()[b * 5 + t] != 0;
      for (std::size_t d = 0; d < 8; ++d) {
        const std::size_t i = (b * 5 + t) * 8 + d;
        if (real) {
          EXPECT_EQ(before[i], after[i]) << "b " << b << " t " << t;
        }
      }
    }
  EXPECT_NE(before[3 * 8], after[3 * 8]);  // the padding positions themselves did change
}

TEST(TransformerEncoderLayer, DropoutOnlyInTraining) {
  Generator gen(44);
  nn::TransformerEncoderLayer layer(4, 2, gen, small_layer(false, nn::Activation::relu, 0.3));
  const Tensor x = leaf({2, 5, 4}, gen);
  const auto without = nn::transformer_encoder_layer(x, layer.weights(), 2, layer.options(), false).to_vector();
  layer.eval();
  EXPECT_EQ(layer(x).to_vector(), without);
  layer.train();
  EXPECT_NE(layer(x).to_vector(), without);
}

TEST(TransformerEncoderLayer, PostAndPreLNFollowTheirEquations) {
  // The block against the same equations written with the module's own sub-modules.
  Generator gen(45);
  const Tensor x = leaf({2, 3, 4}, gen);
  for (bool norm_first : {false, true}) {
    nn::TransformerEncoderLayer layer(4, 2, gen, small_layer(norm_first, nn::Activation::relu));
    perturb_norms(layer, gen);
    const auto w = layer.weights();
    auto norm = [&](const Tensor& t, const Tensor& g, const Tensor& b) { return layer_norm(t, g, b, 1e-5); };
    auto sa = [&](const Tensor& t) { return layer.self_attn->self_attention(t).context; };
    auto ff = [&](const Tensor& t) { return (*layer.linear2)(relu((*layer.linear1)(t))); };
    Tensor want;
    if (norm_first) {
      const Tensor h = x + sa(norm(x, w.norm1_weight, w.norm1_bias));
      want = h + ff(norm(h, w.norm2_weight, w.norm2_bias));
    } else {
      const Tensor h = norm(x + sa(x), w.norm1_weight, w.norm1_bias);
      want = norm(h + ff(h), w.norm2_weight, w.norm2_bias);
    }
    EXPECT_EQ(layer(x).to_vector(), want.to_vector()) << (norm_first ? "pre-LN" : "post-LN");
  }
}

TEST(TransformerEncoderLayer, BadInputsNameTheLayerAndTheShapes) {
  Generator gen(46);
  expect_error([&] { nn::TransformerEncoderLayer(6, 4, gen); }, {"MultiheadAttention", "embed_dim 6", "num_heads 4"});
  expect_error([&] { nn::TransformerEncoderLayer(8, 2, gen, {.dropout = 1.0}); }, {"TransformerEncoderLayer", "dropout"});
  nn::TransformerEncoderLayer layer(4, 2, gen, small_layer(false, nn::Activation::relu));
  expect_error([&] { layer(leaf({2, 3, 5}, gen)); }, {"TransformerEncoderLayer", "input [2,3,5]", "d_model 4"});
  expect_error([&] { layer(leaf({3, 4}, gen)); }, {"TransformerEncoderLayer", "input [3,4]"});
  expect_error([&] { layer(leaf({2, 3, 4}, gen), Tensor::from_indices({1, 1, 1}, {1, 3})); },
               {"MultiheadAttention", "padding mask [1,3]"});
}

TEST(TransformerEncoder, StacksLayersWithTorchNames) {
  Generator gen(47);
  nn::TransformerEncoder encoder(4, 2, 2, gen,
                                 {.layer = small_layer(true, nn::Activation::relu), .final_norm = true});
  const auto named = encoder.named_parameters();
  EXPECT_EQ(named.size(), 2u * 12u + 2u);
  EXPECT_EQ(named.front().first, "layers.0.self_attn.in_proj_weight");
  EXPECT_EQ(named[12].first, "layers.1.self_attn.in_proj_weight");
  EXPECT_EQ(named[named.size() - 2].first, "norm.weight");
  EXPECT_EQ(named.back().first, "norm.bias");
  EXPECT_NE(encoder.layers[0]->self_attn->in_proj_weight.to_vector(),
            encoder.layers[1]->self_attn->in_proj_weight.to_vector());

  const Tensor x = leaf({2, 3, 4}, gen);
  const Tensor mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {2, 3});
  const Tensor y = encoder(x, mask);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  const Tensor by_hand = layer_norm((*encoder.layers[1])((*encoder.layers[0])(x, mask), mask),
                                    encoder.parameter("norm.weight"), encoder.parameter("norm.bias"), 1e-5);
  EXPECT_EQ(y.to_vector(), by_hand.to_vector());
  encoder.eval();
  EXPECT_FALSE(encoder.layers[1]->self_attn->is_training());
}

TEST(TransformerEncoder, GradientsReachEveryLayer) {
  Generator gen(48);
  nn::TransformerEncoder encoder(4, 2, 2, gen, {.layer = small_layer(false, nn::Activation::relu)});
  std::vector<Tensor> inputs = {leaf({1, 3, 4}, gen)};
  for (const auto& p : encoder.parameters()) inputs.push_back(p);
  const GradCheckResult r = gradcheck("encoder", [&](const std::vector<Tensor>& in) { return encoder(in[0]); },
                                      inputs, kLayerCheckFast);
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(PositionalEncoding, FollowsTheSinusoidFormula) {
  const std::size_t D = 7;  // odd: the last column is a sine without its cosine
  const Tensor pe = nn::sinusoidal_positional_encoding(6, D, f64);
  EXPECT_EQ(pe.shape(), (Shape{6, D}));
  EXPECT_FALSE(pe.requires_grad());
  const auto v = pe.to_vector();
  for (std::size_t pos = 0; pos < 6; ++pos)
    for (std::size_t i = 0; 2 * i < D; ++i) {
      const double angle = pos / std::pow(10000.0, 2.0 * i / D);
      EXPECT_DOUBLE_EQ(v[pos * D + 2 * i], std::sin(angle));
      if (2 * i + 1 < D) {
        EXPECT_DOUBLE_EQ(v[pos * D + 2 * i + 1], std::cos(angle));
      }
    }
  // Position 0 is [0, 1, 0, 1, ...]; the first pair turns at one radian per position.
  EXPECT_EQ(v[0], 0.0);
  EXPECT_EQ(v[1], 1.0);
  EXPECT_DOUBLE_EQ(v[2 * D], std::sin(2.0));
  EXPECT_EQ(nn::sinusoidal_positional_encoding(3, 4).dtype(), DType::f32);
}
