#include "seqgrad/nn/linear.hpp"

#include "seqgrad/ops/linalg.hpp"

namespace seqgrad::nn {

Linear::Linear(std::size_t in_features, std::size_t out_features, Generator& gen, LinearOptions options)
    : in_(in_features), out_(out_features) {
  weight = Tensor::empty({out_features, in_features}, options.dtype);
  init::fan_uniform_(weight, in_features, gen);
  register_parameter("weight", weight);
  if (options.bias) {
    bias = Tensor::empty({out_features}, options.dtype);
    init::fan_uniform_(bias, in_features, gen);
    register_parameter("bias", bias);
  }
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

}  // namespace seqgrad::nn
