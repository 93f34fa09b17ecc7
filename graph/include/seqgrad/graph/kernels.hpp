#pragma once
// Plain loops shared by every op that broadcasts: summing a gradient back to an input's shape
// ("un-broadcasting", done here once for all ops) and adding a small tensor over a larger shape;
// the one way seqgrad sums a long run of terms fast and reproducibly (lane_sum); and column sums
// over the rows of a matrix (the gradients of per-feature scales and shifts).
#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <vector>

#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/graph/shape.hpp"

namespace seqgrad::kernels {

// s[0] + ... + s[W-1] by halving (vector adds, then a short tree); overwrites s.
template <std::size_t W, class T>
inline T halving_sum(T* s) {
  for (std::size_t h = W / 2; h >= 1; h /= 2)
    for (std::size_t l = 0; l < h; ++l) s[l] += s[l + h];
  return s[0];
}

// sum_j term(j) for j < n as 16 interleaved partial sums: independent chains the compiler vectorizes
// without reassociating flags (one running sum is a chain of dependent adds), in an order fixed by n
// alone, so the result does not depend on threads or on the machine. T is the accumulator's type.
template <class T, class Term>
inline T lane_sum(std::size_t n, Term&& term) {
  constexpr std::size_t W = 16;
  T part[W] = {};
  std::size_t j = 0;
  for (; j + W <= n; j += W)
    for (std::size_t l = 0; l < W; ++l) part[l] += term(j + l);
  T tail = 0;
  for (; j < n; ++j) tail += term(j);
  return halving_sum<W>(part) + tail;
}

// A contiguous shape seen as [outer, size, inner] around one axis: the layout every op that works
// along one axis (concat, narrow, index_select, softmax, logsumexp, ...) walks.
struct AxisBlocks {
  std::size_t outer = 1, size = 1, inner = 1;
};

inline AxisBlocks blocks_around(const Shape& shape, std::size_t axis) {
  AxisBlocks b;
  for (std::size_t d = 0; d < axis; ++d) b.outer *= shape[d];
  b.size = shape[axis];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) b.inner *= shape[d];
  return b;
}

// Strides of `small` seen from a tensor of shape `big`: dimensions that `small` broadcasts
// (missing on the left, or of size 1) get stride 0.
inline std::vector<std::size_t> broadcast_strides(const Shape& small, const Shape& big) {
  std::vector<std::size_t> st(big.size(), 0);
  const std::size_t pad = big.size() - small.size();
  std::size_t s = 1;
  for (std::size_t i = small.size(); i-- > 0;) {
    st[i + pad] = small[i] == 1 ? 0 : s;
    s *= small[i];
  }
  return st;
}

// Calls row(small_offset, big_offset, small_inner_stride, n) for each innermost row of `big`, with
// the offset of the matching element of `small` (whose strides are `st`).
template <class RowFn>
void for_each_row(const Shape& big, const std::vector<std::size_t>& st, RowFn&& row) {
  if (big.empty()) {
    row(std::size_t{0}, std::size_t{0}, std::size_t{0}, std::size_t{1});
    return;
  }
  const std::size_t rank = big.size(), n = big.back(), inner = st.back();
  std::vector<std::size_t> idx(rank, 0);
  std::size_t small_off = 0, big_off = 0;
  const std::size_t total = numel(big);
  if (total == 0) return;
  while (true) {
    row(small_off, big_off, inner, n);
    big_off += n;
    std::size_t d = rank - 1;  // advance the odometer over all but the last dimension
    while (true) {
      if (d == 0) return;
      --d;
      ++idx[d];
      small_off += st[d];
      if (idx[d] < big[d]) break;
      small_off -= st[d] * big[d];
      idx[d] = 0;
    }
  }
}

// dst (shape `small`) += src (shape `big`) summed over the dimensions `small` broadcasts.
template <class T>
void sum_to_shape_add(const T* src, const Shape& big, T* dst, const Shape& small) {
  for_each_row(big, broadcast_strides(small, big),
               [&](std::size_t so, std::size_t bo, std::size_t inner, std::size_t n) {
                 const T* s = src + bo;
                 T* d = dst + so;
                 if (inner == 0) {
                   T acc = 0;
                   for (std::size_t j = 0; j < n; ++j) acc += s[j];
                   *d += acc;
                 } else {
                   for (std::size_t j = 0; j < n; ++j) d[j] += s[j];
                 }
               });
}

// dst (shape `big`) = src (shape `small`) broadcast over `big`; with Add, dst += instead.
template <bool Add = false, class T>
void broadcast_rows(const T* src, const Shape& small, T* dst, const Shape& big) {
  for_each_row(big, broadcast_strides(small, big),
               [&](std::size_t so, std::size_t bo, std::size_t inner, std::size_t n) {
                 const T* s = src + so;
                 T* d = dst + bo;
                 auto put = [](T& to, T v) {
                   if constexpr (Add) to += v;
                   else to = v;
                 };
                 if (inner == 0) {
                   const T v = *s;
                   for (std::size_t j = 0; j < n; ++j) put(d[j], v);
                 } else {
                   for (std::size_t j = 0; j < n; ++j) put(d[j], s[j]);
                 }
               });
}

// dst (shape `big`) += src (shape `small`) broadcast over `big`.
template <class T>
void broadcast_add(const T* src, const Shape& small, T* dst, const Shape& big) {
  broadcast_rows<true>(src, small, dst, big);
}

// For a, b [rows, cols]: sums_ab[j] += sum over the rows of a[r][j] * b[r][j] and sums_a[j] += sum
// over the rows of a[r][j] (either may be null; b is read only for sums_ab). The gradients of a
// per-column scale and shift: layer norm's weight and bias, a linear layer's bias. Columns in
// chunks of 64 (blocks of them on the cores when the matrix is large); each chunk sums its rows in
// row order into accumulators on the stack, which the compiler vectorizes across the columns, and
// adds them at the end: the same bits for any number of threads.
template <class T>
void add_column_sums(std::size_t rows, std::size_t cols, const T* a, const T* b, T* sums_ab, T* sums_a) {
  constexpr std::size_t chunk = 64;
  const std::size_t grain = rows * cols >= (std::size_t{1} << 16) ? chunk : cols;
  parallel_blocks(cols, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t j0 = begin; j0 < end; j0 += chunk) {
      const std::size_t n = std::min(chunk, end - j0);
      T acc_ab[chunk] = {}, acc_a[chunk] = {};
      for (std::size_t r = 0; r < rows; ++r) {
        const T* __restrict ar = a + r * cols + j0;
        if (sums_ab) {
          const T* __restrict br = b + r * cols + j0;
          for (std::size_t j = 0; j < n; ++j) acc_ab[j] += ar[j] * br[j];
        }
        if (sums_a)
          for (std::size_t j = 0; j < n; ++j) acc_a[j] += ar[j];
      }
      for (std::size_t j = 0; j < n; ++j) {
        if (sums_ab) sums_ab[j0 + j] += acc_ab[j];
        if (sums_a) sums_a[j0 + j] += acc_a[j];
      }
    }
  });
}

}  // namespace seqgrad::kernels
