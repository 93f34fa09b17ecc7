#pragma once
// Graph export: the graph that produced a tensor, as Graphviz DOT (op names and output shapes).
#include <string>

#include "seqgrad/graph/node.hpp"

namespace seqgrad {

// `dot -Tpng graph.dot -o graph.png` draws it. Leaves show their names (Tensor::set_name) and shapes.
std::string to_dot(const Tensor& root);

}  // namespace seqgrad
