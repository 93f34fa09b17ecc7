// The recurrent cells: each step is its gate equations written with ops (see rnn.hpp for the math).
#include <stdexcept>
#include <string>

#include "rnn_init.hpp"
#include "rnn_steps.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::nn {

namespace {

std::string dims(std::size_t a, std::size_t b) { return "[" + std::to_string(a) + ", " + std::to_string(b) + "]"; }

// The shapes every step function relies on: weight_hh [G*H, H], xp [B, G*H], h [B, H].
void check_step(const char* fn, std::size_t gates, const Tensor& xp, const Tensor& h, const CellWeights& w) {
  if (!xp.defined() || !h.defined() || !w.weight_hh.defined())
    throw std::invalid_argument(std::string(fn) + ": the projected input, the state and weight_hh must be defined");
  const Tensor& whh = w.weight_hh;
  if (whh.dim() != 2 || whh.size(0) != gates * whh.size(1))
    throw std::invalid_argument(std::string(fn) + ": weight_hh has shape " + to_string(whh.shape()) + ", expected [" +
                                std::to_string(gates) + "*H, H]");
  const std::size_t H = whh.size(1);
  if (xp.dim() != 2 || xp.size(1) != gates * H)
    throw std::invalid_argument(std::string(fn) + ": projected input has shape " + to_string(xp.shape()) +
                                ", expected [B, " + std::to_string(gates * H) + "] (" + std::to_string(gates) +
                                " gates of hidden size " + std::to_string(H) + ")");
  if (h.dim() != 2 || h.size(0) != xp.size(0) || h.size(1) != H)
    throw std::invalid_argument(std::string(fn) + ": state has shape " + to_string(h.shape()) + ", expected " +
                                dims(xp.size(0), H) + " (batch, hidden size)");
}

}  // namespace

Tensor project_input(const Tensor& x, const CellWeights& w) { return linear(x, w.weight_ih, w.bias_ih); }

Tensor rnn_cell_step(const Tensor& xp, const Tensor& h, const CellWeights& w, Nonlinearity nonlinearity) {
  check_step("rnn_cell_step", 1, xp, h, w);
  return detail::rnn_step(xp, h, w, nonlinearity);
}

Tensor gru_cell_step(const Tensor& xp, const Tensor& h, const CellWeights& w) {
  check_step("gru_cell_step", 3, xp, h, w);
  return detail::gru_step(xp, h, w);
}

LSTMState lstm_cell_step(const Tensor& xp, const LSTMState& state, const CellWeights& w) {
  check_step("lstm_cell_step", 4, xp, state.h, w);
  if (!state.c.defined() || state.c.shape() != state.h.shape())
    throw std::invalid_argument("lstm_cell_step: cell state has shape " +
                                (state.c.defined() ? to_string(state.c.shape()) : std::string("(undefined)")) +
                                ", expected " + to_string(state.h.shape()) + " like h");
  return detail::lstm_step(xp, state, w);
}

namespace detail {

Tensor rnn_step(const Tensor& xp, const Tensor& h, const CellWeights& w, Nonlinearity nonlinearity) {
  const Tensor pre = xp + linear(h, w.weight_hh, w.bias_hh);
  return nonlinearity == Nonlinearity::tanh ? tanh(pre) : relu(pre);
}

Tensor gru_step(const Tensor& xp, const Tensor& h, const CellWeights& w) {
  // With xp = W_i{r,z,n} x + b_i{r,z,n} and hp = W_h{r,z,n} h + b_h{r,z,n}:
  //   r = sigmoid(xp_r + hp_r)   z = sigmoid(xp_z + hp_z)   n = tanh(xp_n + r * hp_n)   h' = (1 - z) n + z h
  // The gate arithmetic is one fused op (fifteen small ops composed; one node and no temporaries fused).
  return gru_cell_gates(xp, linear(h, w.weight_hh, w.bias_hh), h);
}

LSTMState lstm_step(const Tensor& xp, const LSTMState& state, const CellWeights& w) {
  const std::size_t H = state.h.size(1);
  const std::vector<Tensor> gates = split(xp + linear(state.h, w.weight_hh, w.bias_hh), H, 1);
  const Tensor i = sigmoid(gates[0]);
  const Tensor f = sigmoid(gates[1]);
  const Tensor g = tanh(gates[2]);
  const Tensor o = sigmoid(gates[3]);
  const Tensor c = f * state.c + i * g;
  return {o * tanh(c), c};
}

}  // namespace detail

// ---- cell modules ----

RecurrentCell::RecurrentCell(const char* name, std::size_t gates, std::size_t input_size, std::size_t hidden_size,
                             Generator& gen, CellOptions options)
    : name_(name), gates_(gates), input_size_(input_size), hidden_size_(hidden_size) {
  if (input_size == 0 || hidden_size == 0)
    throw std::invalid_argument(std::string(name) + ": input_size and hidden_size must be positive, got " +
                                std::to_string(input_size) + " and " + std::to_string(hidden_size));
  if (!is_floating(options.dtype))
    throw std::invalid_argument(std::string(name) + ": parameters must be float32 or float64, not " +
                                dtype_name(options.dtype));
  const CellWeights w = detail::init_cell_weights(
      gates, input_size, hidden_size, options.bias, options.dtype, gen, "",
      [this](const std::string& n, Tensor t) { return register_parameter(n, t); });
  weight_ih = w.weight_ih, weight_hh = w.weight_hh, bias_ih = w.bias_ih, bias_hh = w.bias_hh;
}

Tensor RecurrentCell::project_input(const Tensor& x) const {
  if (x.dim() < 1 || x.size(-1) != input_size_)
    throw std::invalid_argument(std::string(name_) + ": input has shape " + to_string(x.shape()) +
                                ", expected [..., " + std::to_string(input_size_) + "] (input_size " +
                                std::to_string(input_size_) + ")");
  return nn::project_input(x, weights());
}

void RecurrentCell::check_input(const Tensor& x) const {
  if (x.dim() != 2 || x.size(1) != input_size_)
    throw std::invalid_argument(std::string(name_) + ": input has shape " + to_string(x.shape()) +
                                ", expected [B, " + std::to_string(input_size_) + "] (input_size " +
                                std::to_string(input_size_) + ")");
  if (x.dtype() != weight_ih.dtype())
    throw std::invalid_argument(std::string(name_) + ": input is " + dtype_name(x.dtype()) +
                                " but the parameters are " + dtype_name(weight_ih.dtype()));
}

void RecurrentCell::check_state(const char* what, const Tensor& state, std::size_t batch) const {
  if (!state.defined())
    throw std::invalid_argument(std::string(name_) + ": " + what + " is missing (undefined tensor)");
  if (state.dim() != 2 || state.size(0) != batch || state.size(1) != hidden_size_)
    throw std::invalid_argument(std::string(name_) + ": " + what + " has shape " + to_string(state.shape()) +
                                ", expected " + dims(batch, hidden_size_) + " (batch " + std::to_string(batch) +
                                ", hidden_size " + std::to_string(hidden_size_) + ")");
  if (state.dtype() != weight_hh.dtype())
    throw std::invalid_argument(std::string(name_) + ": " + what + " is " + dtype_name(state.dtype()) +
                                " but the parameters are " + dtype_name(weight_hh.dtype()));
}

void RecurrentCell::check_projection(const Tensor& xp) const {
  if (!xp.defined())
    throw std::invalid_argument(std::string(name_) + ": the projected input is missing (undefined tensor)");
  if (xp.dim() != 2 || xp.size(1) != gates_ * hidden_size_)
    throw std::invalid_argument(std::string(name_) + ": projected input has shape " + to_string(xp.shape()) +
                                ", expected [B, " + std::to_string(gates_ * hidden_size_) + "] (project_input of [B, " +
                                std::to_string(input_size_) + "])");
}

Tensor RecurrentCell::zero_state(std::size_t batch) const {
  return Tensor::zeros({batch, hidden_size_}, weight_hh.dtype());
}

RNNCell::RNNCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, CellOptions options,
                 Nonlinearity nonlinearity)
    : RecurrentCell("RNNCell", 1, input_size, hidden_size, gen, options), nonlinearity_(nonlinearity) {}

// forward and step each check their arguments once, then run the unchecked step.
Tensor RNNCell::forward(const Tensor& x, const Tensor& h) const {
  check_input(x);
  if (h.defined()) check_state("h", h, x.size(0));
  return detail::rnn_step(nn::project_input(x, weights()), h.defined() ? h : zero_state(x.size(0)), weights(),
                          nonlinearity_);
}

Tensor RNNCell::step(const Tensor& xp, const Tensor& h) const {
  check_projection(xp);
  check_state("h", h, xp.size(0));
  return detail::rnn_step(xp, h, weights(), nonlinearity_);
}

GRUCell::GRUCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, CellOptions options)
    : RecurrentCell("GRUCell", 3, input_size, hidden_size, gen, options) {}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h) const {
  check_input(x);
  if (h.defined()) check_state("h", h, x.size(0));
  return detail::gru_step(nn::project_input(x, weights()), h.defined() ? h : zero_state(x.size(0)), weights());
}

Tensor GRUCell::step(const Tensor& xp, const Tensor& h) const {
  check_projection(xp);
  check_state("h", h, xp.size(0));
  return detail::gru_step(xp, h, weights());
}

LSTMCell::LSTMCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, CellOptions options)
    : RecurrentCell("LSTMCell", 4, input_size, hidden_size, gen, options) {}

LSTMState LSTMCell::forward(const Tensor& x, const LSTMState& state) const {
  check_input(x);
  const std::size_t batch = x.size(0);
  // torch takes both states or neither; a lone h or c is more likely a mistake than a wish for zeros.
  if (state.h.defined() != state.c.defined())
    throw std::invalid_argument("LSTMCell: give both h and c, or neither (zeros)");
  if (!state.h.defined())
    return detail::lstm_step(nn::project_input(x, weights()), {zero_state(batch), zero_state(batch)}, weights());
  check_state("h", state.h, batch);
  check_state("c", state.c, batch);
  return detail::lstm_step(nn::project_input(x, weights()), state, weights());
}

LSTMState LSTMCell::step(const Tensor& xp, const LSTMState& state) const {
  check_projection(xp);
  check_state("h", state.h, xp.size(0));
  check_state("c", state.c, xp.size(0));
  return detail::lstm_step(xp, state, weights());
}

}  // namespace seqgrad::nn
