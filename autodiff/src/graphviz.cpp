#include "seqgrad/autodiff/graphviz.hpp"

#include <sstream>
#include <unordered_map>
#include <vector>

namespace seqgrad {

std::string to_dot(const Tensor& root) {
  std::ostringstream os;
  os << "digraph seqgrad {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n";
  if (!root.grad_fn()) {
    os << "  n0 [label=\"" << (root.name().empty() ? "tensor" : root.name()) << "\\n" << to_string(root.shape())
       << "\"];\n}\n";
    return os.str();
  }
  std::unordered_map<const Node*, std::size_t> ids;
  std::vector<const Node*> stack{root.grad_fn().get()};
  ids[stack.back()] = 0;
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    const std::size_t id = ids[n];
    std::string label = n->op;
    if (n->leaf_accumulator) {
      auto leaf = n->leaf.lock();
      label = leaf && !leaf->name.empty() ? leaf->name : "leaf";
    }
    os << "  n" << id << " [label=\"" << label << "\\n" << to_string(n->shape) << "\""
       << (n->leaf_accumulator ? ", style=filled, fillcolor=lightblue" : "") << "];\n";
    for (const auto& next : n->next) {
      if (!next) continue;
      auto [it, fresh] = ids.emplace(next.get(), ids.size());
      if (fresh) stack.push_back(next.get());
      os << "  n" << it->second << " -> n" << id << ";\n";
    }
  }
  os << "}\n";
  return os.str();
}

}  // namespace seqgrad
