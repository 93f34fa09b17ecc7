#pragma once
// Shape ops. Results are contiguous: reshape/reshape_infer/unsqueeze/squeeze share the input's data
// (as torch views), the others copy. Forwards accept every dtype; gradients flow for float32/float64.
// Axes may be negative (counting from the end); a bad axis is std::invalid_argument naming the op,
// the axis and the rank.
#include <vector>

#include "seqgrad/graph/node.hpp"

namespace seqgrad {

Tensor reshape(const Tensor& x, const Shape& shape);  // same number of elements
Tensor reshape_infer(const Tensor& x, const std::vector<long>& shape);  // one dimension may be -1
// Output dimension k is input dimension order[k] (torch.permute); a copy.
Tensor permute(const Tensor& x, const std::vector<std::size_t>& order);
Tensor transpose(const Tensor& x, long dim0, long dim1);
Tensor unsqueeze(const Tensor& x, long axis);  // axis in [-(rank+1), rank]
Tensor squeeze(const Tensor& x, long axis);    // that dimension must have size 1
Tensor broadcast_to(const Tensor& x, const Shape& shape);  // numpy rules; gradient summed back
// Joins along `axis`; every other dimension and the dtype must match (the error names both shapes).
Tensor concat(const std::vector<Tensor>& xs, long axis);
Tensor stack(const std::vector<Tensor>& xs, long axis);  // equal shapes; a new axis
// Elements [start, start + length) along `axis` (torch.narrow), copied. A range past the end of the
// axis is std::out_of_range naming start, length and the size.
Tensor narrow(const Tensor& x, long axis, std::size_t start, std::size_t length);
// Chunks of `size` > 0 along `axis` (the last may be smaller), as torch.split; each is a narrow.
std::vector<Tensor> split(const Tensor& x, std::size_t size, long axis);
// Converted copy; differentiable between float32 and float64 (the gradient is cast back), no
// gradient through other dtypes. Casting to x's own dtype returns x itself, as torch's .to().
Tensor cast(const Tensor& x, DType dtype);

}  // namespace seqgrad
