// Incremental decoding with TransformerDecoder::start / step / reorder: every step equals the causal
// forward over the prefix at its last position (post-LN and pre-LN, float64 and float32, with memory
// padding), reordering the cache equals decoding the reordered batch from scratch, gradients through
// the steps equal forward's, and bad inputs name the op and the shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/transformer_decoder.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/expect_error.hpp"
#include "transformer_layers.hpp"

using namespace seqgrad;
using seqgrad::test_support::expect_error;
using seqgrad::test_support::small_layer;

namespace {

constexpr std::size_t kDModel = 8, kHeads = 2, kLayers = 2, kBatch = 2, kSource = 5;

nn::TransformerDecoder small_decoder(bool norm_first, DType dtype, Generator& gen) {
  nn::TransformerLayerOptions layer = small_layer(norm_first, nn::Activation::gelu_tanh);
  layer.dtype = dtype;
  // Pre-LN stacks end with a norm, as torch's do; post-LN ones end normalised already.
  return nn::TransformerDecoder(kDModel, kHeads, kLayers, gen, {.layer = layer, .final_norm = norm_first});
}

// Sequence 1's last two memory positions are padding.
Tensor memory_mask() { return Tensor::from_indices({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {kBatch, kSource}); }

// Largest |a - b| over all elements.
double max_difference(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0.0;
  for (std::size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::abs(va[i] - vb[i]));
  return worst;
}

// Steps 33 positions and compares each step with position t of forward over positions 0..t.
void expect_steps_equal_prefix_forwards(bool norm_first, DType dtype, double tolerance) {
  constexpr std::size_t T = 33;
  Generator gen(norm_first ? 70 : 71);
  const nn::TransformerDecoder decoder = small_decoder(norm_first, dtype, gen);
  const Tensor x = rand_uniform({kBatch, T, kDModel}, -1.0, 1.0, dtype, gen);
  const Tensor memory = rand_uniform({kBatch, kSource, kDModel}, -1.0, 1.0, dtype, gen);
  NoGradGuard inference;
  nn::TransformerDecoderCache cache = decoder.start(memory, memory_mask());
  for (std::size_t t = 0; t < T; ++t) {
    SCOPED_TRACE("position " + std::to_string(t));
    const Tensor step = decoder.step(cache, narrow(x, 1, t, 1));
    const Tensor prefix = decoder(narrow(x, 1, 0, t + 1), memory, Tensor(), memory_mask());
    EXPECT_LE(max_difference(step, narrow(prefix, 1, t, 1)), tolerance);
    EXPECT_EQ(cache.positions, t + 1);
    EXPECT_EQ(cache.layers[1].self_attention.keys.shape(), (Shape{kBatch, kHeads, t + 1, kDModel / kHeads}));
  }
}

}  // namespace

TEST(TransformerDecoderCache, StepsEqualTheCausalForwardOverThePrefixPostLN) {
  expect_steps_equal_prefix_forwards(false, DType::f64, 1e-10);
  expect_steps_equal_prefix_forwards(false, DType::f32, 1e-5);
}

TEST(TransformerDecoderCache, StepsEqualTheCausalForwardOverThePrefixPreLN) {
  expect_steps_equal_prefix_forwards(true, DType::f64, 1e-10);
  expect_steps_equal_prefix_forwards(true, DType::f32, 1e-5);
}

TEST(TransformerDecoderCache, ReorderThenStepsEqualsTheReorderedBatchFromScratch) {
  // Beam search keeps some rows, repeats others and drops the rest: 3 rows become 4.
  constexpr std::size_t B = 3, before = 6, after = 5;
  Generator gen(72);
  const nn::TransformerDecoder decoder = small_decoder(true, DType::f64, gen);
  const Tensor x = rand_uniform({B, before, kDModel}, -1.0, 1.0, DType::f64, gen);
  const Tensor memory = rand_uniform({B, kSource, kDModel}, -1.0, 1.0, DType::f64, gen);
  const Tensor mask = Tensor::from_indices({1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0}, {B, kSource});
  const Tensor rows = Tensor::from_indices({2, 0, 2, 1}, {4});
  const Tensor x_after = rand_uniform({4, after, kDModel}, -1.0, 1.0, DType::f64, gen);
  NoGradGuard inference;

  nn::TransformerDecoderCache cache = decoder.start(memory, mask);
  for (std::size_t t = 0; t < before; ++t) decoder.step(cache, narrow(x, 1, t, 1));
  nn::TransformerDecoder::reorder(cache, rows);
  std::vector<Tensor> stepped;
  for (std::size_t t = 0; t < after; ++t) stepped.push_back(decoder.step(cache, narrow(x_after, 1, t, 1)));

  const Tensor whole = decoder(concat({index_select(x, 0, rows), x_after}, 1), index_select(memory, 0, rows),
                               Tensor(), index_select(mask, 0, rows));
  EXPECT_LE(max_difference(concat(stepped, 1), narrow(whole, 1, before, after)), 1e-10);
}

TEST(TransformerDecoderCache, GradientsThroughTheStepsEqualForwards) {
  constexpr std::size_t T = 7;
  Generator gen(73);
  nn::TransformerDecoder decoder = small_decoder(false, DType::f64, gen);
  const Tensor x = rand_uniform({kBatch, T, kDModel}, -1.0, 1.0, DType::f64, gen).requires_grad_();
  const Tensor memory = rand_uniform({kBatch, kSource, kDModel}, -1.0, 1.0, DType::f64, gen).requires_grad_();
  const Tensor upstream = rand_uniform({kBatch, T, kDModel}, -1.0, 1.0, DType::f64, gen);
  // Copies of every parameter's gradient, then x's and memory's (zero_grad reuses the buffers).
  auto gradients = [&](const Tensor& out) {
    decoder.zero_grad();
    for (Tensor t : {x, memory}) t.zero_grad();
    backward(out, upstream);
    std::vector<Tensor> g;
    for (const auto& [name, p] : decoder.named_parameters()) g.push_back(p.grad().clone());
    for (const Tensor& t : {x, memory}) g.push_back(t.grad().clone());
    return g;
  };
  const auto from_forward = gradients(decoder(x, memory, Tensor(), memory_mask()));
  nn::TransformerDecoderCache cache = decoder.start(memory, memory_mask());
  std::vector<Tensor> steps;
  for (std::size_t t = 0; t < T; ++t) steps.push_back(decoder.step(cache, narrow(x, 1, t, 1)));
  const auto from_steps = gradients(concat(steps, 1));
  ASSERT_EQ(from_steps.size(), from_forward.size());
  for (std::size_t i = 0; i < from_steps.size(); ++i) EXPECT_LE(max_difference(from_steps[i], from_forward[i]), 1e-10);
}

TEST(TransformerDecoderCache, BadInputsNameTheOpAndTheShapes) {
  Generator gen(74);
  const nn::TransformerDecoder decoder = small_decoder(false, DType::f64, gen);
  const Tensor memory = rand_uniform({kBatch, kSource, kDModel}, -1.0, 1.0, DType::f64, gen);
  expect_error([&] { decoder.start(rand_uniform({2, 5, 7}, -1.0, 1.0, DType::f64, gen)); },
               {"TransformerDecoder::start", "memory [2,5,7]", "d_model 8"});
  expect_error([&] { decoder.start(memory, Tensor::from_indices({1, 1, 1}, {1, 3})); },
               {"TransformerDecoder::start", "memory_padding_mask [1,3]", "memory [2,5,8]"});
  nn::TransformerDecoderCache cache = decoder.start(memory);
  expect_error([&] { decoder.step(cache, rand_uniform({2, 2, 8}, -1.0, 1.0, DType::f64, gen)); },
               {"TransformerDecoder::step", "x_t [2,2,8]", "[2, 1, 8]"});
  expect_error([&] { decoder.step(cache, rand_uniform({3, 1, 8}, -1.0, 1.0, DType::f64, gen)); },
               {"TransformerDecoder::step", "x_t [3,1,8]", "[2, 1, 8]"});
  expect_error([&] { decoder.step(cache, Tensor()); }, {"TransformerDecoder::step", "x_t (undefined)"});
  expect_error([&] { nn::TransformerDecoder::reorder(cache, Tensor::zeros({2}, DType::f64)); },
               {"TransformerDecoder::reorder", "indices [2]", "int64"});
  expect_error<std::out_of_range>([&] { nn::TransformerDecoder::reorder(cache, Tensor::from_indices({0, 2}, {2})); },
                                  {"index_select", "2"});
  nn::TransformerDecoderCache other;
  expect_error([&] { decoder.step(other, rand_uniform({2, 1, 8}, -1.0, 1.0, DType::f64, gen)); },
               {"TransformerDecoder::step", "cache holds 0 layers", "decoder 2"});
  // A failed step leaves the cache as it was: the next good step is position 0.
  const Tensor x0 = rand_uniform({2, 1, 8}, -1.0, 1.0, DType::f64, gen);
  EXPECT_LE(max_difference(decoder.step(cache, x0), decoder(x0, memory)), 1e-12);
  EXPECT_EQ(cache.positions, 1u);
}
