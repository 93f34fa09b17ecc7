#pragma once
// The reference the GEMM backend's tests compare with: a plain loop in long double.
#include <cstddef>
#include <random>
#include <vector>

namespace seqgrad::test_support {

// n values uniform in [-1, 1).
template <class T>
std::vector<T> random_vector(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(n);
  for (T& x : v) x = T(u(rng));
  return v;
}

// C = alpha op(A) op(B) + beta C in long double, beta = 0 not reading C; every operand value goes
// through `operand` first (the bfloat16 tests round them there).
template <class T, class Operand>
void naive_gemm(Operand operand, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  for (std::size_t i = 0; i < M; ++i)
    for (std::size_t j = 0; j < N; ++j) {
      long double s = 0;
      for (std::size_t k = 0; k < K; ++k)
        s += (long double)operand(ta ? A[k * lda + i] : A[i * lda + k]) *
             (long double)operand(tb ? B[j * ldb + k] : B[k * ldb + j]);
      const long double old = beta == T(0) ? 0.0L : (long double)beta * C[i * ldc + j];
      C[i * ldc + j] = T((long double)alpha * s + old);
    }
}

}  // namespace seqgrad::test_support
