#pragma once
// What the transformer encoder and decoder tests build their small float64 layers with.
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/ops/ops.hpp"

#include <string>
#include <vector>

namespace seqgrad::test_support {

// d_model and heads are the test's; a feed-forward block of 6, float64.
inline nn::TransformerLayerOptions small_layer(bool norm_first, nn::Activation activation, double dropout = 0.0) {
  return {.dim_feedforward = 6, .dropout = dropout, .activation = activation, .norm_first = norm_first,
          .dtype = DType::f64};
}

// Gives the norms (norm1.*, norm2.*, ...) non-trivial weights and biases, so that their gradients
// are checked away from (1, 0).
inline void perturb_norms(nn::Module& layer, Generator& gen) {
  for (auto& [name, p] : layer.named_parameters())
    if (name.rfind("norm", 0) == 0) p.copy_from_(rand_uniform(p.shape(), 0.5, 1.5, DType::f64, gen));
}

// "name[shape]" of each parameter, in registration order: what PyTorch's state_dict lists.
inline std::vector<std::string> names_and_shapes(const nn::Module& module) {
  std::vector<std::string> out;
  for (const auto& [name, p] : module.named_parameters()) out.push_back(name + to_string(p.shape()));
  return out;
}

// A layer's gradient-check inputs: the given leaves, then every parameter of the layer.
inline std::vector<Tensor> with_parameters(std::vector<Tensor> leaves, const nn::Module& layer) {
  for (const auto& p : layer.parameters()) leaves.push_back(p);
  return leaves;
}

// One setting of a layer's gradient check: its norm placement, activation and masking.
struct LayerVariant {
  const char* name;
  bool norm_first;
  nn::Activation activation;
  bool causal;
};

}  // namespace seqgrad::test_support
