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
#define SEQGRAD_OP_FAMILY(FAMILY, HEADER, SOURCE) register_##FAMILY##_ops(c);
#include "seqgrad/ops/op_families.def"
#undef SEQGRAD_OP_FAMILY
    return c;
  }();
  return catalogue;
}

}  // namespace seqgrad
