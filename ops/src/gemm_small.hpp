#pragma once
// Products with one dimension of 1 (a row vector times a matrix, a matrix times a column vector, an
// outer product): the batch-1 recurrent steps and attention contexts call these hundreds of times a
// step, where a BLAS library's per-call setup (checks, packing, dispatch) costs more than the
// arithmetic. Plain loops the compiler vectorizes; single-threaded. Same contract as gemm() in
// seqgrad/ops/backend.hpp (beta = 0 does not read C).
#include <algorithm>
#include <cstddef>
#include <vector>

#include "seqgrad/graph/kernels.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace seqgrad::small_gemm {

// A scratch vector per thread, for gathered operands and accumulators.
template <class T>
T* scratch(std::size_t slot, std::size_t n) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& v = buffers[slot];
  if (v.size() < n) v.resize(std::max(n, 2 * v.size()));
  return v.data();
}

using kernels::halving_sum;

// sum_k x[k] y[k], as kernels::lane_sum's 16 independent partial sums.
template <class T>
inline T dot(const T* x, const T* y, std::size_t n) {
  return kernels::lane_sum<T>(n, [x, y](std::size_t k) { return x[k] * y[k]; });
}

// acc[0..n) = sum_k x[k] rows[k * ld + 0..n): the outputs held in registers, 64 at a time, while k
// runs (an accumulator in memory would be loaded and stored for every k).
template <class T>
inline void row_combination(const T* x, const T* rows, std::size_t ld, std::size_t K, std::size_t n, T* acc) {
  constexpr std::size_t W = 64 / sizeof(T) * 4;  // 64 floats or 32 doubles: 8 AVX2 registers
  std::size_t j = 0;
  for (; j + W <= n; j += W) {
    T r[W] = {};
    for (std::size_t k = 0; k < K; ++k) {
      const T xk = x[k];
      const T* row = rows + k * ld + j;
      for (std::size_t l = 0; l < W; ++l) r[l] += xk * row[l];
    }
    std::copy(r, r + W, acc + j);
  }
  if (j == n) return;
  const std::size_t rest = n - j;
  std::fill(acc + j, acc + n, T(0));
  for (std::size_t k = 0; k < K; ++k) {
    const T xk = x[k];
    const T* row = rows + k * ld + j;
    for (std::size_t l = 0; l < rest; ++l) acc[j + l] += xk * row[l];
  }
}

// out[j] = dot(x, rows[j * ld ..]) for j < n: four rows at a time share the loads of x.
template <class T>
inline void row_dots(const T* x, const T* rows, std::size_t ld, std::size_t K, std::size_t n, T* out) {
  constexpr std::size_t W = 32 / sizeof(T);  // one AVX2 register
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const T* r0 = rows + j * ld;
    const T* r1 = r0 + ld;
    const T* r2 = r1 + ld;
    const T* r3 = r2 + ld;
    T s0[2 * W] = {}, s1[2 * W] = {}, s2[2 * W] = {}, s3[2 * W] = {};
    std::size_t k = 0;
    for (; k + 2 * W <= K; k += 2 * W)
      for (std::size_t l = 0; l < 2 * W; ++l) {
        const T xv = x[k + l];
        s0[l] += xv * r0[k + l];
        s1[l] += xv * r1[k + l];
        s2[l] += xv * r2[k + l];
        s3[l] += xv * r3[k + l];
      }
    T t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    for (; k < K; ++k) {
      t0 += x[k] * r0[k];
      t1 += x[k] * r1[k];
      t2 += x[k] * r2[k];
      t3 += x[k] * r3[k];
    }
    out[j] = halving_sum<2 * W>(s0) + t0;
    out[j + 1] = halving_sum<2 * W>(s1) + t1;
    out[j + 2] = halving_sum<2 * W>(s2) + t2;
    out[j + 3] = halving_sum<2 * W>(s3) + t3;
  }
  for (; j < n; ++j) out[j] = dot(x, rows + j * ld, K);
}

#if defined(__AVX2__) && defined(__FMA__)
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The float version with AVX2 registers spelled out: four rows, two accumulators each.
template <>
inline void row_dots<float>(const float* x, const float* rows, std::size_t ld, std::size_t K, std::size_t n,
                            float* out) {
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* r[4] = {rows + j * ld, rows + (j + 1) * ld, rows + (j + 2) * ld, rows + (j + 3) * ld};
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    std::size_t k = 0;
    for (; k + 16 <= K; k += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
      a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[0] + k), a0);
      a1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[1] + k), a1);
      a2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[2] + k), a2);
      a3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[3] + k), a3);
      b0 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r[0] + k + 8), b0);
      b1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r[1] + k + 8), b1);
      b2 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r[2] + k + 8), b2);
      b3 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(r[3] + k + 8), b3);
    }
    for (; k + 8 <= K; k += 8) {
      const __m256 x0 = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[0] + k), a0);
      a1 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[1] + k), a1);
      a2 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[2] + k), a2);
      a3 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(r[3] + k), a3);
    }
    float t[4] = {hsum(_mm256_add_ps(a0, b0)), hsum(_mm256_add_ps(a1, b1)), hsum(_mm256_add_ps(a2, b2)),
                  hsum(_mm256_add_ps(a3, b3))};
    for (; k < K; ++k)
      for (int q = 0; q < 4; ++q) t[q] += x[k] * r[q][k];
    for (int q = 0; q < 4; ++q) out[j + q] = t[q];
  }
  for (; j < n; ++j) out[j] = dot(x, rows + j * ld, K);
}
#endif

// out[j] = alpha * acc[j] + beta * out[j], reading out only when beta != 0.
template <class T>
inline void store(T* out, const T* acc, std::size_t n, T alpha, T beta) {
  if (beta == T(0))
    for (std::size_t j = 0; j < n; ++j) out[j] = alpha * acc[j];
  else
    for (std::size_t j = 0; j < n; ++j) out[j] = alpha * acc[j] + beta * out[j];
}

// Element k of a strided vector, gathered into contiguous scratch when the stride is not 1.
template <class T>
const T* contiguous(const T* p, std::size_t n, std::size_t stride, std::size_t slot) {
  if (stride == 1) return p;
  T* s = scratch<T>(slot, n);
  for (std::size_t k = 0; k < n; ++k) s[k] = p[k * stride];
  return s;
}

// True when the product has a dimension of 1 and was computed here.
template <class T>
bool try_gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A, std::size_t lda,
              const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  // op(A)[i,k] = ta ? A[k*lda + i] : A[i*lda + k];  op(B)[k,j] = tb ? B[j*ldb + k] : B[k*ldb + j].
  if (K == 1) {  // outer product: C[i,:] = alpha * a_i * b + beta * C[i,:]
    const T* b = contiguous(B, N, tb ? ldb : 1, 0);
    for (std::size_t i = 0; i < M; ++i) {
      const T ai = alpha * (ta ? A[i] : A[i * lda]);
      T* c = C + i * ldc;
      if (beta == T(0))
        for (std::size_t j = 0; j < N; ++j) c[j] = ai * b[j];
      else if (beta == T(1))
        for (std::size_t j = 0; j < N; ++j) c[j] += ai * b[j];
      else
        for (std::size_t j = 0; j < N; ++j) c[j] = ai * b[j] + beta * c[j];
    }
    return true;
  }
  if (M == 1) {  // row vector a [K] times op(B) [K,N]
    const T* a = contiguous(A, K, ta ? lda : 1, 0);
    T* acc = scratch<T>(1, N);
    if (!tb) row_combination(a, B, ldb, K, N, acc);  // acc = sum_k a_k B[k,:]
    else row_dots(a, B, ldb, K, N, acc);             // B stored [N,K]: one dot product per output
    store(C, acc, N, alpha, beta);
    return true;
  }
  if (N == 1) {  // op(A) [M,K] times a column vector b [K]
    const T* b = contiguous(B, K, tb ? 1 : ldb, 0);
    T* acc = scratch<T>(1, M);
    if (!ta) row_dots(b, A, lda, K, M, acc);  // rows of A: one dot product per output
    else row_combination(b, A, lda, K, M, acc);  // A stored [K,M]: acc = sum_k b_k A[k,:]
    // C is a column: element i at C[i * ldc].
    for (std::size_t i = 0; i < M; ++i)
      C[i * ldc] = beta == T(0) ? alpha * acc[i] : alpha * acc[i] + beta * C[i * ldc];
    return true;
  }
  return false;
}

}  // namespace seqgrad::small_gemm
