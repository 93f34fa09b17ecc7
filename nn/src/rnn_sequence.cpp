// The sequence layers RNN, GRU, LSTM: layers of cells run over time, in one or both directions, on
// padded batches. Per layer and direction the input half of the cell (x W_ih^T + b_ih) is one matmul
// over all T steps; only the recurrent half runs step by step.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "rnn_init.hpp"
#include "rnn_steps.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::nn {

namespace {

std::size_t gates_of(CellType cell) {
  switch (cell) {
    case CellType::rnn_tanh:
    case CellType::rnn_relu: return 1;
    case CellType::gru: return 3;
    case CellType::lstm: return 4;
  }
  return 0;
}

struct State {
  Tensor h, c;  // [B, H] each; c only for LSTM
};

// Unchecked: run() checked the input and the initial states once, and the weights are the layer's own.
State step(CellType cell, const Tensor& xp, const State& s, const CellWeights& w) {
  switch (cell) {
    case CellType::rnn_tanh: return {detail::rnn_step(xp, s.h, w, Nonlinearity::tanh), Tensor()};
    case CellType::rnn_relu: return {detail::rnn_step(xp, s.h, w, Nonlinearity::relu), Tensor()};
    case CellType::gru: return {detail::gru_step(xp, s.h, w), Tensor()};
    case CellType::lstm: {
      const LSTMState next = detail::lstm_step(xp, {s.h, s.c}, w);
      return {next.h, next.c};
    }
  }
  throw std::logic_error("RecurrentLayers: unknown cell type");
}

// Which sequences are real at each time step, as bool [B, 1] masks. At steps where every sequence is
// real the masks are undefined and the runner skips masking altogether (the common case).
class StepMasks {
 public:
  StepMasks(const std::vector<std::int64_t>& lengths, std::size_t steps) : real_(steps), padding_(steps) {
    const std::size_t batch = lengths.size();
    for (std::size_t t = 0; t < steps; ++t) {
      const bool all_real = std::all_of(lengths.begin(), lengths.end(),
                                        [t](std::int64_t len) { return static_cast<std::int64_t>(t) < len; });
      if (all_real) continue;
      real_[t] = Tensor::empty({batch, 1}, DType::b8);
      padding_[t] = Tensor::empty({batch, 1}, DType::b8);
      for (std::size_t b = 0; b < batch; ++b) {
        const bool real = static_cast<std::int64_t>(t) < lengths[b];
        real_[t].data<bool>()[b] = real;
        padding_[t].data<bool>()[b] = !real;
      }
    }
  }
  bool has_padding(std::size_t t) const { return real_[t].defined(); }
  const Tensor& real(std::size_t t) const { return real_[t]; }
  const Tensor& padding(std::size_t t) const { return padding_[t]; }

 private:
  std::vector<Tensor> real_, padding_;
};

// One layer in one direction over the whole sequence x [T, B, In]: outputs [T, B, H], final state.
// The reverse direction walks t = T-1 .. 0; before a sequence's last real token its state stays the
// initial one, so it starts exactly there. In both directions padded steps leave the state alone and
// output zeros, and (through where / masked_fill) pass no gradient to the padding.
std::pair<Tensor, State> run_direction(CellType cell, const Tensor& x, const CellWeights& w, State state,
                                       const StepMasks& masks, bool reverse) {
  const std::size_t steps = x.size(0), batch = x.size(1);
  std::vector<Tensor> xp = split(project_input(x, w), 1, 0);  // one matmul for all steps, then [1, B, G*H] each
  std::vector<Tensor> outputs(steps);
  for (std::size_t k = 0; k < steps; ++k) {
    const std::size_t t = reverse ? steps - 1 - k : k;
    const Tensor xp_t = reshape(xp[t], {batch, xp[t].size(2)});
    const State next = step(cell, xp_t, state, w);
    if (!masks.has_padding(t)) {
      state = next;
      outputs[t] = next.h;
      continue;
    }
    const Tensor& real = masks.real(t);
    state.h = where(real, next.h, state.h);
    if (next.c.defined()) state.c = where(real, next.c, state.c);
    outputs[t] = masked_fill(next.h, masks.padding(t), 0.0);
  }
  return {stack(outputs, 0), state};
}

std::string layer_shape(std::size_t a, std::size_t b, std::size_t c) {
  return "[" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + "]";
}

}  // namespace

RecurrentLayers::RecurrentLayers(const char* name, CellType cell, std::size_t input_size, std::size_t hidden_size,
                                 Generator& gen, RecurrentOptions options)
    : name_(name), cell_(cell), input_size_(input_size), hidden_size_(hidden_size), options_(options) {
  const std::string n(name);
  if (input_size == 0 || hidden_size == 0 || options.num_layers == 0)
    throw std::invalid_argument(n + ": input_size, hidden_size and num_layers must be positive, got " +
                                std::to_string(input_size) + ", " + std::to_string(hidden_size) + ", " +
                                std::to_string(options.num_layers));
  if (!(options.dropout >= 0.0 && options.dropout < 1.0))
    throw std::invalid_argument(n + ": dropout must be in [0, 1), got " + std::to_string(options.dropout));
  if (!is_floating(options.dtype))
    throw std::invalid_argument(n + ": parameters must be float32 or float64, not " + dtype_name(options.dtype));
  const std::size_t dirs = num_directions();
  for (std::size_t layer = 0; layer < options.num_layers; ++layer) {
    const std::size_t layer_input = layer == 0 ? input_size : dirs * hidden_size;
    for (std::size_t d = 0; d < dirs; ++d)
      weights_.push_back(detail::init_cell_weights(
          gates_of(cell), layer_input, hidden_size, options.bias, options.dtype, gen,
          "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : ""),
          [this](const std::string& pn, Tensor t) { return register_parameter(pn, t); }));
  }
}

const CellWeights& RecurrentLayers::cell_weights(std::size_t layer, std::size_t direction) const {
  if (layer >= num_layers() || direction >= num_directions())
    throw std::invalid_argument(std::string(name_) + ": no layer " + std::to_string(layer) + " direction " +
                                std::to_string(direction) + " (" + std::to_string(num_layers()) + " layers, " +
                                std::to_string(num_directions()) + " directions)");
  return weights_[layer * num_directions() + direction];
}

SequenceOutput RecurrentLayers::run(const Tensor& input, const Tensor& lengths, const Tensor& h0,
                                    const Tensor& c0) const {
  WeightTransposeScope transposed_weights;  // each weight_hh serves every time step: transpose it once
  const std::string n(name_);
  if (!input.defined() || input.dim() != 3 || input.size(2) != input_size_ || input.size(0) == 0 ||
      input.size(1) == 0)
    throw std::invalid_argument(n + ": input has shape " + (input.defined() ? to_string(input.shape()) : "(undefined)") +
                                ", expected " + (options_.batch_first ? "[B, T, " : "[T, B, ") +
                                std::to_string(input_size_) + "] with T, B > 0 (input_size " +
                                std::to_string(input_size_) + (options_.batch_first ? ", batch_first)" : ", time-major)"));
  if (input.dtype() != options_.dtype)
    throw std::invalid_argument(n + ": input is " + dtype_name(input.dtype()) + " but the parameters are " +
                                dtype_name(options_.dtype));
  const Tensor x = options_.batch_first ? transpose(input, 0, 1) : input;  // time-major from here on
  const std::size_t steps = x.size(0), batch = x.size(1), dirs = num_directions();
  const bool lstm = cell_ == CellType::lstm;
  const StepMasks masks(checked_lengths(lengths, steps, batch), steps);
  if (lstm && h0.defined() != c0.defined())
    throw std::invalid_argument(n + ": give both h0 and c0, or neither (zeros)");
  const Tensor h_init = checked_initial("h0", h0, batch);
  const Tensor c_init = lstm ? checked_initial("c0", c0, batch) : Tensor();

  Tensor layer_input = x;
  std::vector<Tensor> h_n, c_n;
  for (std::size_t layer = 0; layer < num_layers(); ++layer) {
    if (layer > 0 && options_.dropout > 0.0 && is_training())
      layer_input = dropout(layer_input, options_.dropout, true);
    std::vector<Tensor> outputs;
    for (std::size_t d = 0; d < dirs; ++d) {
      const std::size_t row = layer * dirs + d;
      State initial;
      initial.h = h_init.defined() ? reshape(narrow(h_init, 0, row, 1), {batch, hidden_size_})
                                   : Tensor::zeros({batch, hidden_size_}, options_.dtype);
      if (lstm)
        initial.c = c_init.defined() ? reshape(narrow(c_init, 0, row, 1), {batch, hidden_size_})
                                     : Tensor::zeros({batch, hidden_size_}, options_.dtype);
      auto [out, final_state] = run_direction(cell_, layer_input, weights_[row], initial, masks, d == 1);
      outputs.push_back(out);
      h_n.push_back(final_state.h);
      if (lstm) c_n.push_back(final_state.c);
    }
    layer_input = dirs == 1 ? outputs[0] : concat(outputs, 2);
  }
  SequenceOutput result;
  result.output = options_.batch_first ? transpose(layer_input, 0, 1) : layer_input;
  result.h_n = stack(h_n, 0);
  if (lstm) result.c_n = stack(c_n, 0);
  return result;
}

std::vector<std::int64_t> RecurrentLayers::checked_lengths(const Tensor& lengths, std::size_t steps,
                                                           std::size_t batch) const {
  if (!lengths.defined()) return std::vector<std::int64_t>(batch, static_cast<std::int64_t>(steps));
  const std::string n(name_);
  if (lengths.dtype() != DType::i64 || lengths.shape() != Shape{batch})
    throw std::invalid_argument(n + ": lengths must be int64 [" + std::to_string(batch) + "] (one per sequence), got " +
                                dtype_name(lengths.dtype()) + " " + to_string(lengths.shape()));
  const std::int64_t* len = lengths.data<std::int64_t>();
  for (std::size_t b = 0; b < batch; ++b)
    if (len[b] < 1 || len[b] > static_cast<std::int64_t>(steps))
      throw std::invalid_argument(n + ": lengths[" + std::to_string(b) + "] = " + std::to_string(len[b]) +
                                  " is outside [1, " + std::to_string(steps) + "] (the input has " +
                                  std::to_string(steps) + " time steps)");
  return {len, len + batch};
}

Tensor RecurrentLayers::checked_initial(const char* what, const Tensor& given, std::size_t batch) const {
  if (!given.defined()) return given;
  const Shape want{num_layers() * num_directions(), batch, hidden_size_};
  if (given.shape() != want)
    throw std::invalid_argument(std::string(name_) + ": " + what + " has shape " + to_string(given.shape()) +
                                ", expected " + layer_shape(want[0], want[1], want[2]) +
                                " (num_layers * directions, batch, hidden_size)");
  if (given.dtype() != options_.dtype)
    throw std::invalid_argument(std::string(name_) + ": " + what + " is " + dtype_name(given.dtype()) +
                                " but the parameters are " + dtype_name(options_.dtype));
  return given;
}

RNN::RNN(std::size_t input_size, std::size_t hidden_size, Generator& gen, RecurrentOptions options,
         Nonlinearity nonlinearity)
    : RecurrentLayers("RNN", nonlinearity == Nonlinearity::tanh ? CellType::rnn_tanh : CellType::rnn_relu, input_size,
                      hidden_size, gen, options) {}

GRU::GRU(std::size_t input_size, std::size_t hidden_size, Generator& gen, RecurrentOptions options)
    : RecurrentLayers("GRU", CellType::gru, input_size, hidden_size, gen, options) {}

LSTM::LSTM(std::size_t input_size, std::size_t hidden_size, Generator& gen, RecurrentOptions options)
    : RecurrentLayers("LSTM", CellType::lstm, input_size, hidden_size, gen, options) {}

}  // namespace seqgrad::nn
