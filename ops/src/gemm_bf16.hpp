#pragma once
// float32 products with bfloat16 operands (AutocastScope, seqgrad/ops/backend.hpp), on oneDNN's
// matmul primitive: the operands are rounded to bfloat16 into packed scratch buffers, the products
// accumulate in float32 into C. Internal to the GEMM backend (gemm_backend.cpp calls these).
#include <cstddef>
#include <string>

namespace seqgrad::bf16_gemm {

// Same contract as seqgrad::gemm (beta = 0 does not read C), on up to `threads` threads. The work is
// cut into blocks chosen from the shape alone, so C does not depend on `threads`.
void gemm(std::size_t threads, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
          const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc);

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
// oneDNN builds only.
// Sets the calling thread's OpenMP thread count (oneDNN's threads) to 1, once per thread: every
// library call of the backend runs on one thread (defined in gemm_backend.cpp).
void omp_use_one_thread();
// oneDNN's name for the instruction set it runs, e.g. "avx512_core_bf16" (defined in gemm_backend.cpp).
const char* onednn_isa_name();
}  // namespace seqgrad::gemm_internal
