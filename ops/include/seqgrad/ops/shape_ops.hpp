#pragma once
// Shape ops. Results are contiguous: reshape/unsqueeze/squeeze share the input's data, the others copy.
#include <vector>

#include "seqgrad/graph/node.hpp"

namespace seqgrad {

Tensor reshape(const Tensor& x, const Shape& shape);  // one dimension may be given as -1 via reshape_infer
Tensor reshape_infer(const Tensor& x, const std::vector<long>& shape);
Tensor permute(const Tensor& x, const std::vector<std::size_t>& order);
Tensor transpose(const Tensor& x, long dim0, long dim1);
Tensor unsqueeze(const Tensor& x, long axis);
Tensor squeeze(const Tensor& x, long axis);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor concat(const std::vector<Tensor>& xs, long axis);
Tensor stack(const std::vector<Tensor>& xs, long axis);
Tensor narrow(const Tensor& x, long axis, std::size_t start, std::size_t length);  // torch.narrow
std::vector<Tensor> split(const Tensor& x, std::size_t size, long axis);  // chunks of `size` (last may be smaller)
Tensor cast(const Tensor& x, DType dtype);  // differentiable between float dtypes

}  // namespace seqgrad
