#pragma once
// xtensor views over Tensor data: ops write their math as xtensor expressions assigned with
// xt::noalias into pool buffers, which vectorizes through xsimd and allocates nothing.
// Private to ops/ (the only library whose translation units pay for xtensor's templates).
#include <array>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad::xtb {

// All elements as one 1-D array: the fastest path when shapes match.
template <class T>
auto flat(const Tensor& t) {
  const std::size_t n = t.numel();
  return xt::adapt(const_cast<T*>(t.data<T>()), n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}

// Elements [begin, end) as a 1-D array: one block of a flat loop split across threads.
template <class T>
auto flat(const Tensor& t, std::size_t begin, std::size_t end) {
  return xt::adapt(const_cast<T*>(t.data<T>()) + begin, end - begin, xt::no_ownership(),
                   std::array<std::size_t, 1>{end - begin});
}

// Elements [begin, end) of a raw buffer.
template <class T>
auto flat(T* p, std::size_t begin, std::size_t end) {
  return xt::adapt(p + begin, end - begin, xt::no_ownership(), std::array<std::size_t, 1>{end - begin});
}

// A [rows, cols] matrix over a pointer (for gemm).
template <class T>
auto matrix(const T* p, std::size_t rows, std::size_t cols) {
  return xt::adapt(const_cast<T*>(p), rows * cols, xt::no_ownership(), std::array<std::size_t, 2>{rows, cols});
}

}  // namespace seqgrad::xtb
