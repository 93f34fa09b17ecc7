// Evaluators of the rnn golden cases: each cell as the input projection plus the recurrent step, the
// same two calls that nn::RNNCell / GRUCell / LSTMCell and the sequence layers make.
#include "evaluators.hpp"
#include "seqgrad/nn/rnn.hpp"

namespace seqgrad::conformance {

namespace {

nn::CellWeights cell_weights(const CaseView& c) {
  return {c.input("weight_ih"), c.input("weight_hh"), c.optional_input("bias_ih"), c.optional_input("bias_hh")};
}

}  // namespace

void register_rnn_evaluators(Registry& r) {
  r.add("rnn_tanh_cell", [](const CaseView& c) {
    const nn::CellWeights w = cell_weights(c);
    return NamedTensors{{"h", nn::rnn_cell_step(nn::project_input(c.input("x"), w), c.input("h"), w,
                                                nn::Nonlinearity::tanh)}};
  });

  r.add("gru_cell", [](const CaseView& c) {
    const nn::CellWeights w = cell_weights(c);
    return NamedTensors{{"h", nn::gru_cell_step(nn::project_input(c.input("x"), w), c.input("h"), w)}};
  });

  r.add("lstm_cell", [](const CaseView& c) {
    const nn::CellWeights w = cell_weights(c);
    const nn::LSTMState next = nn::lstm_cell_step(nn::project_input(c.input("x"), w), {c.input("h"), c.input("c")}, w);
    return NamedTensors{{"h", next.h}, {"c", next.c}};
  });
}

}  // namespace seqgrad::conformance
