// PLACEHOLDER: reductions, softmax, log_softmax, logsumexp (being written).
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/reduce.hpp"
namespace seqgrad {
void register_reduce_ops(OpCatalogue&) {}
}  // namespace seqgrad
