// PLACEHOLDER: embedding, index_select, gather (being written).
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/index_ops.hpp"
namespace seqgrad {
void register_index_ops(OpCatalogue&) {}
}  // namespace seqgrad
