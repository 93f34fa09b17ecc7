#pragma once
// Reductions over any set of axes (negative axes count from the end), with or without keepdim, and
// the row-wise normalisers softmax, log_softmax and logsumexp (stable for large values).
#include <vector>

#include "seqgrad/graph/node.hpp"

namespace seqgrad {

using Axes = std::vector<long>;  // empty = all axes

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdim = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdim = false);  // gradient to the (first) argmax
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdim = false, bool unbiased = false);
Tensor logsumexp(const Tensor& x, long axis, bool keepdim = false);
Tensor softmax(const Tensor& x, long axis = -1);
Tensor log_softmax(const Tensor& x, long axis = -1);
Tensor argmax(const Tensor& x, long axis, bool keepdim = false);  // int64 indices, no gradient

}  // namespace seqgrad
