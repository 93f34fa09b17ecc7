// The attention family, scaled dot-product attention and multi-head attention: first and second
// derivatives against finite differences (float64, parameters and inputs), values against plain
// loops, masks (exactly zero weight and exactly zero gradient at padding), and errors that name the
// layer and the shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/attention.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/expect_error.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using seqgrad::test_support::expect_error;
using namespace seqgrad::test_support;

namespace {

// Sequence 0 has 3 real tokens of 5, sequence 1 all 5, sequence 2 one.
Tensor padding_mask() { return Tensor::from_indices({1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, {3, 5}); }
bool is_real(std::size_t b, std::size_t t) { return padding_mask().to_vector()[b * 5 + t] != 0.0; }

// The scorers with their sizes: query Dq, keys Dk.
struct ScorerCase {
  std::string name;
  std::shared_ptr<nn::Attention> layer;
  std::size_t query_dim, key_dim;
};

std::vector<ScorerCase> scorers(Generator& gen) {
  const nn::AttentionOptions f64_options{.dtype = f64};
  return {{"MeanContext", std::make_shared<nn::MeanContext>(), 4, 6},
          {"DotAttention", std::make_shared<nn::DotAttention>(), 6, 6},
          {"ScaledDotAttention", std::make_shared<nn::ScaledDotAttention>(), 6, 6},
          {"GeneralAttention", std::make_shared<nn::GeneralAttention>(4, 6, gen, f64_options), 4, 6},
          {"AdditiveAttention", std::make_shared<nn::AdditiveAttention>(4, 6, 3, gen, f64_options), 4, 6}};
}

// A leaf's gradient, or zeros when no backward reached it (MeanContext never looks at its keys).
std::vector<double> grad_of(const Tensor& t) {
  return t.grad().defined() ? t.grad().to_vector() : std::vector<double>(t.numel(), 0.0);
}

// context and weights side by side, [B, Dv + T], so one gradient check covers both outputs.
Tensor both_outputs(const nn::AttentionOutput& out) { return concat({out.context, out.weights}, 1); }

}  // namespace

// ---- the attention family ----

TEST(AttentionFamily, FirstAndSecondDerivativesOfEveryScorerMatchFiniteDifferences) {
  Generator gen(11);
  for (const auto& s : scorers(gen)) {
    SCOPED_TRACE(s.name);
    const Tensor query = leaf({3, s.query_dim}, gen), keys = leaf({3, 5, s.key_dim}, gen), values = leaf({3, 5, 2}, gen);
    std::vector<Tensor> inputs = {query, keys, values};
    for (const auto& p : s.layer->parameters()) inputs.push_back(p);
    const Tensor mask = padding_mask();
    expect_derivatives(s.name, [&](const std::vector<Tensor>& in) {
      return both_outputs(s.layer->forward(in[0], in[1], in[2], mask));
    }, inputs);
  }
}

TEST(AttentionFamily, WeightsFollowTheScoreDefinitions) {
  // Each scorer's weights against a plain-loop softmax of its score formula over the real tokens.
  Generator gen(12);
  for (const auto& s : scorers(gen)) {
    SCOPED_TRACE(s.name);
    const Tensor query = leaf({3, s.query_dim}, gen), keys = leaf({3, 5, s.key_dim}, gen), values = leaf({3, 5, 2}, gen);
    const auto q = query.to_vector(), k = keys.to_vector(), v = values.to_vector();
    const std::size_t Dq = s.query_dim, Dk = s.key_dim;
    auto score = [&](std::size_t b, std::size_t t) {
      const double* h = &k[(b * 5 + t) * Dk];
      const double* sq = &q[b * Dq];
      if (s.name == "MeanContext") return 0.0;
      if (s.name == "DotAttention" || s.name == "ScaledDotAttention") {
        double dot = 0;
        for (std::size_t i = 0; i < Dk; ++i) dot += sq[i] * h[i];
        return s.name == "DotAttention" ? dot : dot / std::sqrt(double(Dk));
      }
      if (s.name == "GeneralAttention") {  // s^T W h
        const auto W = s.layer->parameter("W").to_vector();
        double total = 0;
        for (std::size_t i = 0; i < Dq; ++i)
          for (std::size_t j = 0; j < Dk; ++j) total += sq[i] * W[i * Dk + j] * h[j];
        return total;
      }
      // v^T tanh(W_h h + W_s s + b_s)
      const auto W_h = s.layer->parameter("W_h").to_vector(), W_s = s.layer->parameter("W_s").to_vector();
      const auto b_s = s.layer->parameter("b_s").to_vector(), vv = s.layer->parameter("v").to_vector();
      double total = 0;
      for (std::size_t a = 0; a < vv.size(); ++a) {
        double e = b_s[a];
        for (std::size_t j = 0; j < Dk; ++j) e += W_h[a * Dk + j] * h[j];
        for (std::size_t i = 0; i < Dq; ++i) e += W_s[a * Dq + i] * sq[i];
        total += vv[a] * std::tanh(e);
      }
      return total;
    };
    const auto out = s.layer->forward(query, keys, values, padding_mask());
    const auto w = out.weights.to_vector(), ctx = out.context.to_vector();
    for (std::size_t b = 0; b < 3; ++b) {
      double norm = 0;
      for (std::size_t t = 0; t < 5; ++t) norm += is_real(b, t) ? std::exp(score(b, t)) : 0.0;
      std::vector<double> want_ctx(2, 0.0);
      for (std::size_t t = 0; t < 5; ++t) {
        const double want = is_real(b, t) ? std::exp(score(b, t)) / norm : 0.0;
        EXPECT_NEAR(w[b * 5 + t], want, 1e-12) << "b " << b << " t " << t;
        for (std::size_t d = 0; d < 2; ++d) want_ctx[d] += want * v[(b * 5 + t) * 2 + d];
      }
      for (std::size_t d = 0; d < 2; ++d) EXPECT_NEAR(ctx[b * 2 + d], want_ctx[d], 1e-12);
    }
  }
}

TEST(AttentionFamily, PaddingGetsExactlyZeroWeightAndZeroGradient) {
  Generator gen(13);
  for (const auto& s : scorers(gen)) {
    SCOPED_TRACE(s.name);
    const Tensor query = leaf({3, s.query_dim}, gen), keys = leaf({3, 5, s.key_dim}, gen), values = leaf({3, 5, 2}, gen);
    const auto out = s.layer->forward(query, keys, values, padding_mask());
    backward(sum(out.context * randn({3, 2}, f64, gen)) + sum(out.weights * randn({3, 5}, f64, gen)));
    const auto w = out.weights.to_vector(), dk = grad_of(keys), dv = grad_of(values);
    for (std::size_t b = 0; b < 3; ++b)
      for (std::size_t t = 0; t < 5; ++t) {
        double key_grad = 0, value_grad = 0;
        for (std::size_t i = 0; i < s.key_dim; ++i) key_grad += std::abs(dk[(b * 5 + t) * s.key_dim + i]);
        for (std::size_t i = 0; i < 2; ++i) value_grad += std::abs(dv[(b * 5 + t) * 2 + i]);
        if (is_real(b, t)) {
          EXPECT_GT(w[b * 5 + t], 0.0);
          EXPECT_GT(value_grad, 0.0);
        } else {
          EXPECT_EQ(w[b * 5 + t], 0.0) << "b " << b << " t " << t;
          EXPECT_EQ(key_grad, 0.0) << "b " << b << " t " << t;
          EXPECT_EQ(value_grad, 0.0) << "b " << b << " t " << t;
        }
      }
  }
}

TEST(AttentionFamily, MeanContextIsTheAverageOfTheRealValues) {
  Generator gen(14);
  const Tensor values = leaf({3, 5, 4}, gen);
  const auto out = nn::MeanContext()(Tensor(), values, values, padding_mask());
  const auto v = values.to_vector(), ctx = out.context.to_vector();
  for (std::size_t b = 0; b < 3; ++b) {
    std::size_t n = 0;
    for (std::size_t t = 0; t < 5; ++t) n += is_real(b, t);
    for (std::size_t d = 0; d < 4; ++d) {
      double total = 0;
      for (std::size_t t = 0; t < 5; ++t) total += is_real(b, t) ? v[(b * 5 + t) * 4 + d] : 0.0;
      EXPECT_NEAR(ctx[b * 4 + d], total / n, 1e-15);
    }
    for (std::size_t t = 0; t < 5; ++t) EXPECT_EQ(out.weights.to_vector()[b * 5 + t], is_real(b, t) ? 1.0 / n : 0.0);
  }
}

TEST(AttentionFamily, PrecomputedKeysServeEveryDecoderStep) {
  Generator gen(15);
  nn::AdditiveAttention additive(4, 6, 3, gen, {.dtype = f64});
  nn::GeneralAttention general(4, 6, gen, {.dtype = f64});
  Tensor keys = leaf({3, 5, 6}, gen);
  const Tensor values = leaf({3, 5, 2}, gen);
  for (nn::Attention* layer : std::vector<nn::Attention*>{&additive, &general}) {
    const nn::ProjectedKeys projected = layer->precompute_keys(keys);
    for (int step = 0; step < 3; ++step) {
      const Tensor query = leaf({3, 4}, gen);
      const auto reused = layer->forward(query, projected, values, padding_mask());
      const auto fresh = layer->forward(query, keys, values, padding_mask());
      EXPECT_EQ(reused.context.to_vector(), fresh.context.to_vector());
      EXPECT_EQ(reused.weights.to_vector(), fresh.weights.to_vector());
    }
  }
  // The projection's gradient sums over the steps that reused it.
  const nn::ProjectedKeys projected = additive.precompute_keys(keys);
  const Tensor q1 = leaf({3, 4}, gen), q2 = leaf({3, 4}, gen);
  backward(sum(additive.forward(q1, projected, values).context) + sum(additive.forward(q2, projected, values).context));
  const auto both_steps = keys.grad().to_vector();
  keys.zero_grad();
  backward(sum(additive(q1, keys, values).context));
  backward(sum(additive(q2, keys, values).context));
  const auto separately = keys.grad().to_vector();
  for (std::size_t i = 0; i < both_steps.size(); ++i) EXPECT_NEAR(both_steps[i], separately[i], 1e-14);
}

TEST(AttentionFamily, BoolAndIntegerMasksAgree) {
  Generator gen(16);
  nn::AdditiveAttention layer(4, 6, 3, gen, {.dtype = f64});
  const Tensor query = leaf({3, 4}, gen), keys = leaf({3, 5, 6}, gen);
  const Tensor bool_mask = ne(padding_mask(), Tensor::from_indices({0}, {1}));
  ASSERT_EQ(bool_mask.dtype(), DType::b8);
  EXPECT_EQ(layer(query, keys, keys, bool_mask).weights.to_vector(),
            layer(query, keys, keys, padding_mask()).weights.to_vector());
  // No mask: every position is real.
  const auto all_real = Tensor::from_indices(std::vector<std::int64_t>(15, 1), {3, 5});
  EXPECT_EQ(layer(query, keys, keys).weights.to_vector(), layer(query, keys, keys, all_real).weights.to_vector());
}

TEST(AttentionFamily, ParametersHaveTheGoldenNames) {
  Generator gen(17);
  nn::AdditiveAttention additive(4, 6, 3, gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : additive.named_parameters()) names.push_back(name + to_string(p.shape()));
  EXPECT_EQ(names, (std::vector<std::string>{"W_h[3,6]", "W_s[3,4]", "b_s[3]", "v[3]"}));
  EXPECT_EQ(nn::GeneralAttention(4, 6, gen).parameter("W").shape(), (Shape{4, 6}));
  EXPECT_EQ(nn::DotAttention().num_parameters(), 0u);
}

TEST(AttentionFamily, BadInputsNameTheLayerAndTheShapes) {
  Generator gen(18);
  nn::AdditiveAttention additive(4, 6, 3, gen, {.dtype = f64});
  nn::DotAttention dot;
  const Tensor query = leaf({3, 4}, gen), keys = leaf({3, 5, 6}, gen);
  expect_error([&] { additive(leaf({3, 5}, gen), keys, keys); }, {"AdditiveAttention", "query [3,5]", "[3, 4]"});
  expect_error([&] { additive(leaf({2, 4}, gen), keys, keys); }, {"AdditiveAttention", "query [2,4]", "[3, 4]"});
  expect_error([&] { additive(query, leaf({3, 5, 7}, gen), keys); }, {"AdditiveAttention", "keys [3,5,7]", "W_h is [3,6]"});
  expect_error([&] { additive(query, keys, leaf({3, 4, 6}, gen)); }, {"AdditiveAttention", "values [3,4,6]", "[3, 5, Dv]"});
  expect_error([&] { dot(query, keys, keys); }, {"DotAttention", "query [3,4]", "[3, 6]", "keys' size 6"});
  expect_error([&] { additive(query, keys, keys, Tensor::from_indices({1, 1}, {1, 2})); },
               {"AdditiveAttention", "padding mask [1,2]", "[3, 5]"});
  expect_error([&] { additive(query, keys, keys, Tensor::from_indices(std::vector<std::int64_t>(15, 2), {3, 5})); },
               {"AdditiveAttention", "holds 2"});
  // A sequence with no real token has no softmax.
  auto no_real = padding_mask().to_vector();
  std::vector<std::int64_t> ids(no_real.begin(), no_real.end());
  ids[10] = 0;
  expect_error([&] { additive(query, keys, keys, Tensor::from_indices(ids, {3, 5})); },
               {"AdditiveAttention", "sequence 2", "no key to attend to"});
  nn::AdditiveAttention other(4, 6, 3, gen, {.dtype = f64});
  expect_error([&] { additive.forward(query, other.precompute_keys(keys), keys); },
               {"AdditiveAttention", "another attention layer"});
  expect_error([&] { nn::AdditiveAttention({leaf({3, 6}, gen), leaf({2, 4}, gen), leaf({3}, gen), leaf({3}, gen)}); },
               {"AdditiveAttention", "W_s [2,4]"});
}

// ---- scaled dot-product attention ----

TEST(ScaledDotProductAttention, FirstAndSecondDerivativesMatchFiniteDifferences) {
  Generator gen(21);
  const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 1, 1, 1, 1}, {2, 4});
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "padding only");
    const Tensor q = leaf({2, 3, 5}, gen), k = leaf({2, 4, 5}, gen), v = leaf({2, 4, 3}, gen);
    expect_derivatives("sdpa", [&](const std::vector<Tensor>& in) {
      const auto out = nn::scaled_dot_product_attention(in[0], in[1], in[2], mask, {.causal = causal});
      return concat({out.context, out.weights}, 2);
    }, {q, k, v});
    // Head-batched: [B, H, T, d]; second derivatives in fast mode.
    const Tensor qh = leaf({2, 2, 3, 5}, gen), kh = leaf({2, 2, 4, 5}, gen), vh = leaf({2, 2, 4, 3}, gen);
    expect_derivatives("sdpa heads", [&](const std::vector<Tensor>& in) {
      const auto out = nn::scaled_dot_product_attention(in[0], in[1], in[2], mask, {.causal = causal});
      return concat({out.context, out.weights}, 3);
    }, {qh, kh, vh}, kLayerCheck, kLayerCheckFast);
  }
}

TEST(ScaledDotProductAttention, CausalAndPaddingPlacesGetExactlyZero) {
  Generator gen(22);
  const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 1, 1, 1, 1}, {2, 4});
  const Tensor q = leaf({2, 4, 3}, gen), k = leaf({2, 4, 3}, gen), v = leaf({2, 4, 2}, gen);
  const auto out = nn::scaled_dot_product_attention(q, k, v, mask, {.causal = true});
  const auto w = out.weights.to_vector();
  const auto m = mask.to_vector();
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 4; ++i) {
      double row = 0;
      for (std::size_t j = 0; j < 4; ++j) {
        const double wij = w[(b * 4 + i) * 4 + j];
        row += wij;
        if (j > i || m[b * 4 + j] == 0) EXPECT_EQ(wij, 0.0) << b << " " << i << " " << j;
        else EXPECT_GT(wij, 0.0);
      }
      EXPECT_NEAR(row, 1.0, 1e-14);
    }
  // The padded key (sequence 0, position 3) and its value get no gradient.
  backward(sum(out.context * randn({2, 4, 2}, f64, gen)));
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(k.grad().to_vector()[3 * 3 + i], 0.0);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(v.grad().to_vector()[3 * 2 + i], 0.0);
}

TEST(ScaledDotProductAttention, HeadBatchedEqualsOneCallPerHead) {
  Generator gen(23);
  const Tensor mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {2, 3});
  const Tensor q = leaf({2, 3, 2, 4}, gen), k = leaf({2, 3, 3, 4}, gen), v = leaf({2, 3, 3, 2}, gen);
  const auto all = nn::scaled_dot_product_attention(q, k, v, mask, {.causal = true});
  for (std::size_t h = 0; h < 3; ++h) {
    auto head = [&](const Tensor& t) { return squeeze(narrow(t, 1, h, 1), 1); };
    const auto one = nn::scaled_dot_product_attention(head(q), head(k), head(v), mask, {.causal = true});
    EXPECT_EQ(head(all.context).to_vector(), one.context.to_vector()) << "head " << h;
    EXPECT_EQ(head(all.weights).to_vector(), one.weights.to_vector()) << "head " << h;
  }
}

TEST(ScaledDotProductAttention, BadInputsAreErrors) {
  Generator gen(24);
  const Tensor q = leaf({2, 3, 4}, gen), k = leaf({2, 5, 4}, gen), v = leaf({2, 5, 6}, gen);
  expect_error([&] { nn::scaled_dot_product_attention(q, leaf({2, 5, 3}, gen), v); },
               {"scaled_dot_product_attention", "k [2,5,3]", "different sizes d"});
  expect_error([&] { nn::scaled_dot_product_attention(q, k, leaf({2, 4, 6}, gen)); }, {"v [2,4,6]", "lengths"});
  expect_error([&] { nn::scaled_dot_product_attention(q, leaf({3, 5, 4}, gen), leaf({3, 5, 6}, gen)); }, {"batch"});
  expect_error([&] { nn::scaled_dot_product_attention(q, k, v, Tensor::from_indices({1, 1, 1}, {1, 3})); },
               {"padding mask [1,3]", "[2, 5]"});
  // Left padding with a causal mask leaves the first query nothing to see.
  expect_error([&] {
    nn::scaled_dot_product_attention(q, leaf({2, 3, 4}, gen), leaf({2, 3, 6}, gen),
                                     Tensor::from_indices({0, 1, 1, 1, 1, 1}, {2, 3}), {.causal = true});
  }, {"query 0 of sequence 0", "no key to attend to"});
}

// ---- multi-head attention ----

TEST(MultiheadAttention, ParametersFollowTorch) {
  Generator gen(31);
  nn::MultiheadAttention mha(8, 2, gen);
  std::vector<std::string> names;
  for (const auto& [name, p] : mha.named_parameters()) names.push_back(name + to_string(p.shape()));
  EXPECT_EQ(names, (std::vector<std::string>{"in_proj_weight[24,8]", "in_proj_bias[24]", "out_proj.weight[8,8]",
                                             "out_proj.bias[8]"}));
  EXPECT_EQ(mha.in_proj_bias.to_vector(), std::vector<double>(24, 0.0));
  EXPECT_EQ(mha.out_proj->bias.to_vector(), std::vector<double>(8, 0.0));
  const double glorot = std::sqrt(6.0 / (24 + 8));
  for (double w : mha.in_proj_weight.to_vector()) EXPECT_LE(std::abs(w), glorot);
  EXPECT_EQ(nn::MultiheadAttention(8, 2, gen, {.bias = false}).named_parameters().size(), 2u);
}

TEST(MultiheadAttention, SelfAttentionFirstAndSecondDerivativesMatchFiniteDifferences) {
  Generator gen(32);
  nn::MultiheadAttention mha(4, 2, gen, {.dtype = f64});
  const Tensor mask = Tensor::from_indices({1, 1, 0, 1, 1, 1}, {2, 3});
  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "padding only");
    std::vector<Tensor> inputs = {leaf({2, 3, 4}, gen)};
    for (const auto& p : mha.parameters()) inputs.push_back(p);
    expect_derivatives("mha self", [&](const std::vector<Tensor>& in) {
      const auto out = mha.self_attention(in[0], mask, causal);
      return concat({reshape(out.context, {2, 12}), reshape(out.weights, {2, 18})}, 1);
    }, inputs);
  }
}

TEST(MultiheadAttention, CrossAttentionFirstAndSecondDerivativesMatchFiniteDifferences) {
  Generator gen(33);
  nn::MultiheadAttention mha(4, 2, gen, {.dtype = f64});
  const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 1, 1, 1, 1}, {2, 4});
  const Tensor query = leaf({2, 3, 4}, gen), memory = leaf({2, 4, 4}, gen), value = leaf({2, 4, 4}, gen);
  auto outputs = [](const nn::AttentionOutput& out) {
    return concat({reshape(out.context, {2, 12}), reshape(out.weights, {2, 24})}, 1);
  };
  std::vector<Tensor> params = mha.parameters();
  std::vector<Tensor> inputs = {query, memory, value};
  inputs.insert(inputs.end(), params.begin(), params.end());
  // key and value one tensor (encoder memory), then three different tensors; second derivatives in
  // fast mode.
  const GradCheckOptions fast = kLayerCheckFast;
  expect_derivatives("mha cross, key = value", [&](const std::vector<Tensor>& in) {
    return outputs(mha(in[0], in[1], in[1], mask));
  }, inputs, {}, fast);
  expect_derivatives("mha cross, key != value", [&](const std::vector<Tensor>& in) {
    return outputs(mha(in[0], in[1], in[2], mask));
  }, inputs, {}, fast);
}

TEST(MultiheadAttention, SeparateProjectionsEqualTheFusedOne) {
  // Same values passed as three tensors take the per-projection path; as one tensor, the fused one.
  Generator gen(34);
  nn::MultiheadAttention mha(8, 4, gen, {.dtype = f64});
  const Tensor x = leaf({2, 5, 8}, gen);
  const Tensor mask = Tensor::from_indices({1, 1, 1, 1, 0, 1, 1, 1, 1, 1}, {2, 5});
  const auto fused = mha.self_attention(x, mask, true);
  const auto separate = mha(x.clone(), x.clone(), x.clone(), mask, true);
  const auto kv_fused = mha(x.clone(), x, x, mask, true);
  for (const auto* other : {&separate, &kv_fused}) {
    const auto a = fused.context.to_vector(), b = other->context.to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-14);
    const auto wa = fused.weights.to_vector(), wb = other->weights.to_vector();
    for (std::size_t i = 0; i < wa.size(); ++i) EXPECT_NEAR(wa[i], wb[i], 1e-14);
  }
}

TEST(MultiheadAttention, ItsStepsGiveTheWholeComputation) {
  // Cross-attention with the memory's keys and values projected once, then attended to.
  Generator gen(39);
  nn::MultiheadAttention mha(8, 4, gen, {.dtype = f64});
  const auto w = mha.weights();
  const Tensor query = leaf({2, 3, 8}, gen), memory = leaf({2, 5, 8}, gen);
  const Tensor mask = Tensor::from_indices({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
  const nn::MultiheadKeysValues kv = nn::multi_head_keys_values(memory, memory, w, 4);
  EXPECT_EQ(kv.keys.shape(), (Shape{2, 4, 5, 2}));
  EXPECT_EQ(kv.values.shape(), (Shape{2, 4, 5, 2}));
  const auto steps = nn::multi_head_attend(nn::multi_head_queries(query, w, 4), kv, w, mask);
  const auto whole = mha(query, memory, memory, mask);
  EXPECT_EQ(steps.context.to_vector(), whole.context.to_vector());
  EXPECT_EQ(steps.weights.to_vector(), whole.weights.to_vector());
}

TEST(MultiheadAttention, OnePositionAtATimeWithGrowingKeysAndValues) {
  // What a step-by-step decoder keeps: position t's keys and values appended to the earlier ones',
  // its query attending over all of them (no causal mask: it is the last) is causal self-attention at t.
  Generator gen(40);
  nn::MultiheadAttention mha(8, 2, gen, {.dtype = f64});
  const auto w = mha.weights();
  const Tensor x = leaf({2, 4, 8}, gen);
  const auto whole = mha.self_attention(x, Tensor(), true).context.to_vector();  // [2, 4, 8]
  nn::MultiheadKeysValues cache;
  for (std::size_t t = 0; t < 4; ++t) {
    SCOPED_TRACE("position " + std::to_string(t));
    const nn::MultiheadProjections p = nn::multi_head_self_projections(narrow(x, 1, t, 1), w, 2);
    cache.keys = t == 0 ? p.keys_values.keys : concat({cache.keys, p.keys_values.keys}, 2);
    cache.values = t == 0 ? p.keys_values.values : concat({cache.values, p.keys_values.values}, 2);
    EXPECT_EQ(cache.keys.shape(), (Shape{2, 2, t + 1, 4}));
    const auto step = nn::multi_head_attend(p.queries, cache, w).context.to_vector();  // [2, 1, 8]
    for (std::size_t b = 0; b < 2; ++b)
      for (std::size_t d = 0; d < 8; ++d) EXPECT_NEAR(step[b * 8 + d], whole[(b * 4 + t) * 8 + d], 1e-14);
  }
}

TEST(MultiheadAttention, ItsStepsCheckTheirInputs) {
  Generator gen(41);
  nn::MultiheadAttention mha(4, 2, gen, {.dtype = f64});
  const auto w = mha.weights();
  expect_error([&] { nn::multi_head_queries(leaf({2, 3, 5}, gen), w, 2, "Decoder cross"); },
               {"Decoder cross", "query [2,3,5]", "embed_dim 4"});
  expect_error([&] { nn::multi_head_keys_values(leaf({2, 3, 4}, gen), leaf({2, 4, 4}, gen), w, 2); },
               {"MultiheadAttention", "key [2,3,4]", "value [2,4,4]", "lengths differ"});
  expect_error([&] { nn::multi_head_self_projections(leaf({2, 3, 4}, gen), w, 3); },
               {"MultiheadAttention", "embed_dim 4", "num_heads 3"});
  const Tensor q = nn::multi_head_queries(leaf({2, 3, 4}, gen), w, 2);  // [2, 2, 3, 2]
  const Tensor memory = leaf({2, 5, 4}, gen);
  const nn::MultiheadKeysValues kv = nn::multi_head_keys_values(memory, memory, w, 2);
  expect_error([&] { nn::multi_head_attend(reshape(q, {2, 3, 4}), kv, w); },
               {"MultiheadAttention", "queries [2,3,4]", "[B, H, T, D/H]"});
  expect_error([&] { nn::multi_head_attend(q, {kv.keys, narrow(kv.values, 2, 0, 4)}, w); },
               {"keys [2,2,5,2]", "values [2,2,4,2]", "lengths differ"});
  expect_error([&] { nn::multi_head_attend(narrow(q, 0, 0, 1), kv, w); }, {"queries [1,2,3,2]", "batch"});
  expect_error([&] { nn::multi_head_attend(q, kv, w, Tensor::from_indices({1, 1, 1}, {1, 3}), {}, "Decoder cross"); },
               {"Decoder cross", "padding mask [1,3]", "[2, 5]"});
  expect_error([&] { nn::multi_head_attend(q, kv, w, Tensor(), {.dropout = 1.0}); }, {"MultiheadAttention", "dropout"});
}

TEST(MultiheadAttention, HeadsAreSlicesOfTheProjections) {
  // Head h of the weights equals softmax(q_h k_h^T / sqrt(hd)) over the h-th slice of q and k.
  Generator gen(35);
  nn::MultiheadAttention mha(6, 3, gen, {.dtype = f64});
  const Tensor x = leaf({1, 4, 6}, gen);
  const auto out = mha.self_attention(x);
  const Tensor qkv = linear(x, mha.in_proj_weight, mha.in_proj_bias);  // [1, 4, 18]
  for (std::size_t h = 0; h < 3; ++h) {
    const Tensor q = narrow(qkv, 2, 2 * h, 2), k = narrow(qkv, 2, 6 + 2 * h, 2);
    const Tensor want = softmax(matmul(q, k, false, true) / std::sqrt(2.0), -1);
    const auto got = squeeze(narrow(out.weights, 1, h, 1), 1).to_vector(), w = want.to_vector();
    for (std::size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(got[i], w[i], 1e-14);
  }
}

TEST(MultiheadAttention, PaddedKeysGetExactlyZeroWeightAndGradient) {
  Generator gen(36);
  nn::MultiheadAttention mha(4, 2, gen, {.dtype = f64});
  const Tensor query = leaf({2, 3, 4}, gen), key = leaf({2, 4, 4}, gen), value = leaf({2, 4, 4}, gen);
  const Tensor mask = Tensor::from_indices({1, 1, 0, 0, 1, 1, 1, 1}, {2, 4});
  const auto out = mha(query, key, value, mask);
  backward(sum(out.context * randn({2, 3, 4}, f64, gen)) + sum(out.weights * randn({2, 2, 3, 4}, f64, gen)));
  const auto w = out.weights.to_vector(), dk = key.grad().to_vector(), dv = value.grad().to_vector();
  for (std::size_t i = 0; i < 2 * 3; ++i)  // every head and query of sequence 0
    for (std::size_t j : {2u, 3u}) EXPECT_EQ(w[i * 4 + j], 0.0);
  for (std::size_t j : {2u, 3u})
    for (std::size_t d = 0; d < 4; ++d) {
      EXPECT_EQ(dk[j * 4 + d], 0.0);
      EXPECT_EQ(dv[j * 4 + d], 0.0);
    }
  EXPECT_NE(dk[0], 0.0);
  EXPECT_NE(dv[0], 0.0);
}

TEST(MultiheadAttention, DropoutOnlyInTraining) {
  Generator gen(37);
  nn::MultiheadAttention mha(4, 2, gen, {.dropout = 0.5, .dtype = f64});
  const Tensor x = leaf({2, 6, 4}, gen);
  const auto no_dropout = nn::multi_head_attention(x, x, x, mha.weights(), 2).context.to_vector();
  mha.eval();
  EXPECT_EQ(mha.self_attention(x).context.to_vector(), no_dropout);
  mha.train();
  EXPECT_NE(mha.self_attention(x).context.to_vector(), no_dropout);
}

TEST(MultiheadAttention, BadInputsNameTheLayerAndTheShapes) {
  Generator gen(38);
  expect_error([&] { nn::MultiheadAttention(6, 4, gen); }, {"MultiheadAttention", "embed_dim 6", "num_heads 4"});
  nn::MultiheadAttention mha(4, 2, gen, {.dtype = f64});
  const Tensor x = leaf({2, 3, 4}, gen);
  expect_error([&] { mha.self_attention(leaf({2, 3, 5}, gen)); }, {"MultiheadAttention", "query [2,3,5]", "embed_dim 4"});
  expect_error([&] { mha(x, leaf({2, 4, 4}, gen), leaf({2, 5, 4}, gen)); },
               {"MultiheadAttention", "key [2,4,4]", "value [2,5,4]", "lengths differ"});
  expect_error([&] { mha(x, leaf({3, 4, 4}, gen), leaf({3, 4, 4}, gen)); }, {"MultiheadAttention", "batch"});
  expect_error([&] { mha.self_attention(x, Tensor::from_indices({1, 1}, {2, 1})); },
               {"MultiheadAttention", "padding mask [2,1]", "[2, 3]"});
}
