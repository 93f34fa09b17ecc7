// The nn layers' evaluators, one file per layer family.
#include "evaluators.hpp"

namespace seqgrad::conformance {

void register_nn_evaluators(Registry& r) {
  register_rnn_evaluators(r);
  register_attention_evaluators(r);
  register_optim_evaluators(r);
}

}  // namespace seqgrad::conformance
