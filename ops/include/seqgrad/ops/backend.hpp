#pragma once
// The matrix-product (GEMM) backend every product in seqgrad goes through, its threads, and what it
// runs on.
//
// float32 products use the library chosen at build time (CMake option SEQGRAD_GEMM): oneDNN's
// dnnl_sgemm (default), which picks its kernels from the CPU's features when it runs, or OpenBLAS
// (whose kernels follow its table of processor models). float64 products (gradient checks) use
// OpenBLAS in both builds.
//
// Threads: a product uses up to seqgrad::num_threads() threads (graph/parallel.hpp), read when it
// runs, or fewer inside a GemmThreadsScope on the calling thread. The threads are oneTBB's: a large
// product is cut into blocks of rows or columns, one single-threaded library call each; a batch of
// products (gemm_batched) is split by entries. The libraries' own thread pools stay at one thread.
// Products with a dimension of 1 (batch-1 steps) run on small loops of our own, not the library.
//
// Mixed precision: inside an AutocastScope(Precision::bf16), float32 products round their operands
// to bfloat16 and accumulate in float32 (oneDNN's bf16 matmul, see AutocastScope).
#include <cstddef>
#include <cstdint>
#include <string>

namespace seqgrad {

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major. op(A) is A [M,K] (leading dimension lda), or
// A^T when ta (A stored [K,M]); op(B) is B [K,N] (ldb), or B^T when tb (B stored [N,K]). beta = 0
// overwrites C without reading it (C may hold NaN); K = 0 gives C = beta * C. T is float or double.
template <class T>
void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A, std::size_t lda,
          const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc);

// The same with packed operands (lda = op(A)'s stored row length, and so on) and alpha = 1.
template <class T>
void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T beta, T* C);

// batch packed products: entry i uses A + i * stride_a, B + i * stride_b, C + i * stride_c. A stride of
// 0 shares that operand between the entries; stride_c = 0 accumulates every entry's product into one C
// (then beta must be 1), in entry order.
template <class T>
void gemm_batched(std::size_t batch, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A,
                  std::size_t stride_a, const T* B, std::size_t stride_b, T beta, T* C, std::size_t stride_c);

// out [cols, rows] = in [rows, cols]^T, row-major, on the BLAS library's transposing copy (OpenBLAS
// ?omatcopy: several times faster than a plain loop, whose writes stride through memory).
template <class T>
void transpose(std::size_t rows, std::size_t cols, const T* in, T* out);

// While it lives, products called on this thread use at most n threads (n >= 1). Data-parallel
// workers hold GemmThreadsScope(1): they already use every core. Scopes nest; each restores the
// previous limit.
class GemmThreadsScope {
 public:
  explicit GemmThreadsScope(std::size_t n);
  ~GemmThreadsScope();
  GemmThreadsScope(const GemmThreadsScope&) = delete;
  GemmThreadsScope& operator=(const GemmThreadsScope&) = delete;

 private:
  std::size_t previous_;
};

// The threads a product called here and now would use.
std::size_t gemm_threads();

// The arithmetic of float32 products: float32 throughout, or bfloat16 operands with float32
// accumulation and results. float64 products are always float64.
enum class Precision { f32, bf16 };
std::string to_string(Precision p);  // "f32" or "bf16"
// "f32" or "bf16"; anything else throws std::invalid_argument naming `option` and the value.
Precision parse_precision(const std::string& value, const std::string& option);

// While it lives, float32 products called on this thread (every gemm / gemm_batched: linear,
// matmul, the RNN gates, attention; forward and backward) run in precision p: with bf16 both
// operands are rounded to bfloat16 (to nearest, ties to even) and the products accumulate into
// float32 C as before (alpha, beta unchanged). Everything else (elementwise ops, softmax, norms,
// losses, weights, gradients, optimizer state) stays float32. Scopes nest; each restores the
// previous precision. The products are split over threads by their shape alone, so results do not
// depend on the thread count. Entering bf16 throws std::runtime_error naming what is missing when
// the CPU has neither AVX512-BF16 nor AMX-BF16, or when this build's float32 products use OpenBLAS.
// Code that hands work to other threads (DataParallel's shards) carries the caller's precision.
class AutocastScope {
 public:
  explicit AutocastScope(Precision p = Precision::bf16);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  Precision previous_;
};

// The precision of float32 products called here and now.
Precision product_precision();

// Empty when bf16 products can run here; else why not (the missing CPU feature, or the backend).
std::string bf16_unavailable_reason();

namespace test_hooks {
// Makes bf16_unavailable_reason() report a CPU without AVX512-BF16 and AMX-BF16 while on (for
// tests of the refusal on machines that have the feature).
void pretend_cpu_lacks_bf16(bool on);
}  // namespace test_hooks

// Time spent in products, for profiles (bench_workloads reports it per step): off by default; while
// on, every gemm / gemm_batched call adds its wall time and flops to process-wide totals.
struct GemmProfile {
  double seconds = 0;  // summed over calls (calls on several threads at once add up)
  double flops = 0;    // 2 M N K per product
  std::uint64_t calls = 0;
};
void set_gemm_profiling(bool on);  // turning it on resets the totals
GemmProfile gemm_profile();

struct BackendInfo {
  std::string f32_gemm;  // library and version, e.g. "oneDNN 2.6.3"
  std::string f32_isa;   // the kernels it runs, e.g. "avx512_core_bf16" (oneDNN) or "SkylakeX" (OpenBLAS)
  std::string f64_gemm;  // e.g. "OpenBLAS 0.3.21"
  std::string f64_isa;   // OpenBLAS's core name
  std::string bf16_gemm;  // oneDNN's bf16 matmul kernel, e.g. "brg:avx512_core_bf16", or "unavailable: why"
  std::size_t threads;   // gemm_threads() on the calling thread
};

BackendInfo backend_info();
// One line for logs and --version: "GEMM f32 oneDNN 2.6.3 (avx512_core_bf16), f64 OpenBLAS ... ; 2 threads".
std::string backend_summary();

}  // namespace seqgrad
