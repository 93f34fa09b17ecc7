#pragma once
// Recurrent layers, as PyTorch defines them: the cells RNNCell, GRUCell, LSTMCell (one time step) and
// the sequence layers RNN, GRU, LSTM (many layers, both directions, padded batches with lengths).
//
// Equations, gate order and parameter names follow torch.nn exactly. G is the number of gates
// (RNN 1, GRU 3, LSTM 4); weight_ih [G*H, I], weight_hh [G*H, H], bias_ih and bias_hh [G*H], all drawn
// from U(-1/sqrt(H), 1/sqrt(H)).
//   RNN:  h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                       (or relu)
//   GRU:  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)                     gates in the order r, z, n
//         z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//         n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//         h' = (1 - z) * n + z * h
//   LSTM: i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of (W_ih x + b_ih + W_hh h + b_hh)   (in that order)
//         c' = f * c + i * g,  h' = o * tanh(c')
//
// Every cell splits into two halves. The input half, x W_ih^T + b_ih for all gates, does not depend on
// the state, so a sequence layer computes it for all T steps in one matmul (project_input on [T, B, I]);
// the recurrent half (the *_cell_step functions) takes that projection and the state.
#include <cstdint>
#include <vector>

#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

enum class Nonlinearity { tanh, relu };

// One cell's parameters (torch names). The biases are undefined in a layer built without bias.
struct CellWeights {
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

struct LSTMState {
  Tensor h, c;  // each [B, H]
};

// ---- the two halves of each cell, shared by the cells and the sequence layers ----

// x W_ih^T + b_ih for every gate at once: x [..., I] -> [..., G*H] (any leading dimensions).
Tensor project_input(const Tensor& x, const CellWeights& w);
// The rest of each cell's equations, from the projected input xp [B, G*H] and the state [B, H].
Tensor rnn_cell_step(const Tensor& xp, const Tensor& h, const CellWeights& w,
                     Nonlinearity nonlinearity = Nonlinearity::tanh);
Tensor gru_cell_step(const Tensor& xp, const Tensor& h, const CellWeights& w);
LSTMState lstm_cell_step(const Tensor& xp, const LSTMState& state, const CellWeights& w);

// ---- cells: one time step, as torch.nn.RNNCell / GRUCell / LSTMCell ----

struct CellOptions {
  bool bias = true;
  DType dtype = DType::f32;
};

// What the three cells share: sizes, the four parameters and the input projection.
class RecurrentCell : public Module {
 public:
  std::size_t input_size() const { return input_size_; }
  std::size_t hidden_size() const { return hidden_size_; }
  CellWeights weights() const { return {weight_ih, weight_hh, bias_ih, bias_hh}; }
  // x [..., I] -> [..., G*H]; for a whole sequence [T, B, I] at once.
  Tensor project_input(const Tensor& x) const;

  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias

 protected:
  RecurrentCell(const char* name, std::size_t gates, std::size_t input_size, std::size_t hidden_size,
                Generator& gen, CellOptions options);
  // Throws std::invalid_argument naming this cell when x is not [B, I] or a state is not [B, H].
  void check_input(const Tensor& x) const;
  void check_state(const char* what, const Tensor& state, std::size_t batch) const;
  void check_projection(const Tensor& xp) const;
  Tensor zero_state(std::size_t batch) const;

  const char* name_;
  std::size_t gates_, input_size_, hidden_size_;
};

class RNNCell : public RecurrentCell {
 public:
  RNNCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, CellOptions options = {},
          Nonlinearity nonlinearity = Nonlinearity::tanh);
  // x [B, I], h [B, H] (zeros when undefined) -> h' [B, H]
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
  Tensor operator()(const Tensor& x, const Tensor& h = Tensor()) const { return forward(x, h); }
  // The same step from a precomputed projection xp = project_input(x), [B, H].
  Tensor step(const Tensor& xp, const Tensor& h) const;
  Nonlinearity nonlinearity() const { return nonlinearity_; }

 private:
  Nonlinearity nonlinearity_;
};

class GRUCell : public RecurrentCell {
 public:
  GRUCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, CellOptions options = {});
  Tensor forward(const Tensor& x, const Tensor& h = Tensor()) const;
  Tensor operator()(const Tensor& x, const Tensor& h = Tensor()) const { return forward(x, h); }
  Tensor step(const Tensor& xp, const Tensor& h) const;  // xp [B, 3H]
};

class LSTMCell : public RecurrentCell {
 public:
  LSTMCell(std::size_t input_size, std::size_t hidden_size, Generator& gen, CellOptions options = {});
  // x [B, I], state {h, c} each [B, H] (both undefined: zeros) -> {h', c'}
  LSTMState forward(const Tensor& x, const LSTMState& state = {}) const;
  LSTMState operator()(const Tensor& x, const LSTMState& state = {}) const { return forward(x, state); }
  LSTMState step(const Tensor& xp, const LSTMState& state) const;  // xp [B, 4H]
};

// ---- sequence layers, as torch.nn.RNN / GRU / LSTM ----
//
// Layout: time-major, input [T, B, I] and output [T, B, D*H] (D = 2 when bidirectional, forward
// direction first), as torch's default; batch_first = true takes [B, T, I] and gives [B, T, D*H].
// Final states are always [num_layers*D, B, H], row layer*D + direction, as torch.
//
// Padded batches: lengths (int64 [B], each in [1, T], as torch's pack_padded_sequence requires) gives
// each sequence's number of real steps. A sequence's state stops changing after its last real step, so
// h_n holds the state at that step, and outputs at padded steps are zero (as pad_packed_sequence).
// The reverse direction starts at each sequence's own last real token. Without lengths every sequence
// has T steps. Dropout (training only) applies to each layer's output except the last's, drawing
// from default_generator().
//
// Parameters, per layer k and direction: weight_ih_l<k>, weight_hh_l<k>, bias_ih_l<k>, bias_hh_l<k>,
// with the suffix _reverse for the backward direction, registered in torch's order.

struct RecurrentOptions {
  std::size_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  double dropout = 0.0;  // in [0, 1)
  bool bidirectional = false;
  DType dtype = DType::f32;
};

struct SequenceOutput {
  Tensor output;  // [T, B, D*H] ([B, T, D*H] when batch_first)
  Tensor h_n;     // [num_layers*D, B, H]
  Tensor c_n;     // LSTM only: [num_layers*D, B, H]
};

enum class CellType { rnn_tanh, rnn_relu, gru, lstm };

// The machinery of the three sequence layers (torch's RNNBase).
class RecurrentLayers : public Module {
 public:
  std::size_t input_size() const { return input_size_; }
  std::size_t hidden_size() const { return hidden_size_; }
  std::size_t num_layers() const { return options_.num_layers; }
  std::size_t num_directions() const { return options_.bidirectional ? 2 : 1; }
  const RecurrentOptions& options() const { return options_; }
  // The weights of one layer and direction (0 forward, 1 reverse).
  const CellWeights& cell_weights(std::size_t layer, std::size_t direction) const;

 protected:
  RecurrentLayers(const char* name, CellType cell, std::size_t input_size, std::size_t hidden_size,
                  Generator& gen, RecurrentOptions options);
  // input as documented above; lengths int64 [B] or undefined; h0 (and c0 for LSTM) [layers*D, B, H]
  // or undefined (zeros).
  SequenceOutput run(const Tensor& input, const Tensor& lengths, const Tensor& h0, const Tensor& c0) const;

 private:
  std::vector<std::int64_t> checked_lengths(const Tensor& lengths, std::size_t steps, std::size_t batch) const;
  Tensor checked_initial(const char* what, const Tensor& given, std::size_t batch) const;

  const char* name_;
  CellType cell_;
  std::size_t input_size_, hidden_size_;
  RecurrentOptions options_;
  std::vector<CellWeights> weights_;  // index layer * D + direction
};

class RNN : public RecurrentLayers {
 public:
  RNN(std::size_t input_size, std::size_t hidden_size, Generator& gen, RecurrentOptions options = {},
      Nonlinearity nonlinearity = Nonlinearity::tanh);
  SequenceOutput forward(const Tensor& input, const Tensor& lengths = Tensor(), const Tensor& h0 = Tensor()) const {
    return run(input, lengths, h0, Tensor());
  }
};

class GRU : public RecurrentLayers {
 public:
  GRU(std::size_t input_size, std::size_t hidden_size, Generator& gen, RecurrentOptions options = {});
  SequenceOutput forward(const Tensor& input, const Tensor& lengths = Tensor(), const Tensor& h0 = Tensor()) const {
    return run(input, lengths, h0, Tensor());
  }
};

class LSTM : public RecurrentLayers {
 public:
  LSTM(std::size_t input_size, std::size_t hidden_size, Generator& gen, RecurrentOptions options = {});
  SequenceOutput forward(const Tensor& input, const Tensor& lengths = Tensor(), const Tensor& h0 = Tensor(),
                         const Tensor& c0 = Tensor()) const {
    return run(input, lengths, h0, c0);
  }
};

}  // namespace seqgrad::nn
