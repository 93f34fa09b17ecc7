#pragma once
// Shared by rnn_cells.cpp and rnn_sequence.cpp (private to nn/src): the recurrent half of each cell
// without shape checks, for callers that checked every shape once before the first step (a cell's
// forward or step, a sequence layer's run); the public *_cell_step functions check, then call these.
#include "seqgrad/nn/rnn.hpp"

namespace seqgrad::nn::detail {

Tensor rnn_step(const Tensor& xp, const Tensor& h, const CellWeights& w, Nonlinearity nonlinearity);
Tensor gru_step(const Tensor& xp, const Tensor& h, const CellWeights& w);
LSTMState lstm_step(const Tensor& xp, const LSTMState& state, const CellWeights& w);

}  // namespace seqgrad::nn::detail
