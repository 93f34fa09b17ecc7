// The GEMM backend (see seqgrad/ops/backend.hpp). The only file that calls a BLAS library directly;
// it includes no xtensor-blas header (its CBLAS declarations conflict with <cblas.h>).
#include "seqgrad/ops/backend.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <type_traits>

#if SEQGRAD_GEMM_ONEDNN
#include "onednn_matmul.hpp"
#endif

#include "gemm_bf16.hpp"
#include "gemm_small.hpp"
#include "seqgrad/graph/parallel.hpp"

namespace seqgrad {

namespace {

thread_local std::size_t scope_limit = 0;  // 0: no GemmThreadsScope on this thread

// Below this many multiply-adds a second thread costs more than it saves (64x64x64 gains from two
// threads; a 1x192x64 product with two OpenMP threads in dnnl_sgemm took four times as long).
constexpr std::size_t parallel_min = std::size_t(1) << 17;

// OpenBLAS keeps one process-wide thread count, and its threads spin: every call here runs on one
// thread (see gemm_on), so set it to 1 once.
void openblas_use_one_thread() {
  static const bool done = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

void check_sizes(std::size_t M, std::size_t N, std::size_t K) {
  constexpr std::size_t limit = 0x7fffffff;  // CBLAS takes int dimensions
  if (M > limit || N > limit || K > limit)
    throw std::invalid_argument("gemm: dimensions " + std::to_string(M) + "x" + std::to_string(N) + "x" +
                                std::to_string(K) + " exceed the BLAS interface's int range");
}

// C = beta * C for an empty sum (K = 0); beta = 0 writes zeros without reading C.
template <class T>
void scale_only(std::size_t M, std::size_t N, T beta, T* C, std::size_t ldc) {
  for (std::size_t i = 0; i < M; ++i) {
    T* row = C + i * ldc;
    if (beta == T(0)) std::fill(row, row + N, T(0));
    else if (beta != T(1)) for (std::size_t j = 0; j < N; ++j) row[j] *= beta;
  }
}

// One single-threaded library call.
void call(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A, std::size_t lda,
          const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
#if SEQGRAD_GEMM_ONEDNN
  onednn::use_one_thread();
  const dnnl_status_t status = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', dnnl_dim_t(M), dnnl_dim_t(N), dnnl_dim_t(K),
                                          alpha, A, dnnl_dim_t(lda), B, dnnl_dim_t(ldb), beta, C, dnnl_dim_t(ldc));
  if (status != dnnl_success)
    throw std::runtime_error("gemm: dnnl_sgemm failed with status " + std::to_string(int(status)));
#else
  openblas_use_one_thread();
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
#endif
}

void call(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, double alpha, const double* A,
          std::size_t lda, const double* B, std::size_t ldb, double beta, double* C, std::size_t ldc) {
  openblas_use_one_thread();
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, int(M), int(N), int(K),
              alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
}

// A product on up to `threads` threads. The threads are seqgrad's own (oneTBB): a large product is
// cut into blocks of rows (or of columns, when it is wider than tall), one single-threaded library
// call each, scheduled dynamically. The libraries' own thread pools (OpenMP for oneDNN, pthreads
// for OpenBLAS) stay at one thread: a static split over spinning threads stalls whenever another
// process holds a core, and two pools beside oneTBB's oversubscribe the cores.
template <class T>
void gemm_on(std::size_t threads, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
             std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) return scale_only(M, N, beta, C, ldc);
  check_sizes(M, N, K);
  const std::size_t work = M * N * K;
  if (threads > 1 && work >= 2 * parallel_min) {
    const bool by_rows = M >= N;
    const std::size_t len = by_rows ? M : N;
    constexpr std::size_t align = 16;  // block edges on 64-byte boundaries of the operands
    const std::size_t blocks = std::min({4 * threads, work / parallel_min, (len + align - 1) / align});
    if (blocks >= 2) {
      const std::size_t grain = ((len + blocks - 1) / blocks + align - 1) / align * align;
      parallel_blocks(len, grain, [&](std::size_t begin, std::size_t end) {
        if (by_rows)  // rows begin..end of op(A) and of C
          call(ta, tb, end - begin, N, K, alpha, ta ? A + begin : A + begin * lda, lda, B, ldb, beta,
               C + begin * ldc, ldc);
        else  // columns begin..end of op(B) and of C
          call(ta, tb, M, end - begin, K, alpha, A, lda, tb ? B + begin * ldb : B + begin, ldb, beta, C + begin,
               ldc);
      });
      return;
    }
  }
  if ((M == 1 || N == 1 || K == 1) && small_gemm::try_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
    return;
  call(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

std::atomic<bool> profiling{false};
std::atomic<std::uint64_t> profile_ns{0}, profile_flops{0}, profile_calls{0};

// Adds the enclosing call's time to the totals when profiling is on.
class ProfileScope {
 public:
  ProfileScope(std::size_t batch, std::size_t M, std::size_t N, std::size_t K)
      : on_(profiling.load(std::memory_order_relaxed)), flops_(2 * batch * M * N * K) {
    if (on_) start_ = std::chrono::steady_clock::now();
  }
  ~ProfileScope() {
    if (!on_) return;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start_);
    profile_ns.fetch_add(std::uint64_t(ns.count()), std::memory_order_relaxed);
    profile_flops.fetch_add(flops_, std::memory_order_relaxed);
    profile_calls.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  bool on_;
  std::uint64_t flops_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

void set_gemm_profiling(bool on) {
  if (on) {
    profile_ns = 0;
    profile_flops = 0;
    profile_calls = 0;
  }
  profiling = on;
}

GemmProfile gemm_profile() {
  return {double(profile_ns.load()) * 1e-9, double(profile_flops.load()), profile_calls.load()};
}

std::size_t gemm_threads() { return scope_limit != 0 ? std::min(scope_limit, num_threads()) : num_threads(); }

GemmThreadsScope::GemmThreadsScope(std::size_t n) : previous_(scope_limit) {
  scope_limit = std::max<std::size_t>(1, previous_ != 0 ? std::min(previous_, n) : n);
}

GemmThreadsScope::~GemmThreadsScope() { scope_limit = previous_; }

template <class T>
void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A, std::size_t lda,
          const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  ProfileScope profile(1, M, N, K);
  if constexpr (std::is_same_v<T, float>)
    if (product_precision() == Precision::bf16)
      return bf16_gemm::gemm(gemm_threads(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  gemm_on(gemm_threads(), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm_internal::gemm_sharing_copies(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const float* A,
                                        const float* B, float beta, float* C, bf16_gemm::RoundedCopy* a_copy,
                                        bf16_gemm::RoundedCopy* b_copy, const float* bias) {
  if (product_precision() != Precision::bf16) {
    if (bias) {
      bf16_gemm::start_from_bias(M, N, bias, beta, C, N);
      beta = 1.0f;
    }
    return gemm<float>(ta, tb, M, N, K, A, B, beta, C);
  }
  ProfileScope profile(1, M, N, K);
  bf16_gemm::gemm(gemm_threads(), ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, beta, C, N, a_copy, b_copy,
                  bias);
}

template <class T>
void gemm(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T beta, T* C) {
  gemm<T>(ta, tb, M, N, K, T(1), A, ta ? M : K, B, tb ? K : N, beta, C, N);
}

template <class T>
void gemm_batched(std::size_t batch, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A,
                  std::size_t stride_a, const T* B, std::size_t stride_b, T beta, T* C, std::size_t stride_c) {
  if (batch == 0 || M == 0 || N == 0) return;
  ProfileScope profile(batch, M, N, K);
  if (batch > 1 && stride_c == 0 && beta != T(1))
    throw std::invalid_argument("gemm_batched: entries accumulating into one C need beta = 1");
  const std::size_t threads = gemm_threads();
  if constexpr (std::is_same_v<T, float>)
    if (product_precision() == Precision::bf16)
      return bf16_gemm::gemm_batched(threads, batch, ta, tb, M, N, K, A, stride_a, B, stride_b, beta, C, stride_c);
#if SEQGRAD_GEMM_ONEDNN
  // Small entries as groups of 3-D products on oneDNN's matmul primitive (brgemm): 1.1-1.5x
  // dnnl_sgemm called per entry on attention's 64x64x64 products.
  if constexpr (std::is_same_v<T, float>)
    if (onednn::batched_takes(stride_a, stride_b, stride_c, M, N, K))
      return onednn::batched(threads, dnnl_f32, batch, ta, tb, M, N, K, A, stride_a, B, stride_b, beta, C, stride_c);
#endif
  const std::size_t lda = ta ? M : K, ldb = tb ? K : N;
  auto entry = [&](std::size_t i, std::size_t entry_threads) {
    gemm_on<T>(entry_threads, ta, tb, M, N, K, T(1), A + i * stride_a, lda, B + i * stride_b, ldb, beta,
               C + i * stride_c, N);
  };
  const std::size_t work = M * N * K;  // multiply-adds per entry
  if (threads <= 1 || batch < 2 || stride_c == 0 || batch * work < parallel_min) {
    for (std::size_t i = 0; i < batch; ++i) entry(i, threads);
    return;
  }
  // One single-threaded product per entry, the entries spread over the threads: for the small
  // products of attention this beats the library's threading inside each product. Blocks of
  // entries carry at least parallel_min multiply-adds each, so a task is worth its scheduling.
  const std::size_t grain = std::max<std::size_t>(1, parallel_min / std::max<std::size_t>(work, 1));
  parallel_blocks(batch, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) entry(i, 1);
  });
}

template <>
void transpose<float>(std::size_t rows, std::size_t cols, const float* in, float* out) {
  if (rows == 0 || cols == 0) return;
  check_sizes(rows, cols, 1);
  cblas_somatcopy(CblasRowMajor, CblasTrans, int(rows), int(cols), 1.0f, in, int(cols), out, int(rows));
}

template <>
void transpose<double>(std::size_t rows, std::size_t cols, const double* in, double* out) {
  if (rows == 0 || cols == 0) return;
  check_sizes(rows, cols, 1);
  cblas_domatcopy(CblasRowMajor, CblasTrans, int(rows), int(cols), 1.0, in, int(cols), out, int(rows));
}

template void gemm<float>(bool, bool, std::size_t, std::size_t, std::size_t, float, const float*, std::size_t,
                          const float*, std::size_t, float, float*, std::size_t);
template void gemm<double>(bool, bool, std::size_t, std::size_t, std::size_t, double, const double*, std::size_t,
                           const double*, std::size_t, double, double*, std::size_t);
template void gemm<float>(bool, bool, std::size_t, std::size_t, std::size_t, const float*, const float*, float, float*);
template void gemm<double>(bool, bool, std::size_t, std::size_t, std::size_t, const double*, const double*, double,
                           double*);
template void gemm_batched<float>(std::size_t, bool, bool, std::size_t, std::size_t, std::size_t, const float*,
                                  std::size_t, const float*, std::size_t, float, float*, std::size_t);
template void gemm_batched<double>(std::size_t, bool, bool, std::size_t, std::size_t, std::size_t, const double*,
                                   std::size_t, const double*, std::size_t, double, double*, std::size_t);

namespace {

std::string openblas_version() {
  const std::string config = openblas_get_config();  // "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
  const std::size_t first = config.find(' ');
  const std::size_t second = first == std::string::npos ? first : config.find(' ', first + 1);
  return second == std::string::npos ? config : config.substr(0, second);
}

}  // namespace

BackendInfo backend_info() {
  BackendInfo info;
  info.f64_gemm = openblas_version();
  info.f64_isa = openblas_get_corename();
#if SEQGRAD_GEMM_ONEDNN
  const dnnl_version_t* v = dnnl_version();
  info.f32_gemm = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  info.f32_isa = onednn::isa_name();
#else
  info.f32_gemm = info.f64_gemm;
  info.f32_isa = info.f64_isa;
#endif
  info.bf16_gemm = bf16_gemm::kernel_name();
  info.threads = gemm_threads();
  return info;
}

std::string backend_summary() {
  const BackendInfo info = backend_info();
  return "GEMM f32 " + info.f32_gemm + " (" + info.f32_isa + "), bf16 " + info.bf16_gemm + ", f64 " + info.f64_gemm +
         " (" + info.f64_isa + "); " +
         std::to_string(info.threads) + (info.threads == 1 ? " thread" : " threads");
}

}  // namespace seqgrad
