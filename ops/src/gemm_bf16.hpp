#pragma once
// float32 products with bfloat16 operands (AutocastScope, seqgrad/ops/backend.hpp), on oneDNN's
// matmul primitive: the operands are rounded to bfloat16 into packed scratch buffers, the products
// accumulate in float32 into C. Internal to the GEMM backend (gemm_backend.cpp calls these).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "seqgrad/graph/pool.hpp"

namespace seqgrad::bf16_gemm {

// A float32 operand's bfloat16 copy, shared by the products that read the same operand: a linear
// layer's input and weight are read by its forward product and again by its backward's (dX = dY W,
// dW = dY^T X). Empty until the first bf16 product that is handed it rounds the operand into it;
// later products read the copy. The operand must not change meanwhile (as for any saved input).
struct RoundedCopy {
  const float* source = nullptr;
  std::size_t rows = 0, cols = 0;
  // [rows, cols] packed, from the thread's buffer pool: made anew every step, a zero-filled vector
  // cost 2% of the MHSA step in its memset and page faults.
  std::unique_ptr<Storage> values;
  std::uint16_t* data() const { return static_cast<std::uint16_t*>(values->data()); }
};

// C = alpha op(A) op(B) + bias + beta C: the contract of seqgrad::gemm (beta = 0 does not read C)
// plus `bias`, null or N values added to every row of C (a linear layer's: the product's kernel adds
// it, where copying it into C beforehand cost a pass over C). On up to `threads` threads. The work is
// cut into blocks chosen from the shape alone, so C does not depend on `threads`. a_copy (used when
// A is read untransposed and packed) and b_copy (B packed) may be null, or the operand's shared
// copy (see RoundedCopy): filled here when empty, read when full.
void gemm(std::size_t threads, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
          const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc,
          RoundedCopy* a_copy = nullptr, RoundedCopy* b_copy = nullptr, const float* bias = nullptr);

// C [M, N] (leading dimension ldc) = bias (N values) in every row + beta C; beta = 0 does not read C.
inline void start_from_bias(std::size_t M, std::size_t N, const float* bias, float beta, float* C, std::size_t ldc) {
  for (std::size_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f) std::copy(bias, bias + N, row);
    else for (std::size_t j = 0; j < N; ++j) row[j] = beta * row[j] + bias[j];
  }
}

// Same contract as seqgrad::gemm_batched.
void gemm_batched(std::size_t threads, std::size_t batch, bool ta, bool tb, std::size_t M, std::size_t N,
                  std::size_t K, const float* A, std::size_t stride_a, const float* B, std::size_t stride_b, float beta,
                  float* C, std::size_t stride_c);

// Operands known to stay constant for a while, rounded to bfloat16 once rather than by every product
// that reads them: a weight's transposed copy inside a WeightTransposeScope serves one product per
// time step. hold_constant(data, n) promises that data[0, n) neither changes nor is freed until
// release_constants(), both on this thread; a bf16 product on this thread whose right operand is
// exactly that array (packed) rounds it at its first use and reuses the rounded copy afterwards.
void hold_constant(const float* data, std::size_t n);
void release_constants();

// oneDNN's name for the kernel a bf16 product runs on (e.g. "brg:avx512_core_bf16"), or
// "unavailable: " and the reason.
std::string kernel_name();

}  // namespace seqgrad::bf16_gemm

namespace seqgrad::gemm_internal {
// seqgrad::gemm<float> with the operands' shared bfloat16 copies (bf16_gemm::RoundedCopy, either may
// be null), which a bf16 product reads or fills; a float32 product ignores them. bias: as for
// bf16_gemm::gemm. Profiled and threaded as seqgrad::gemm (defined in gemm_backend.cpp).
void gemm_sharing_copies(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A, const float* B,
                         float beta, float* C, bf16_gemm::RoundedCopy* a_copy, bf16_gemm::RoundedCopy* b_copy,
                         const float* bias = nullptr);
}  // namespace seqgrad::gemm_internal
