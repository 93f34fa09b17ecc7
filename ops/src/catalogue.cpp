#include "seqgrad/ops/catalogue.hpp"

#include <stdexcept>

namespace seqgrad {

void OpCatalogue::add(OpEntry entry) {
  for (const auto& e : entries_)
    if (e.name == entry.name) throw std::invalid_argument("op catalogue: '" + entry.name + "' is registered twice");
  entries_.push_back(std::move(entry));
}

const OpEntry& OpCatalogue::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e;
  throw std::invalid_argument("op catalogue: no op named '" + name + "'");
}

const OpCatalogue& op_catalogue() {
  static const OpCatalogue catalogue = [] {
    OpCatalogue c;
    register_elementwise_ops(c);
    register_linalg_ops(c);
    register_reduce_ops(c);
    register_shape_ops(c);
    register_index_ops(c);
    register_nn_ops(c);
    return c;
  }();
  return catalogue;
}

}  // namespace seqgrad
