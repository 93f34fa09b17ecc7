#pragma once
// Shared by rnn_cells.cpp and rnn_sequence.cpp (private to nn/src): drawing one cell's parameters.
#include <functional>
#include <string>

#include "seqgrad/nn/rnn.hpp"

namespace seqgrad::nn::detail {

using RegisterParameter = std::function<Tensor(const std::string& name, Tensor value)>;

// weight_ih [G*H, I], weight_hh [G*H, H], bias_ih, bias_hh [G*H] (names + suffix), each drawn from
// U(-1/sqrt(H), 1/sqrt(H)) in that order, as torch, and registered through `reg`.
inline CellWeights init_cell_weights(std::size_t gates, std::size_t input_size, std::size_t hidden_size,
                                     bool bias, DType dtype, Generator& gen, const std::string& suffix,
                                     const RegisterParameter& reg) {
  auto draw = [&](const std::string& name, const Shape& shape) {
    Tensor t = Tensor::empty(shape, dtype);
    init::fan_uniform_(t, hidden_size, gen);
    return reg(name + suffix, t);
  };
  CellWeights w;
  w.weight_ih = draw("weight_ih", {gates * hidden_size, input_size});
  w.weight_hh = draw("weight_hh", {gates * hidden_size, hidden_size});
  if (bias) {
    w.bias_ih = draw("bias_ih", {gates * hidden_size});
    w.bias_hh = draw("bias_hh", {gates * hidden_size});
  }
  return w;
}

}  // namespace seqgrad::nn::detail
