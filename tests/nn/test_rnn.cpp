// Recurrent layers: the cell equations against plain loops, first and second derivative checks of
// cells and sequence layers, the padding rules (frozen state, zero outputs, reverse direction from the last real token),
// layer wiring, torch's parameter names, dropout placement, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/autodiff/gradcheck.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/ops/ops.hpp"
#include "support/float64_inputs.hpp"

using namespace seqgrad;
using namespace seqgrad::test_support;

namespace {

Tensor random64(const Shape& shape, Generator& gen, bool grad = false) {
  Tensor t = rand_uniform(shape, -1.0, 1.0, f64, gen);
  if (grad) t.requires_grad_();
  return t;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto g = got.to_vector(), w = want.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], w[i], tol) << what << " element " << i;
}

// Every element of the tensors, as one vector (gradcheck differentiates one tensor).
Tensor flat(const std::vector<Tensor>& parts) {
  std::vector<Tensor> rows;
  for (const Tensor& p : parts) rows.push_back(reshape(p, {p.numel()}));
  return concat(rows, 0);
}

// Element [i, j, :] of a 3-D tensor as [1, last].
Tensor at(const Tensor& t, std::size_t i, std::size_t j) {
  return reshape(narrow(narrow(t, 0, i, 1), 1, j, 1), {1, t.size(2)});
}

// The function must throw std::invalid_argument whose message contains every fragment.
void expect_invalid(const std::function<void()>& f, const std::vector<std::string>& fragments) {
  try {
    f();
    FAIL() << "no exception; expected one mentioning " << fragments.front();
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
  }
}

// The recurrent layers' checks use one seed, whatever the default.
const GradCheckOptions kChecked{.atol = kLayerCheck.atol, .rtol = kLayerCheck.rtol, .seed = 3};

// ---- the cell equations as plain loops over doubles, independent of the ops ----

double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// W v + b for row `b` of v [B, n]: the pre-activations of every gate.
std::vector<double> affine_row(const Tensor& W, const Tensor& bias, const Tensor& v, std::size_t b) {
  const auto w = W.to_vector(), bv = bias.to_vector(), vv = v.to_vector();
  const std::size_t rows = W.size(0), cols = W.size(1);
  std::vector<double> out(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    out[r] = bv[r];
    for (std::size_t k = 0; k < cols; ++k) out[r] += w[r * cols + k] * vv[b * cols + k];
  }
  return out;
}

struct Reference {
  std::vector<double> h, c;  // [B*H] each
};

Reference reference_cell(const std::string& kind, const nn::RecurrentCell& cell, const Tensor& x, const Tensor& h,
                         const Tensor& c = Tensor()) {
  const std::size_t B = x.size(0), H = cell.hidden_size();
  const auto hv = h.to_vector();
  const auto cv = c.defined() ? c.to_vector() : std::vector<double>();
  Reference out{std::vector<double>(B * H), std::vector<double>(B * H)};
  for (std::size_t b = 0; b < B; ++b) {
    const auto gx = affine_row(cell.weight_ih, cell.bias_ih, x, b);
    const auto gh = affine_row(cell.weight_hh, cell.bias_hh, h, b);
    for (std::size_t j = 0; j < H; ++j) {
      const std::size_t k = b * H + j;
      if (kind == "tanh") out.h[k] = std::tanh(gx[j] + gh[j]);
      if (kind == "relu") out.h[k] = std::max(0.0, gx[j] + gh[j]);
      if (kind == "gru") {  // gates r, z, n
        const double r = sigm(gx[j] + gh[j]), z = sigm(gx[H + j] + gh[H + j]);
        const double n = std::tanh(gx[2 * H + j] + r * gh[2 * H + j]);
        out.h[k] = (1 - z) * n + z * hv[k];
      }
      if (kind == "lstm") {  // gates i, f, g, o
        const double i = sigm(gx[j] + gh[j]), f = sigm(gx[H + j] + gh[H + j]);
        const double g = std::tanh(gx[2 * H + j] + gh[2 * H + j]), o = sigm(gx[3 * H + j] + gh[3 * H + j]);
        out.c[k] = f * cv[k] + i * g;
        out.h[k] = o * std::tanh(out.c[k]);
      }
    }
  }
  return out;
}

void expect_values(const Tensor& got, const std::vector<double>& want, const std::string& what) {
  const auto g = got.to_vector();
  ASSERT_EQ(g.size(), want.size()) << what;
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], want[i], 1e-12) << what << " element " << i;
}

// Copies the weights of one layer and direction of a sequence layer into a cell.
void copy_weights(nn::RecurrentCell& cell, const nn::CellWeights& w) {
  cell.weight_ih.copy_from_(w.weight_ih);
  cell.weight_hh.copy_from_(w.weight_hh);
  cell.bias_ih.copy_from_(w.bias_ih);
  cell.bias_hh.copy_from_(w.bias_hh);
}

std::vector<std::string> names_of(const nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& [n, p] : m.named_parameters()) names.push_back(n);
  return names;
}

}  // namespace

// ---------------------------------------------------------------- cells

TEST(RecurrentCells, TorchParameterNamesShapesAndInitBound) {
  Generator gen(1);
  nn::LSTMCell lstm(5, 4, gen);
  EXPECT_EQ(names_of(lstm), (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
  EXPECT_EQ(lstm.weight_ih.shape(), (Shape{16, 5}));
  EXPECT_EQ(lstm.weight_hh.shape(), (Shape{16, 4}));
  EXPECT_EQ(lstm.bias_hh.shape(), (Shape{16}));
  for (const Tensor& p : lstm.parameters())
    for (double v : p.to_vector()) EXPECT_LE(std::abs(v), 0.5);  // 1/sqrt(H) with H = 4
  nn::GRUCell gru(5, 4, gen, {.bias = false});
  EXPECT_EQ(names_of(gru), (std::vector<std::string>{"weight_ih", "weight_hh"}));
  EXPECT_EQ(gru.weight_ih.shape(), (Shape{12, 5}));
  Generator a(9), b(9);
  EXPECT_EQ(nn::RNNCell(3, 2, a).weight_hh.to_vector(), nn::RNNCell(3, 2, b).weight_hh.to_vector());
}

TEST(RecurrentCells, MatchTheirEquations) {
  Generator gen(2);
  const Tensor x = random64({3, 5}, gen), h = random64({3, 4}, gen), c = random64({3, 4}, gen);
  nn::RNNCell rnn_tanh(5, 4, gen, {.dtype = f64});
  nn::RNNCell rnn_relu(5, 4, gen, {.dtype = f64}, nn::Nonlinearity::relu);
  nn::GRUCell gru(5, 4, gen, {.dtype = f64});
  nn::LSTMCell lstm(5, 4, gen, {.dtype = f64});
  expect_values(rnn_tanh(x, h), reference_cell("tanh", rnn_tanh, x, h).h, "RNNCell tanh");
  expect_values(rnn_relu(x, h), reference_cell("relu", rnn_relu, x, h).h, "RNNCell relu");
  expect_values(gru(x, h), reference_cell("gru", gru, x, h).h, "GRUCell");
  const nn::LSTMState s = lstm(x, {h, c});
  const Reference ref = reference_cell("lstm", lstm, x, h, c);
  expect_values(s.h, ref.h, "LSTMCell h");
  expect_values(s.c, ref.c, "LSTMCell c");
}

TEST(RecurrentCells, OmittedStateIsZeros) {
  Generator gen(3);
  const Tensor x = random64({2, 3}, gen), zeros = Tensor::zeros({2, 4}, f64);
  nn::GRUCell gru(3, 4, gen, {.dtype = f64});
  expect_close(gru(x), gru(x, zeros), 0.0, "GRUCell");
  nn::LSTMCell lstm(3, 4, gen, {.dtype = f64});
  expect_close(lstm(x).c, lstm(x, {zeros, zeros}).c, 0.0, "LSTMCell");
}

TEST(RecurrentCells, SequenceProjectionFeedsTheStep) {
  // project_input over [T, B, I] in one matmul, then step on row t, is the cell's forward at t.
  Generator gen(4);
  nn::LSTMCell lstm(3, 4, gen, {.dtype = f64});
  const Tensor xs = random64({3, 2, 3}, gen), h = random64({2, 4}, gen), c = random64({2, 4}, gen);
  const Tensor xp = lstm.project_input(xs);
  ASSERT_EQ(xp.shape(), (Shape{3, 2, 16}));
  for (std::size_t t = 0; t < 3; ++t) {
    const nn::LSTMState a = lstm.step(reshape(narrow(xp, 0, t, 1), {2, 16}), {h, c});
    const nn::LSTMState b = lstm(reshape(narrow(xs, 0, t, 1), {2, 3}), {h, c});
    expect_close(a.h, b.h, 1e-14, "h at step " + std::to_string(t));
    expect_close(a.c, b.c, 1e-14, "c at step " + std::to_string(t));
  }
}

TEST(RecurrentCells, FirstAndSecondDerivativesOfParametersInputAndState) {
  Generator gen(5);
  const Tensor x = random64({3, 5}, gen, true), h = random64({3, 4}, gen, true), c = random64({3, 4}, gen, true);
  nn::RNNCell rnn_tanh(5, 4, gen, {.dtype = f64});
  nn::RNNCell rnn_relu(5, 4, gen, {.dtype = f64}, nn::Nonlinearity::relu);
  nn::GRUCell gru(5, 4, gen, {.dtype = f64});
  nn::GRUCell gru_no_bias(5, 4, gen, {.bias = false, .dtype = f64});
  nn::LSTMCell lstm(5, 4, gen, {.dtype = f64});
  auto with = [](const nn::Module& m, std::vector<Tensor> extra) {
    auto in = m.parameters();
    in.insert(in.end(), extra.begin(), extra.end());
    return in;
  };
  expect_derivatives("RNNCell tanh", [&](auto&) { return rnn_tanh(x, h); }, with(rnn_tanh, {x, h}), kChecked);
  expect_derivatives("RNNCell relu", [&](auto&) { return rnn_relu(x, h); }, with(rnn_relu, {x, h}), kChecked);
  expect_derivatives("GRUCell", [&](auto&) { return gru(x, h); }, with(gru, {x, h}), kChecked);
  expect_derivatives("GRUCell without bias", [&](auto&) { return gru_no_bias(x, h); }, with(gru_no_bias, {x, h}),
                     kChecked);
  expect_derivatives("LSTMCell", [&](auto&) {
    const nn::LSTMState s = lstm(x, {h, c});
    return flat({s.h, s.c});
  }, with(lstm, {x, h, c}), kChecked);
}

TEST(RecurrentCells, Errors) {
  Generator gen(6);
  nn::GRUCell gru(5, 4, gen, {.dtype = f64});
  nn::LSTMCell lstm(5, 4, gen, {.dtype = f64});
  const Tensor x = random64({3, 5}, gen), h = random64({3, 4}, gen);
  expect_invalid([&] { gru(random64({3, 6}, gen), h); }, {"GRUCell", "[3,6]", "input_size 5"});
  expect_invalid([&] { gru(random64({5}, gen), h); }, {"GRUCell", "[5]"});
  expect_invalid([&] { gru(x, random64({2, 4}, gen)); }, {"GRUCell", "h", "[2,4]", "[3, 4]"});
  expect_invalid([&] { gru(x.to(DType::f32), h); }, {"GRUCell", "float32", "float64"});
  expect_invalid([&] { gru.step(random64({3, 8}, gen), h); }, {"GRUCell", "projected input", "[3,8]", "12"});
  expect_invalid([&] { lstm(x, {h, random64({3, 5}, gen)}); }, {"LSTMCell", "c", "[3,5]", "[3, 4]"});
  expect_invalid([&] { lstm(x, {h, Tensor()}); }, {"LSTMCell", "both h and c"});
  expect_invalid([&] { nn::GRUCell(0, 4, gen); }, {"GRUCell", "positive"});
  const nn::CellWeights w = gru.weights();
  expect_invalid([&] { nn::gru_cell_step(random64({3, 12}, gen), random64({3, 5}, gen), w); },
                 {"gru_cell_step", "[3,5]", "[3, 4]"});
  expect_invalid([&] { nn::lstm_cell_step(random64({3, 16}, gen), {h, random64({3, 5}, gen)}, lstm.weights()); },
                 {"lstm_cell_step", "cell state", "[3,5]"});
  expect_invalid([&] { gru.step(Tensor(), h); }, {"GRUCell", "projected input", "missing"});
}

// ---------------------------------------------------------------- sequence layers

namespace {

Tensor lengths_3() { return Tensor::from_indices({4, 2, 3}, {3}); }  // B = 3, T = 4: unequal, one full

// Runs a cell over the real steps of sequence b (in reverse when asked) from a zero state; returns the
// state after each processed token, indexed by the token's time step.
std::vector<Tensor> run_cell(const std::string& kind, const nn::RecurrentCell& cell, const Tensor& x, std::size_t b,
                             std::int64_t length, bool reverse, std::vector<Tensor>* cell_states = nullptr) {
  std::vector<Tensor> hs(length);
  Tensor h = Tensor::zeros({1, cell.hidden_size()}, f64), c = h;
  for (std::int64_t k = 0; k < length; ++k) {
    const std::size_t t = reverse ? length - 1 - k : k;
    if (kind == "lstm") {
      const nn::LSTMState s = static_cast<const nn::LSTMCell&>(cell)(at(x, t, b), {h, c});
      h = s.h, c = s.c;
    } else if (kind == "gru") {
      h = static_cast<const nn::GRUCell&>(cell)(at(x, t, b), h);
    } else {
      h = static_cast<const nn::RNNCell&>(cell)(at(x, t, b), h);
    }
    hs[t] = h;
    if (cell_states) (*cell_states)[t] = c;
  }
  return hs;
}

std::unique_ptr<nn::RecurrentCell> make_cell(const std::string& kind, std::size_t in, std::size_t hidden, Generator& gen) {
  if (kind == "lstm") return std::make_unique<nn::LSTMCell>(in, hidden, gen, nn::CellOptions{.dtype = f64});
  if (kind == "gru") return std::make_unique<nn::GRUCell>(in, hidden, gen, nn::CellOptions{.dtype = f64});
  return std::make_unique<nn::RNNCell>(in, hidden, gen, nn::CellOptions{.dtype = f64});
}

std::unique_ptr<nn::RecurrentLayers> make_layers(const std::string& kind, std::size_t in, std::size_t hidden,
                                                 Generator& gen, nn::RecurrentOptions o) {
  o.dtype = f64;
  if (kind == "lstm") return std::make_unique<nn::LSTM>(in, hidden, gen, o);
  if (kind == "gru") return std::make_unique<nn::GRU>(in, hidden, gen, o);
  return std::make_unique<nn::RNN>(in, hidden, gen, o);
}

nn::SequenceOutput run_layers(const std::string& kind, const nn::RecurrentLayers& m, const Tensor& x,
                              const Tensor& lengths = Tensor(), const Tensor& h0 = Tensor(), const Tensor& c0 = Tensor()) {
  if (kind == "lstm") return static_cast<const nn::LSTM&>(m).forward(x, lengths, h0, c0);
  if (kind == "gru") return static_cast<const nn::GRU&>(m).forward(x, lengths, h0);
  return static_cast<const nn::RNN&>(m).forward(x, lengths, h0);
}

class SequenceLayers : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST(SequenceLayers, TorchParameterNamesInTorchOrder) {
  Generator gen(7);
  nn::GRU gru(3, 4, gen, {.num_layers = 2, .bidirectional = true});
  const std::vector<std::string> want = {
      "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
      "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
      "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
      "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"};
  EXPECT_EQ(names_of(gru), want);
  EXPECT_EQ(gru.parameter("weight_ih_l0").shape(), (Shape{12, 3}));
  EXPECT_EQ(gru.parameter("weight_ih_l1_reverse").shape(), (Shape{12, 8}));  // input: both directions of layer 0
  EXPECT_EQ(gru.parameter("weight_hh_l1").shape(), (Shape{12, 4}));
  nn::LSTM lstm(3, 5, gen, {.bias = false});
  EXPECT_EQ(names_of(lstm), (std::vector<std::string>{"weight_ih_l0", "weight_hh_l0"}));
  EXPECT_EQ(lstm.parameter("weight_hh_l0").shape(), (Shape{20, 5}));
}

TEST_P(SequenceLayers, OutputShapesLikeTorch) {
  const std::string kind = GetParam();
  Generator gen(8);
  auto m = make_layers(kind, 3, 4, gen, {.num_layers = 2, .bidirectional = true});
  const nn::SequenceOutput out = run_layers(kind, *m, random64({5, 2, 3}, gen));
  EXPECT_EQ(out.output.shape(), (Shape{5, 2, 8}));
  EXPECT_EQ(out.h_n.shape(), (Shape{4, 2, 4}));
  EXPECT_EQ(out.c_n.defined(), kind == "lstm");
  if (kind == "lstm") {
    EXPECT_EQ(out.c_n.shape(), (Shape{4, 2, 4}));
  }
}

TEST_P(SequenceLayers, StateFreezesAfterEachSequencesLength) {
  // h_n (and c_n) of sequence b is the cell run over its real steps only; outputs past them are zero.
  const std::string kind = GetParam();
  Generator gen(9);
  auto m = make_layers(kind, 3, 4, gen, {});
  auto cell = make_cell(kind, 3, 4, gen);
  copy_weights(*cell, m->cell_weights(0, 0));
  const Tensor x = random64({4, 3, 3}, gen);
  const nn::SequenceOutput out = run_layers(kind, *m, x, lengths_3());
  const std::vector<std::int64_t> lengths = {4, 2, 3};
  for (std::size_t b = 0; b < 3; ++b) {
    std::vector<Tensor> cs(lengths[b]);
    const std::vector<Tensor> hs = run_cell(kind, *cell, x, b, lengths[b], false, &cs);
    expect_close(at(out.h_n, 0, b), hs.back(), 1e-13, "h_n of sequence " + std::to_string(b));
    if (kind == "lstm") expect_close(at(out.c_n, 0, b), cs.back(), 1e-13, "c_n of sequence " + std::to_string(b));
    for (std::size_t t = 0; t < 4; ++t) {
      const Tensor want = t < static_cast<std::size_t>(lengths[b]) ? hs[t] : Tensor::zeros({1, 4}, f64);
      expect_close(at(out.output, t, b), want, 1e-13, "output at t=" + std::to_string(t) + " b=" + std::to_string(b));
    }
  }
}

TEST_P(SequenceLayers, ReverseDirectionStartsAtTheLastRealToken) {
  const std::string kind = GetParam();
  Generator gen(10);
  auto m = make_layers(kind, 3, 4, gen, {.bidirectional = true});
  auto forward_cell = make_cell(kind, 3, 4, gen), reverse_cell = make_cell(kind, 3, 4, gen);
  copy_weights(*forward_cell, m->cell_weights(0, 0));
  copy_weights(*reverse_cell, m->cell_weights(0, 1));
  const Tensor x = random64({4, 3, 3}, gen);
  const nn::SequenceOutput out = run_layers(kind, *m, x, lengths_3());
  const std::vector<std::int64_t> lengths = {4, 2, 3};
  for (std::size_t b = 0; b < 3; ++b) {
    const std::vector<Tensor> fwd = run_cell(kind, *forward_cell, x, b, lengths[b], false);
    const std::vector<Tensor> rev = run_cell(kind, *reverse_cell, x, b, lengths[b], true);
    for (std::size_t t = 0; t < 4; ++t) {
      const bool real = t < static_cast<std::size_t>(lengths[b]);
      const Tensor want = real ? concat({fwd[t], rev[t]}, 1) : Tensor::zeros({1, 8}, f64);
      expect_close(at(out.output, t, b), want, 1e-13, "output at t=" + std::to_string(t) + " b=" + std::to_string(b));
    }
    expect_close(at(out.h_n, 0, b), fwd.back(), 1e-13, "forward h_n");
    expect_close(at(out.h_n, 1, b), rev.front(), 1e-13, "reverse h_n: the state after token 0");
  }
}

TEST_P(SequenceLayers, StackedLayersAreLayersInSequence) {
  // A 2-layer bidirectional stack with h0 equals two 1-layer bidirectional layers, the second fed the
  // first's output, each given its rows of h0 (row = layer * 2 + direction).
  const std::string kind = GetParam();
  Generator gen(11);
  auto stack2 = make_layers(kind, 3, 4, gen, {.num_layers = 2, .bidirectional = true});
  auto first = make_layers(kind, 3, 4, gen, {.bidirectional = true});
  auto second = make_layers(kind, 8, 4, gen, {.bidirectional = true});
  for (std::size_t d = 0; d < 2; ++d) {
    for (auto [dst, src] : {std::pair{first->cell_weights(0, d), stack2->cell_weights(0, d)},
                            std::pair{second->cell_weights(0, d), stack2->cell_weights(1, d)}}) {
      dst.weight_ih.copy_from_(src.weight_ih);
      dst.weight_hh.copy_from_(src.weight_hh);
      dst.bias_ih.copy_from_(src.bias_ih);
      dst.bias_hh.copy_from_(src.bias_hh);
    }
  }
  const Tensor x = random64({4, 3, 3}, gen), h0 = random64({4, 3, 4}, gen), c0 = random64({4, 3, 4}, gen);
  const nn::SequenceOutput all = run_layers(kind, *stack2, x, lengths_3(), h0, c0);
  const nn::SequenceOutput one = run_layers(kind, *first, x, lengths_3(), narrow(h0, 0, 0, 2), narrow(c0, 0, 0, 2));
  const nn::SequenceOutput two =
      run_layers(kind, *second, one.output, lengths_3(), narrow(h0, 0, 2, 2), narrow(c0, 0, 2, 2));
  expect_close(all.output, two.output, 1e-13, "output");
  expect_close(all.h_n, concat({one.h_n, two.h_n}, 0), 1e-13, "h_n");
  if (kind == "lstm") expect_close(all.c_n, concat({one.c_n, two.c_n}, 0), 1e-13, "c_n");
}

TEST_P(SequenceLayers, PaddingChangesNothingAndGetsNoGradient) {
  const std::string kind = GetParam();
  Generator gen(12);
  auto m = make_layers(kind, 3, 4, gen, {.num_layers = 2, .bidirectional = true});
  const Tensor x = random64({4, 3, 3}, gen, true);
  Tensor x_other = x.detach().clone();
  // Different values at every padded step: b = 1 from t = 2, b = 2 at t = 3.
  for (auto [t, b] : {std::pair{2, 1}, std::pair{3, 1}, std::pair{3, 2}})
    for (std::size_t i = 0; i < 3; ++i) x_other.data<double>()[(t * 3 + b) * 3 + i] += 5.0;
  const nn::SequenceOutput a = run_layers(kind, *m, x, lengths_3());
  const nn::SequenceOutput b = run_layers(kind, *m, x_other, lengths_3());
  expect_close(a.output, b.output, 0.0, "output");
  expect_close(a.h_n, b.h_n, 0.0, "h_n");
  backward(flat({a.output, a.h_n}), random64({a.output.numel() + a.h_n.numel()}, gen));
  const auto g = x.grad().to_vector();
  for (auto [t, bb] : {std::pair{2, 1}, std::pair{3, 1}, std::pair{3, 2}})
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(g[(t * 3 + bb) * 3 + i], 0.0) << "t=" << t << " b=" << bb;
  EXPECT_NE(g[(1 * 3 + 1) * 3], 0.0);  // the last real step of b = 1 does get a gradient
}

TEST_P(SequenceLayers, FullLengthsEqualNoLengthsAndBatchFirstEqualsTimeMajor) {
  const std::string kind = GetParam();
  Generator a(13), b(13);
  auto time_major = make_layers(kind, 3, 4, a, {.num_layers = 2, .bidirectional = true});
  auto batch_first = make_layers(kind, 3, 4, b, {.num_layers = 2, .batch_first = true, .bidirectional = true});
  const Tensor x = random64({4, 3, 3}, a);
  const nn::SequenceOutput plain = run_layers(kind, *time_major, x);
  const nn::SequenceOutput full = run_layers(kind, *time_major, x, Tensor::from_indices({4, 4, 4}, {3}));
  expect_close(full.output, plain.output, 0.0, "output with full lengths");
  expect_close(full.h_n, plain.h_n, 0.0, "h_n with full lengths");
  const nn::SequenceOutput bf = run_layers(kind, *batch_first, transpose(x, 0, 1), lengths_3());
  const nn::SequenceOutput tm = run_layers(kind, *time_major, x, lengths_3());
  expect_close(bf.output, transpose(tm.output, 0, 1), 0.0, "batch_first output");
  expect_close(bf.h_n, tm.h_n, 0.0, "batch_first h_n");
}

TEST_P(SequenceLayers, FirstAndSecondDerivativesOfParametersInputsAndInitialStates) {
  // 2 layers, bidirectional, unequal lengths, given h0 (and c0); second derivatives in fast mode.
  const std::string kind = GetParam();
  Generator gen(14);
  auto m = make_layers(kind, 3, 4, gen, {.num_layers = 2, .bidirectional = true});
  const Tensor x = random64({4, 3, 3}, gen, true), h0 = random64({4, 3, 4}, gen, true);
  const Tensor c0 = kind == "lstm" ? random64({4, 3, 4}, gen, true) : Tensor();
  std::vector<Tensor> inputs = m->parameters();
  inputs.insert(inputs.end(), {x, h0});
  if (c0.defined()) inputs.push_back(c0);
  expect_derivatives(kind + " 2 layers bidirectional", [&](auto&) {
    const nn::SequenceOutput out = run_layers(kind, *m, x, lengths_3(), h0, c0);
    return flat(c0.defined() ? std::vector<Tensor>{out.output, out.h_n, out.c_n} : std::vector<Tensor>{out.output, out.h_n});
  }, inputs, kChecked, GradCheckOptions{.atol = kChecked.atol, .rtol = kChecked.rtol, .fast = true, .seed = kChecked.seed});
}

TEST_P(SequenceLayers, LongerSequenceGradientsFastMode) {
  const std::string kind = GetParam();
  Generator gen(15);
  auto m = make_layers(kind, 3, 4, gen, {.num_layers = 3, .bidirectional = true});
  const Tensor x = random64({9, 3, 3}, gen, true);
  std::vector<Tensor> inputs = m->parameters();
  inputs.push_back(x);
  const Tensor lengths = Tensor::from_indices({9, 4, 7}, {3});
  expect_gradcheck(kind + " 3 layers, 9 steps", [&](auto&) {
    const nn::SequenceOutput out = run_layers(kind, *m, x, lengths);
    return flat({out.output, out.h_n});
  }, inputs, {.atol = kChecked.atol, .rtol = kChecked.rtol, .fast = true, .seed = kChecked.seed});
}

INSTANTIATE_TEST_SUITE_P(Cells, SequenceLayers, ::testing::Values("tanh", "gru", "lstm"),
                         [](const auto& info) { return info.param; });

TEST(SequenceLayers, ReluRNNFollowsItsCell) {
  Generator gen(16);
  nn::RNN rnn(3, 4, gen, {.dtype = f64}, nn::Nonlinearity::relu);
  nn::RNNCell cell(3, 4, gen, {.dtype = f64}, nn::Nonlinearity::relu);
  copy_weights(cell, rnn.cell_weights(0, 0));
  const Tensor x = random64({2, 1, 3}, gen);
  const Tensor h1 = cell(at(x, 0, 0), Tensor::zeros({1, 4}, f64));
  expect_close(at(rnn.forward(x).h_n, 0, 0), cell(at(x, 1, 0), h1), 1e-14, "relu RNN h_n");
}

TEST(SequenceLayers, DropoutOnlyBetweenLayersAndOnlyInTraining) {
  Generator gen(17);
  const Tensor x = random64({3, 2, 3}, gen);
  nn::GRU one_layer(3, 4, gen, {.dropout = 0.5, .dtype = f64});
  const Tensor trained = one_layer.forward(x).output;  // training mode: nothing between layers to drop
  one_layer.eval();
  expect_close(trained, one_layer.forward(x).output, 0.0, "one layer");

  nn::GRU two_layers(3, 4, gen, {.num_layers = 2, .dropout = 0.5, .dtype = f64});
  manual_seed(1);
  const Tensor first = two_layers.forward(x).output;
  manual_seed(1);
  expect_close(two_layers.forward(x).output, first, 0.0, "same seed, same mask");
  two_layers.eval();
  const Tensor eval1 = two_layers.forward(x).output;
  expect_close(two_layers.forward(x).h_n, two_layers.forward(x).h_n, 0.0, "eval is deterministic");
  const auto a = first.to_vector(), b = eval1.to_vector();
  EXPECT_NE(a, b) << "dropout between layers changed nothing in training";
  // Layer 0's final state is never behind a dropout.
  two_layers.train();
  expect_close(narrow(two_layers.forward(x).h_n, 0, 0, 1), narrow(two_layers.forward(x).h_n, 0, 0, 1), 0.0,
               "layer 0 h_n");
}

TEST(SequenceLayers, Errors) {
  Generator gen(18);
  nn::GRU gru(3, 4, gen, {.num_layers = 2, .bidirectional = true, .dtype = f64});
  nn::LSTM lstm(3, 4, gen, {.dtype = f64});
  const Tensor x = random64({4, 3, 3}, gen);
  expect_invalid([&] { gru.forward(random64({4, 3, 5}, gen)); }, {"GRU", "[4,3,5]", "input_size 3"});
  expect_invalid([&] { gru.forward(random64({4, 3}, gen)); }, {"GRU", "[4,3]", "[T, B, 3]"});
  expect_invalid([&] { gru.forward(x.to(DType::f32)); }, {"GRU", "float32", "float64"});
  expect_invalid([&] { gru.forward(x, Tensor(), random64({2, 3, 4}, gen)); },
                 {"GRU", "h0", "[2,3,4]", "[4, 3, 4]"});
  expect_invalid([&] { lstm.forward(x, Tensor(), random64({1, 3, 4}, gen), random64({1, 2, 4}, gen)); },
                 {"LSTM", "c0", "[1,2,4]", "[1, 3, 4]"});
  expect_invalid([&] { lstm.forward(x, Tensor(), random64({1, 3, 4}, gen)); }, {"LSTM", "both h0 and c0"});
  expect_invalid([&] { gru.forward(x, Tensor::from_indices({4, 0, 2}, {3})); }, {"GRU", "lengths[1] = 0", "[1, 4]"});
  expect_invalid([&] { gru.forward(x, Tensor::from_indices({4, 5, 2}, {3})); }, {"GRU", "lengths[1] = 5", "[1, 4]"});
  expect_invalid([&] { gru.forward(x, Tensor::from_indices({4, 2}, {2})); }, {"GRU", "lengths", "[3]", "[2]"});
  expect_invalid([&] { gru.forward(x, Tensor::from({4, 2, 1}, {3}, f64)); }, {"GRU", "lengths", "int64", "float64"});
  expect_invalid([&] { nn::LSTM(3, 4, gen, {.dropout = 1.0}); }, {"LSTM", "dropout", "1.0"});
  expect_invalid([&] { nn::RNN(3, 4, gen, {.num_layers = 0}); }, {"RNN", "positive"});
  expect_invalid([&] { gru.cell_weights(2, 0); }, {"GRU", "layer 2"});
}
