#pragma once
// Linear: y = x W^T + b, as torch.nn.Linear (weight [out, in], bias [out]; both U(-1/sqrt(in), 1/sqrt(in))).
#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

struct LinearOptions {
  bool bias = true;
  DType dtype = DType::f32;
};

class Linear : public Module {
 public:
  Linear(std::size_t in_features, std::size_t out_features, Generator& gen, LinearOptions options = {});
  Tensor forward(const Tensor& x) const;  // x [..., in] -> [..., out]
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::size_t in_features() const { return in_; }
  std::size_t out_features() const { return out_; }
  Tensor weight;
  Tensor bias;  // undefined without bias

 private:
  std::size_t in_, out_;
};

}  // namespace seqgrad::nn
