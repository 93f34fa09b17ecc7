// PLACEHOLDER: shape ops (being written).
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/shape_ops.hpp"
namespace seqgrad {
void register_shape_ops(OpCatalogue&) {}
}  // namespace seqgrad
