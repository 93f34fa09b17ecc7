// dropout, layer_norm, cross_entropy, gru_cell_gates and additive_attention_scores: values against
// hand computations, values and gradients against the same equations composed from primitive ops, the
// create_graph backward (written with ops) against the fast one, the training flag, ignore_index and
// label smoothing, and errors. Gradients against finite differences are checked through the catalogue.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "seqgrad/seqgrad.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using seqgrad::test_support::t64;

namespace {
using Values = std::vector<double>;
using Inputs = std::vector<Tensor>;
Tensor ids(std::vector<std::int64_t> v) { return Tensor::from_indices(v, {v.size()}); }

// Each fused op written with primitive ops, as its header states it: the references below.

// The mask as dropout draws it: element i is kept (scaled by 1/(1-p)) when the i-th uniform draw is >= p.
Tensor dropout_composed(const Tensor& x, double p, Generator& gen) {
  Values keep(x.numel());
  for (double& k : keep) k = gen.uniform() >= p ? 1.0 / (1.0 - p) : 0.0;
  return x * Tensor::from(keep, x.shape(), x.dtype());
}

Tensor layer_norm_composed(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5) {
  const Tensor y = (x - mean(x, {-1}, true)) / sqrt(var(x, {-1}, true) + eps);
  return bias.defined() ? y * weight + bias : weight.defined() ? y * weight : y;
}

// -sum(log_softmax(logits) * target distribution) / count, the distribution (1-s) one-hot + s/V on
// the counted rows and zero on the ignored ones.
Tensor cross_entropy_composed(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options = {}) {
  const std::size_t v = logits.shape().back(), rows = logits.numel() / v;
  const double s = options.label_smoothing;
  Values distribution(logits.numel(), 0.0);
  std::size_t counted = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::int64_t t = targets.data<std::int64_t>()[r];
    if (t == options.ignore_index) continue;
    ++counted;
    for (std::size_t j = 0; j < v; ++j) distribution[r * v + j] = s / double(v) + (j == std::size_t(t) ? 1 - s : 0.0);
  }
  const Tensor target = Tensor::from(distribution, logits.shape(), logits.dtype());
  return -sum(log_softmax(logits, -1) * target) / double(std::max<std::size_t>(counted, 1));
}

Tensor gru_cell_gates_composed(const Tensor& xp, const Tensor& hp, const Tensor& h) {
  const std::size_t H = h.size(1);
  const std::vector<Tensor> x = split(xp, H, 1), p = split(hp, H, 1);
  const Tensor r = sigmoid(x[0] + p[0]), z = sigmoid(x[1] + p[1]);
  const Tensor n = tanh(x[2] + r * p[2]);
  return (1.0 - z) * n + z * h;
}

Tensor additive_attention_scores_composed(const Tensor& keys, const Tensor& query, const Tensor& v) {
  const std::size_t B = keys.size(0), T = keys.size(1), A = keys.size(2);
  const Tensor energy = tanh(keys + reshape(query, {B, 1, A}));
  return reshape(matmul(energy, reshape(v, {A, 1})), {B, T});
}

// got == want element by element within tol times the largest magnitude in want: gradients such as
// layer_norm's are differences of terms far larger than themselves, where an elementwise relative
// tolerance would measure nothing but their rounding.
void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_TRUE(got.defined()) << what;
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const Values g = got.to_vector(), w = want.to_vector();
  double scale = 0;
  for (double x : w) scale = std::max(scale, std::abs(x));
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], w[i], tol * scale) << what << " element " << i;
}

// A float64 call of a fused op: its inputs (the floating ones become leaves wanting gradients) and
// a random upstream gradient of the result's shape.
struct Call {
  std::string name;
  std::function<Tensor(const Inputs&)> op;
  Inputs inputs;
};

std::vector<Tensor> floating(const Inputs& inputs) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs)
    if (is_floating(t.dtype())) out.push_back(t);
  return out;
}

// The inputs with the floating ones as leaves of `dtype` that want gradients.
Inputs as_leaves(const Inputs& inputs, DType dtype = DType::f64) {
  Inputs out;
  for (const Tensor& t : inputs) out.push_back(is_floating(t.dtype()) ? cast(t, dtype).clone().requires_grad_() : t);
  return out;
}

// d<f(inputs), upstream>/d(wrt), with the op's backward under create_graph or its fast raw one.
std::vector<Tensor> gradients(const Call& call, const Inputs& inputs, const std::vector<Tensor>& wrt,
                              const Tensor& upstream, bool create_graph) {
  return grad({call.op(inputs)}, wrt, {.grad_outputs = {upstream}, .create_graph = create_graph});
}

Tensor upstream_for(const Call& call, Generator& gen, DType dtype = DType::f64) {
  return rand_uniform(call.op(call.inputs).shape(), -1, 1, dtype, gen);
}

std::vector<Call> fused_calls() {
  Generator gen(11);
  auto u = [&](const Shape& shape, double lo = -2, double hi = 2) { return rand_uniform(shape, lo, hi, DType::f64, gen); };
  return {
      {"dropout", [](const Inputs& in) { Generator mask(42); return dropout(in[0], 0.3, true, mask); }, {u({4, 5})}},
      {"layer_norm with weight and bias", [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
       {u({3, 5}), u({5}), u({5})}},
      {"layer_norm with weight only", [](const Inputs& in) { return layer_norm(in[0], in[1], Tensor()); },
       {u({2, 2, 4}), u({4})}},
      {"layer_norm without weight and bias", [](const Inputs& in) { return layer_norm(in[0], Tensor(), Tensor()); },
       {u({3, 6})}},
      {"cross_entropy", [](const Inputs& in) { return cross_entropy(in[0], in[1]); },
       {u({4, 5}, -3, 3), ids({2, 0, 4, 1})}},
      {"cross_entropy ignore_index 0, label_smoothing 0.1",
       [](const Inputs& in) { return cross_entropy(in[0], in[1], {.ignore_index = 0, .label_smoothing = 0.1}); },
       {u({2, 3, 4}, -3, 3), Tensor::from_indices({1, 0, 3, 0, 2, 0}, {2, 3})}},
      {"cross_entropy every row ignored", [](const Inputs& in) { return cross_entropy(in[0], in[1]); },
       {u({2, 3}, -3, 3), ids({-100, -100})}},
      {"gru_cell_gates", [](const Inputs& in) { return gru_cell_gates(in[0], in[1], in[2]); },
       {u({3, 12}), u({3, 12}), u({3, 4}, -1, 1)}},
      {"additive_attention_scores", [](const Inputs& in) { return additive_attention_scores(in[0], in[1], in[2]); },
       {u({2, 3, 4}), u({2, 4}), u({4}, -1, 1)}},
  };
}

// The composition of each call in fused_calls(), the same inputs in the same order.
std::function<Tensor(const Inputs&)> composed(const std::string& name) {
  if (name == "dropout") return [](const Inputs& in) { Generator mask(42); return dropout_composed(in[0], 0.3, mask); };
  if (name == "layer_norm with weight and bias")
    return [](const Inputs& in) { return layer_norm_composed(in[0], in[1], in[2]); };
  if (name == "layer_norm with weight only")
    return [](const Inputs& in) { return layer_norm_composed(in[0], in[1], Tensor()); };
  if (name == "layer_norm without weight and bias")
    return [](const Inputs& in) { return layer_norm_composed(in[0], Tensor(), Tensor()); };
  if (name == "cross_entropy" || name == "cross_entropy every row ignored")
    return [](const Inputs& in) { return cross_entropy_composed(in[0], in[1]); };
  if (name == "cross_entropy ignore_index 0, label_smoothing 0.1")
    return [](const Inputs& in) {
      return cross_entropy_composed(in[0], in[1], {.ignore_index = 0, .label_smoothing = 0.1});
    };
  if (name == "gru_cell_gates") return [](const Inputs& in) { return gru_cell_gates_composed(in[0], in[1], in[2]); };
  if (name == "additive_attention_scores")
    return [](const Inputs& in) { return additive_attention_scores_composed(in[0], in[1], in[2]); };
  throw std::invalid_argument("no composition for " + name);
}

}  // namespace

// Each fused op against its equations composed from primitive ops: the value, and the gradient of
// every input (its fast backward against the primitives' backwards).
TEST(FusedNnOps, ValueAndGradientsMatchTheCompositionOfPrimitives) {
  Generator gen(12);
  for (const Call& call : fused_calls()) {
    const Call reference{call.name + " composed", composed(call.name), call.inputs};
    expect_close(call.op(call.inputs), reference.op(call.inputs), 1e-13, call.name + " value");
    const Tensor upstream = upstream_for(call, gen);
    const Inputs fused_in = as_leaves(call.inputs), composed_in = as_leaves(call.inputs);
    const std::vector<Tensor> got = gradients(call, fused_in, floating(fused_in), upstream, false);
    const std::vector<Tensor> want = gradients(reference, composed_in, floating(composed_in), upstream, false);
    for (std::size_t i = 0; i < got.size(); ++i)
      expect_close(got[i], want[i], 1e-12, call.name + " gradient of input " + std::to_string(i));
  }
}

// Under create_graph each fused op's backward is its formulas written with recorded ops, so that it
// can be differentiated again. To first order it must give what the fast backward gives: for all
// inputs at once and for each one alone (the formulas skip the inputs that need no gradient), in
// float64 to rounding and in float32 to float32's precision (its formulas run in float32). Every
// gradient is linear in the upstream gradient, which wants a gradient here (as in gradgradcheck), so
// each recorded one must have a history. The second derivatives themselves are checked against
// finite differences through the catalogue.
TEST(FusedNnOps, CreateGraphBackwardGivesTheFastBackwardsGradients) {
  Generator gen(13);
  for (const auto& [dtype, tol] : {std::pair{DType::f64, 1e-12}, std::pair{DType::f32, 1e-5}}) {
    for (const Call& call : fused_calls()) {
      const Tensor upstream = upstream_for(call, gen, dtype).requires_grad_();
      const Inputs in = as_leaves(call.inputs, dtype);
      const std::vector<Tensor> wrt = floating(in);
      std::vector<std::pair<std::string, std::vector<Tensor>>> subsets = {{"all inputs", wrt}};
      if (wrt.size() > 1)
        for (std::size_t k = 0; k < wrt.size(); ++k) subsets.push_back({"input " + std::to_string(k) + " alone", {wrt[k]}});
      for (const auto& [asked, subset] : subsets) {
        const std::vector<Tensor> raw = gradients(call, in, subset, upstream, false);
        const std::vector<Tensor> recorded = gradients(call, in, subset, upstream, true);
        ASSERT_EQ(recorded.size(), raw.size());
        for (std::size_t i = 0; i < raw.size(); ++i) {
          const std::string what = call.name + " in " + dtype_name(dtype) + ", " + asked + ": gradient " + std::to_string(i);
          EXPECT_TRUE(recorded[i].requires_grad()) << what << " has no history under create_graph";
          expect_close(recorded[i], raw[i], tol, what);
        }
      }
    }
  }
}

TEST(Dropout, IdentityInEvalAndScaledInTraining) {
  Tensor x = Tensor::ones({1000}, DType::f64);
  Generator gen(3);
  EXPECT_EQ(dropout(x, 0.5, false, gen).to_vector(), x.to_vector());
  Values y = dropout(x, 0.25, true, gen).to_vector();
  std::size_t zeros = 0;
  for (double v : y) {
    if (v == 0.0) ++zeros;
    else EXPECT_DOUBLE_EQ(v, 1.0 / 0.75);
  }
  EXPECT_GT(zeros, 180u);  // 250 expected; binomial sd ~14
  EXPECT_LT(zeros, 320u);
  EXPECT_EQ(dropout(x, 1.0, true, gen).to_vector(), Values(1000, 0.0));
  EXPECT_THROW(dropout(x, 1.5, true, gen), std::invalid_argument);
}

TEST(Dropout, SameSeedSameMask) {
  Tensor x = Tensor::ones({64}, DType::f32);
  Generator a(9), b(9);
  EXPECT_EQ(dropout(x, 0.5, true, a).to_vector(), dropout(x, 0.5, true, b).to_vector());
}

TEST(Dropout, ScopedDefaultGeneratorGivesTheMasksAndNestedScopesRestore) {
  const Tensor x = Tensor::ones({64});
  Generator outer(5), inner(6), same_as_outer(5), same_as_inner(6);
  Values from_inner, after_inner;
  {
    const DefaultGeneratorScope a(outer);
    {
      const DefaultGeneratorScope b(inner);
      from_inner = dropout(x, 0.5, true).to_vector();  // the default generator argument: `inner`
    }
    after_inner = dropout(x, 0.5, true).to_vector();   // `outer` again
  }
  EXPECT_EQ(from_inner, dropout(x, 0.5, true, same_as_inner).to_vector());
  EXPECT_EQ(after_inner, dropout(x, 0.5, true, same_as_outer).to_vector());
  EXPECT_NE(from_inner, after_inner);
  // Outside every scope the thread's own generator is back: `outer` draws nothing more.
  Generator snapshot = outer;
  dropout(x, 0.5, true);
  EXPECT_EQ(outer.next_u64(), snapshot.next_u64());
}

TEST(LayerNorm, NormalisesTheLastDimension) {
  Tensor x = t64({1, 2, 3, 10, 20, 30}, {2, 3});
  Tensor w = t64({1, 2, 1}, {3}), b = t64({0, 0, 1}, {3});
  const double s = 1.0 / std::sqrt(2.0 / 3.0 + 1e-5);
  const double s2 = 1.0 / std::sqrt(200.0 / 3.0 + 1e-5);
  Values y = layer_norm(x, w, b).to_vector();
  Values want = {-s, 0, s + 1, -10 * s2, 0, 10 * s2 + 1};
  for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(y[i], want[i], 1e-12);
  EXPECT_THROW(layer_norm(x, t64({1, 2}, {2}), b), std::invalid_argument);
}

TEST(CrossEntropy, MatchesTheFormulaWithIgnoreAndSmoothing) {
  Tensor logits = t64({1, 2, 3, 0, 0, 0, 5, -1, 2}, {3, 3});
  auto lse = [](double a, double b, double c) { return std::log(std::exp(a) + std::exp(b) + std::exp(c)); };
  const double l0 = lse(1, 2, 3), l2 = lse(5, -1, 2);
  // rows 0 and 2 count (row 1 is ignored)
  const double plain = ((l0 - 3) + (l2 - 5)) / 2;
  EXPECT_NEAR(cross_entropy(logits, ids({2, -100, 0})).item(), plain, 1e-12);
  const double s = 0.1;
  auto smooth = [&](double lse_r, double target_logit, double sum_logits) {
    return (1 - s) * (lse_r - target_logit) + s / 3 * (3 * lse_r - sum_logits);
  };
  const double smoothed = (smooth(l0, 3, 6) + smooth(l2, 5, 6)) / 2;
  EXPECT_NEAR(cross_entropy(logits, ids({2, 7, 0}), {.ignore_index = 7, .label_smoothing = s}).item(), smoothed,
              1e-12);
}

TEST(CrossEntropy, IgnoredRowsGetZeroGradient) {
  Tensor logits = t64({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
  backward(cross_entropy(logits, ids({0, -100})));
  Values g = logits.grad().to_vector();
  EXPECT_EQ(g[3], 0.0);
  EXPECT_EQ(g[4], 0.0);
  EXPECT_EQ(g[5], 0.0);
  EXPECT_LT(g[0], 0.0);
}

TEST(CrossEntropy, BadTargetsAreErrors) {
  Tensor logits = t64({1, 2, 3, 4, 5, 6}, {2, 3});
  try {
    cross_entropy(logits, ids({0, 3}));
    ADD_FAILURE() << "no exception";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("target 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cross_entropy(logits, ids({0, 1, 2})), std::invalid_argument);
  EXPECT_THROW(cross_entropy(logits, t64({0, 1}, {2})), std::invalid_argument);
}

TEST(GruCellGates, MatchesTheGateEquationsComposed) {
  for (DType dtype : {DType::f64, DType::f32}) {
    Generator gen(5);
    const std::size_t B = 3, H = 5;
    const Tensor xp = rand_uniform({B, 3 * H}, -2, 2, dtype, gen), hp = rand_uniform({B, 3 * H}, -2, 2, dtype, gen);
    const Tensor h = rand_uniform({B, H}, -1, 1, dtype, gen);
    const Values want = gru_cell_gates_composed(xp, hp, h).to_vector(), got = gru_cell_gates(xp, hp, h).to_vector();
    const double tol = dtype == DType::f64 ? 1e-14 : 1e-6;
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << i;
  }
}

TEST(GruCellGates, GradientsOnlyWhereAsked) {
  Generator gen(6);
  const Tensor xp = rand_uniform({2, 6}, -1, 1, DType::f64, gen), h = rand_uniform({2, 2}, -1, 1, DType::f64, gen);
  Tensor hp = rand_uniform({2, 6}, -1, 1, DType::f64, gen);
  hp.requires_grad_();
  backward(sum(gru_cell_gates(xp, hp, h)));
  EXPECT_TRUE(hp.grad().defined());
  EXPECT_FALSE(xp.grad().defined());
  EXPECT_FALSE(h.grad().defined());
}

TEST(GruCellGates, RejectsMismatchedShapes) {
  const Tensor h = Tensor::zeros({2, 4});
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({2, 12}), Tensor::zeros({2, 11}), h), std::invalid_argument);
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({2, 8}), Tensor::zeros({2, 8}), h), std::invalid_argument);
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({3, 12}), Tensor::zeros({3, 12}), h), std::invalid_argument);
  EXPECT_THROW(gru_cell_gates(Tensor::zeros({2, 12}, DType::f64), Tensor::zeros({2, 12}), h), std::invalid_argument);
}

TEST(AdditiveAttentionScores, MatchesTheScoreComposed) {
  for (DType dtype : {DType::f64, DType::f32}) {
    Generator gen(7);
    const std::size_t B = 3, T = 4, A = 5;
    const Tensor keys = rand_uniform({B, T, A}, -2, 2, dtype, gen), query = rand_uniform({B, A}, -2, 2, dtype, gen);
    const Tensor v = rand_uniform({A}, -1, 1, dtype, gen);
    const Values want = additive_attention_scores_composed(keys, query, v).to_vector();
    const Tensor got = additive_attention_scores(keys, query, v);
    ASSERT_EQ(got.shape(), (Shape{B, T}));
    const Values g = got.to_vector();
    const double tol = dtype == DType::f64 ? 1e-14 : 1e-5;
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], tol) << i;
  }
}

TEST(AdditiveAttentionScores, RejectsMismatchedShapes) {
  const Tensor keys = Tensor::zeros({2, 3, 4});
  EXPECT_THROW(additive_attention_scores(keys, Tensor::zeros({2, 5}), Tensor::zeros({4})), std::invalid_argument);
  EXPECT_THROW(additive_attention_scores(keys, Tensor::zeros({3, 4}), Tensor::zeros({4})), std::invalid_argument);
  EXPECT_THROW(additive_attention_scores(keys, Tensor::zeros({2, 4}), Tensor::zeros({5})), std::invalid_argument);
  EXPECT_THROW(additive_attention_scores(Tensor::zeros({6, 4}), Tensor::zeros({2, 4}), Tensor::zeros({4})),
               std::invalid_argument);
}

TEST(AdditiveAttentionScores, GradientsOnlyWhereAskedMatchTheFullBackward) {
  Generator gen(8);
  const Tensor keys_data = rand_uniform({2, 3, 4}, -1, 1, DType::f64, gen);
  const Tensor query_data = rand_uniform({2, 4}, -1, 1, DType::f64, gen), v = rand_uniform({4}, -1, 1, DType::f64, gen);
  Tensor keys_all = keys_data.clone(), query_all = query_data.clone(), v_all = v.clone();
  keys_all.requires_grad_();
  query_all.requires_grad_();
  v_all.requires_grad_();
  backward(sum(additive_attention_scores(keys_all, query_all, v_all) * additive_attention_scores(keys_all, query_all, v_all)));
  Tensor keys_only = keys_data.clone();
  keys_only.requires_grad_();
  backward(sum(additive_attention_scores(keys_only, query_data, v) * additive_attention_scores(keys_only, query_data, v)));
  EXPECT_EQ(keys_only.grad().to_vector(), keys_all.grad().to_vector());
  Tensor query_only = query_data.clone();
  query_only.requires_grad_();
  backward(sum(additive_attention_scores(keys_data, query_only, v) * additive_attention_scores(keys_data, query_only, v)));
  EXPECT_EQ(query_only.grad().to_vector(), query_all.grad().to_vector());
}
