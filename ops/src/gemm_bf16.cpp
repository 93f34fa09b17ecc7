// bfloat16 products for float32 operands, and the scope that turns them on (see AutocastScope in
// seqgrad/ops/backend.hpp). oneDNN's matmul primitive (onednn_matmul.hpp) does the arithmetic:
// bf16 source and weights, float32 destination, accumulation in float32.
#include "gemm_bf16.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include <immintrin.h>

#include "gemm_small.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/backend.hpp"

#if SEQGRAD_GEMM_ONEDNN
#include "onednn_matmul.hpp"
#endif

namespace seqgrad {

namespace {

thread_local Precision current_precision = Precision::f32;
std::atomic<bool> pretend_no_bf16{false};

}  // namespace

std::string to_string(Precision p) { return p == Precision::bf16 ? "bf16" : "f32"; }

Precision parse_precision(const std::string& value, const std::string& option) {
  if (value == "f32") return Precision::f32;
  if (value == "bf16") return Precision::bf16;
  throw std::invalid_argument(option + ": '" + value + "' is not a precision (expected f32 or bf16)");
}

std::string bf16_unavailable_reason() {
  const std::string lacks = "the CPU has neither AVX512-BF16 nor AMX-BF16 (the instructions of bfloat16 products)";
  if (pretend_no_bf16.load(std::memory_order_relaxed)) return lacks + " [pretended by a test]";
#if SEQGRAD_GEMM_ONEDNN
  const unsigned isa = unsigned(dnnl_get_effective_cpu_isa()), bf16 = unsigned(dnnl_cpu_isa_avx512_core_bf16);
  if ((isa & bf16) != bf16) return lacks + "; oneDNN's best instruction set here is " + onednn::isa_name();
  return "";
#else
  return "this build's float32 products use OpenBLAS, which has no bfloat16 products here (configure with "
         "-DSEQGRAD_GEMM=onednn)";
#endif
}

namespace test_hooks {
void pretend_cpu_lacks_bf16(bool on) { pretend_no_bf16.store(on, std::memory_order_relaxed); }
}  // namespace test_hooks

AutocastScope::AutocastScope(Precision p) : previous_(current_precision) {
  if (p == Precision::bf16) {
    const std::string why = bf16_unavailable_reason();
    if (!why.empty()) throw std::runtime_error("bfloat16 products (AutocastScope, --precision bf16): " + why);
  }
  current_precision = p;
}

AutocastScope::~AutocastScope() { current_precision = previous_; }

Precision product_precision() { return current_precision; }

namespace bf16_gemm {

namespace {

// Round to nearest, ties to even: add 0x7fff plus the lowest kept bit, keep the top 16 bits. A
// NaN keeps its sign and top payload bits and is made quiet (so it cannot round to infinity).
inline std::uint16_t to_bf16(float x) {
  const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t quiet_nan = (u >> 16) | 0x40u;
  return std::uint16_t((u & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
}

// out[0, n) = in[0, n) rounded to bfloat16.
void round_span_portable(const float* in, std::size_t n, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = to_bf16(in[i]);
}

// A mask of the first min(n, 16) of 16 lanes.
inline __mmask16 first(std::size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// The same with the CPU's conversion instruction, 32 values at a time (10-12 G values/s on the AMD
// EPYC, the portable loop 3-6): on the machines where bf16 products run the conversion is a large part of a small
// product's time. It rounds like to_bf16, except that it flushes subnormal inputs to zero, as the
// products' bf16 instructions do with their operands anyway.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void round_span_avx512(const float* in, std::size_t n,
                                                                                  std::uint16_t* out) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(in + i + 16), _mm512_loadu_ps(in + i));
    _mm512_storeu_si512(out + i, (__m512i)r);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = first(n - i);
    const __m256bh r = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, in + i));
    _mm256_mask_storeu_epi16(out + i, m, (__m256i)r);
  }
}

void round_span(const float* in, std::size_t n, std::uint16_t* out) {
  static const bool has_instruction = __builtin_cpu_supports("avx512bf16");
  if (has_instruction) round_span_avx512(in, n, out);
  else round_span_portable(in, n, out);
}

// out[0, n) = in[0, n) rounded to bfloat16 and widened back to float (exactly), 16 at a time with
// the CPU's conversion instruction (rounding as round_span_avx512).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void round_span_to_floats_avx512(const float* in,
                                                                                            std::size_t n,
                                                                                            float* out) {
  for (std::size_t i = 0; i < n; i += 16) {
    const __mmask16 m = first(n - i);
    const __m256i bf = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, in + i));
    _mm512_mask_storeu_ps(out + i, m, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bf), 16)));
  }
}

// out [rows, cols] (packed) = in [rows, cols] with leading dimension ld, rounded to bfloat16 and
// kept as floats (exactly representable): the operands of the vector-shaped products, rounded on
// every call (the encoder's states under a decoder's every step: worth the instruction).
void round_rows_to_floats(std::size_t rows, std::size_t cols, const float* in, std::size_t ld, float* out) {
  static const bool has_instruction = __builtin_cpu_supports("avx512bf16");
  for (std::size_t r = 0; r < rows; ++r) {
    if (has_instruction) {
      round_span_to_floats_avx512(in + r * ld, cols, out + r * cols);
      continue;
    }
    for (std::size_t c = 0; c < cols; ++c)
      out[r * cols + c] = std::bit_cast<float>(std::uint32_t(to_bf16(in[r * ld + c])) << 16);
  }
}

// 16 floats from p (those of mask m, the rest 0) rounded to bfloat16 and widened back, in registers.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) inline __m512 load_rounded(const float* p,
                                                                                         __mmask16 m) {
  const __m256i bf = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bf), 16));
}

// out[j] = sum_k x[k] round(rows[j * ld + k]) for j < n, x already rounded: four rows at a time
// share the loads of x, two accumulators each.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void row_dots_rounding(
    const float* x, const float* rows, std::size_t ld, std::size_t K, std::size_t n, float* out) {
  std::size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* r[4] = {rows + j * ld, rows + (j + 1) * ld, rows + (j + 2) * ld, rows + (j + 3) * ld};
    __m512 a[4], b[4];
    for (int q = 0; q < 4; ++q) a[q] = b[q] = _mm512_setzero_ps();
    std::size_t k = 0;
    for (; k + 32 <= K; k += 32) {
      const __m512 x0 = _mm512_loadu_ps(x + k), x1 = _mm512_loadu_ps(x + k + 16);
      for (int q = 0; q < 4; ++q) {
        a[q] = _mm512_fmadd_ps(x0, load_rounded(r[q] + k, 0xffff), a[q]);
        b[q] = _mm512_fmadd_ps(x1, load_rounded(r[q] + k + 16, 0xffff), b[q]);
      }
    }
    for (; k < K; k += 16) {
      const __mmask16 m = first(K - k);
      const __m512 x0 = _mm512_maskz_loadu_ps(m, x + k);
      for (int q = 0; q < 4; ++q) a[q] = _mm512_fmadd_ps(x0, load_rounded(r[q] + k, m), a[q]);
    }
    for (int q = 0; q < 4; ++q) out[j + q] = _mm512_reduce_add_ps(_mm512_add_ps(a[q], b[q]));
  }
  for (; j < n; ++j) {
    __m512 a = _mm512_setzero_ps();
    for (std::size_t k = 0; k < K; k += 16) {
      const __mmask16 m = first(K - k);
      a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + k), load_rounded(rows + j * ld + k, m), a);
    }
    out[j] = _mm512_reduce_add_ps(a);
  }
}

// acc[0, n) = sum_k x[k] round(rows[k * ld + 0, n)), x already rounded: 128 outputs held in
// registers while k runs, then the rest 16 at a time.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void row_combination_rounding(
    const float* x, const float* rows, std::size_t ld, std::size_t K, std::size_t n, float* acc) {
  std::size_t j = 0;
  for (; j + 128 <= n; j += 128) {
    __m512 r[8];
    for (int v = 0; v < 8; ++v) r[v] = _mm512_setzero_ps();
    for (std::size_t k = 0; k < K; ++k) {
      const __m512 xk = _mm512_set1_ps(x[k]);
      const float* row = rows + k * ld + j;
      for (int v = 0; v < 8; ++v) r[v] = _mm512_fmadd_ps(xk, load_rounded(row + 16 * v, 0xffff), r[v]);
    }
    for (int v = 0; v < 8; ++v) _mm512_storeu_ps(acc + j + 16 * v, r[v]);
  }
  for (; j < n; j += 16) {
    const __mmask16 m = first(n - j);
    __m512 r = _mm512_setzero_ps();
    for (std::size_t k = 0; k < K; ++k) r = _mm512_fmadd_ps(_mm512_set1_ps(x[k]), load_rounded(rows + k * ld + j, m), r);
    _mm512_mask_storeu_ps(acc + j, m, r);
  }
}

// The n elements of a strided vector (element k at p[k * stride]), rounded to bfloat16 and kept as
// floats in this thread's scratch.
const float* rounded_vector(const float* p, std::size_t n, std::size_t stride) {
  float* v = small_gemm::scratch<float>(0, n);
  for (std::size_t k = 0; k < n; ++k) v[k] = p[k * stride];
  round_span_to_floats_avx512(v, n, v);
  return v;
}

// Products with a dimension of 1 on the backend's own loops, as for float32 (gemm_small.hpp): a
// library call costs more than their arithmetic. Over operands rounded to bfloat16 and kept as
// floats this is the same arithmetic (a product of two bfloat16 values is exact in float32, the sums
// are float32). With the CPU's conversion instruction, a row times a matrix or a matrix times a
// column rounds the vector into scratch and the matrix as the loop loads it: each of its values is
// read once, and rounding it into a buffer first made the GRU decoder's attention products 3-5x
// their float32 time. False when the loops do not take the shape.
bool vector_product(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
                    std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
  static const bool has_instruction = __builtin_cpu_supports("avx512bf16");
  if (has_instruction && K > 1 && M == 1) {  // row vector a [K] times op(B) [K, N]
    const float* a = rounded_vector(A, K, ta ? lda : 1);
    float* acc = small_gemm::scratch<float>(1, N);
    if (!tb) row_combination_rounding(a, B, ldb, K, N, acc);
    else row_dots_rounding(a, B, ldb, K, N, acc);  // B stored [N, K]: one dot product per output
    small_gemm::store(C, acc, N, alpha, beta);
    return true;
  }
  if (has_instruction && K > 1 && N == 1) {  // op(A) [M, K] times a column vector b [K]
    const float* b = rounded_vector(B, K, tb ? 1 : ldb);
    float* acc = small_gemm::scratch<float>(1, M);
    if (!ta) row_dots_rounding(b, A, lda, K, M, acc);
    else row_combination_rounding(b, A, lda, K, M, acc);  // A stored [K, M]
    for (std::size_t i = 0; i < M; ++i) C[i * ldc] = beta == 0.0f ? alpha * acc[i] : alpha * acc[i] + beta * C[i * ldc];
    return true;
  }
  // An outer product (K = 1: both operands are vectors), or no conversion instruction: both
  // operands rounded into scratch, then float32's loops.
  const std::size_t a_rows = ta ? K : M, a_cols = ta ? M : K, b_rows = tb ? N : K, b_cols = tb ? K : N;
  thread_local std::vector<float> a, b;
  if (a.size() < a_rows * a_cols) a.resize(a_rows * a_cols);
  if (b.size() < b_rows * b_cols) b.resize(b_rows * b_cols);
  round_rows_to_floats(a_rows, a_cols, A, lda, a.data());
  round_rows_to_floats(b_rows, b_cols, B, ldb, b.data());
  return small_gemm::try_gemm(ta, tb, M, N, K, alpha, a.data(), a_cols, b.data(), b_cols, beta, C, ldc);
}

// out [rows, cols] (packed) = in [rows, cols] with leading dimension ld, rounded to bfloat16.
void round_rows(std::size_t rows, std::size_t cols, const float* in, std::size_t ld, std::uint16_t* out) {
  if (ld == cols) return round_span(in, rows * cols, out);
  for (std::size_t r = 0; r < rows; ++r) round_span(in + r * ld, cols, out + r * cols);
}

// Operands of at least this many values are rounded on every thread a product may use: rounded on
// the calling thread alone, they kept 2 threads at 1.2x one thread's bf16 speed on the MHSA step.
constexpr std::size_t parallel_round_min = std::size_t{1} << 16;

// round_rows on `threads` threads when the operand is large (each value alone: any split gives
// the same bits).
void round_rows(std::size_t threads, std::size_t rows, std::size_t cols, const float* in, std::size_t ld,
                std::uint16_t* out) {
  const std::size_t n = rows * cols;
  if (threads < 2 || n < parallel_round_min) return round_rows(rows, cols, in, ld, out);
  if (ld == cols) {  // one span, cut into pieces of whole vectors
    const std::size_t grain = ((n + threads - 1) / threads + 31) / 32 * 32;
    return parallel_blocks(n, grain, [&](std::size_t begin, std::size_t end) { round_span(in + begin, end - begin, out + begin); });
  }
  parallel_blocks(rows, (rows + threads - 1) / threads, [&](std::size_t begin, std::size_t end) {
    round_rows(end - begin, cols, in + begin * ld, ld, out + begin * cols);
  });
}

// C = beta * C (K = 0: an empty sum); beta = 0 writes zeros without reading C.
void scale_only(std::size_t M, std::size_t N, float beta, float* C, std::size_t ldc) {
  for (std::size_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f) std::fill(row, row + N, 0.0f);
    else if (beta != 1.0f) for (std::size_t j = 0; j < N; ++j) row[j] *= beta;
  }
}

// Scratch for the rounded operands, one set per thread, reused between products (fresh buffers of
// this size would page-fault on every product). A product that runs on a thread while another of
// that thread's products holds its buffers (waiting for its blocks) takes a buffer of its own.
class Bf16Buffer {
 public:
  explicit Bf16Buffer(std::size_t n) {
    if (free_.empty()) buffer_ = std::make_unique<std::vector<std::uint16_t>>();
    else {
      buffer_ = std::move(free_.back());
      free_.pop_back();
    }
    if (buffer_->size() < n) buffer_->resize(n);
  }
  ~Bf16Buffer() { free_.push_back(std::move(buffer_)); }
  Bf16Buffer(const Bf16Buffer&) = delete;
  Bf16Buffer& operator=(const Bf16Buffer&) = delete;
  std::uint16_t* data() { return buffer_->data(); }

 private:
  std::unique_ptr<std::vector<std::uint16_t>> buffer_;
  static thread_local std::vector<std::unique_ptr<std::vector<std::uint16_t>>> free_;
};
thread_local std::vector<std::unique_ptr<std::vector<std::uint16_t>>> Bf16Buffer::free_;

// Blocks of a product carry at least this many multiply-adds (a second thread does not pay below,
// as for the float32 products), at most max_blocks of them. The blocks follow from the shape
// alone: the same rows of C come from the same library call whatever the thread count.
constexpr std::size_t block_min_work = std::size_t(1) << 17;
constexpr std::size_t max_blocks = 4;
constexpr std::size_t block_align = 16;  // block edges on 32-byte boundaries of the bf16 operands

#if SEQGRAD_GEMM_ONEDNN

using onednn::batch_of;
using onednn::Layout;
using onednn::matrix;
using onednn::operand;

// r[0..15] = the columns of the 16x16 block whose rows were r[0..15].
__attribute__((target("avx512f"))) inline void transpose_16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {  // pairs of rows interleaved
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // then quadruples: each 128-bit lane holds one column of 4 rows
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 2; ++i)  // then the 128-bit lanes, in two rounds
    for (int k = 0; k < 4; ++k) {
      t[8 * i + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], 0x88);
      t[8 * i + 4 + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], 0xdd);
    }
  for (int k = 0; k < 8; ++k) {
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
  }
}

// out [cols, rows] (bf16, packed) = in [rows, cols] (leading dimension ld) transposed and rounded
// as round_span_avx512 rounds. Blocks of 32 rows x 16 columns: each row's 16 values are one cache
// line read once, two 16x16 transposes in registers give each column's 32 values, rounded and
// stored as one vector. 4-10 G values/s on the AMD EPYC against 0.8-2.3 for oneDNN's reorder.
// out_ld is the row length of out (rows, or more when this call does a band of rows).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void round_transposed_avx512(
    std::size_t rows, std::size_t cols, const float* in, std::size_t ld, std::uint16_t* out, std::size_t out_ld) {
  for (std::size_t r = 0; r < rows; r += 32) {
    const std::size_t n = std::min<std::size_t>(32, rows - r);
    const __mmask32 store_mask = __mmask32(n >= 32 ? 0xffffffffu : (1u << n) - 1);
    for (std::size_t c = 0; c < cols; c += 16) {
      const std::size_t m = std::min<std::size_t>(16, cols - c);
      const __mmask16 load_mask = __mmask16(m >= 16 ? 0xffffu : (1u << m) - 1);
      __m512 lo[16], hi[16];
      for (std::size_t i = 0; i < 16; ++i) {
        lo[i] = i < n ? _mm512_maskz_loadu_ps(load_mask, in + (r + i) * ld + c) : _mm512_setzero_ps();
        hi[i] = 16 + i < n ? _mm512_maskz_loadu_ps(load_mask, in + (r + 16 + i) * ld + c) : _mm512_setzero_ps();
      }
      transpose_16x16(lo);
      transpose_16x16(hi);
      for (std::size_t k = 0; k < m; ++k)
        _mm512_mask_storeu_epi16(out + (c + k) * out_ld + r, store_mask, (__m512i)_mm512_cvtne2ps_pbh(hi[k], lo[k]));
    }
  }
}

// out [count][cols, rows] (bf16, packed) = the transposes of the count matrices in [rows, cols]
// (leading dimension ld, entry i at in + i * stride), rounded to bfloat16: a transposed left
// operand made plain, since oneDNN's fast bf16 kernels read only plain ones. With the CPU's
// conversion instruction, in registers; otherwise (AMX machines without it) by oneDNN's reorder.
// On `threads` threads when it is large: bands of 32 rows, or whole entries of a batch.
void round_transposed(std::size_t threads, std::size_t count, std::size_t rows, std::size_t cols, const float* in,
                      std::size_t ld, std::size_t stride, std::uint16_t* out) {
  static const bool has_instruction = __builtin_cpu_supports("avx512bf16");
  if (has_instruction) {
    const bool split = threads > 1 && count * rows * cols >= parallel_round_min;
    if (count == 1 && split && rows > 32) {
      const std::size_t grain = ((rows + threads - 1) / threads + 31) / 32 * 32;
      parallel_blocks(rows, grain, [&](std::size_t begin, std::size_t end) {
        round_transposed_avx512(end - begin, cols, in + begin * ld, ld, out + begin, rows);
      });
      return;
    }
    auto entries = [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i)
        round_transposed_avx512(rows, cols, in + i * stride, ld, out + i * rows * cols, rows);
    };
    if (split && count > 1) return parallel_blocks(count, (count + threads - 1) / threads, entries);
    return entries(0, count);
  }
  const Layout from = batch_of(count, stride, matrix(cols, rows, 1, ld)), to = batch_of(count, rows * cols, matrix(cols, rows, rows, 1));
  onednn::run_reorder(*onednn::reorder_to_bf16(from, to), in, out);
}

// C = alpha op(a) op(b) + beta C for packed bf16 a (stored [M,K], or [K,M] when ta) and b (stored
// [K,N], or [N,K] when tb), in blocks of rows (or of columns, when wider than tall) fixed by the shape.
void product(std::size_t threads, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
             const std::uint16_t* a, const std::uint16_t* b, float beta, float* C, std::size_t ldc,
             const float* bias = nullptr) {
  const std::size_t work = M * N * K;
  const bool by_rows = M >= std::min<std::size_t>(N, 128);  // row blocks: column blocks of B are not dense, and oneDNN falls back to slower kernels on them
  const std::size_t len = by_rows ? M : N;
  const std::size_t blocks = std::min({max_blocks, work / block_min_work, (len + block_align - 1) / block_align});
  const std::size_t grain =
      blocks >= 2 ? ((len + blocks - 1) / blocks + block_align - 1) / block_align * block_align : len;
  const std::size_t a_cols = ta ? M : K, b_cols = tb ? K : N;
  auto block = [&](std::size_t begin, std::size_t end) {
    const std::size_t m = by_rows ? end - begin : M, n = by_rows ? N : end - begin;
    const std::uint16_t* pa = by_rows ? (ta ? a + begin : a + begin * a_cols) : a;
    const std::uint16_t* pb = by_rows ? b : (tb ? b + begin * b_cols : b + begin);
    float* pc = by_rows ? C + begin * ldc : C + begin;
    onednn::run(*onednn::matmul(dnnl_bf16, operand(ta, m, K, a_cols), operand(tb, K, n, b_cols), matrix(m, n, ldc, 1),
                                alpha, beta, bias != nullptr),
                pa, pb, pc, bias && !by_rows ? bias + begin : bias);
  };
  if (threads > 1 && grain < len) return parallel_blocks(len, grain, block);
  for (std::size_t begin = 0; begin < len; begin += grain) block(begin, std::min(len, begin + grain));
}

#else  // OpenBLAS build: AutocastScope refuses bf16, so nothing reaches these

[[noreturn]] void unavailable() { throw std::logic_error("bfloat16 product: " + bf16_unavailable_reason()); }

void product(std::size_t, bool, bool, std::size_t, std::size_t, std::size_t, float, const std::uint16_t*,
             const std::uint16_t*, float, float*, std::size_t, const float* = nullptr) {
  unavailable();
}

void round_transposed(std::size_t, std::size_t, std::size_t, std::size_t, const float*, std::size_t, std::size_t,
                      std::uint16_t*) {
  unavailable();
}

#endif

// n bfloat16 values' room from this thread's buffer pool (a fresh buffer every step would be new
// pages, faulted in on first touch).
std::unique_ptr<Storage> bf16_storage(std::size_t n) {
  return std::make_unique<Storage>(n * sizeof(std::uint16_t), BufferPool::for_this_thread());
}

// The operands held constant on this thread (hold_constant), each rounded at its first bf16 use.
struct ConstantOperand {
  const float* data;
  std::size_t n;
  std::unique_ptr<Storage> rounded;  // null until a bf16 product reads it
};
thread_local std::vector<ConstantOperand> constants;

// The rounded copy of B (rows x cols, leading dimension ld) when it is a held constant, else null.
const std::uint16_t* rounded_constant(const float* B, std::size_t rows, std::size_t cols, std::size_t ld) {
  if (ld != cols) return nullptr;
  for (ConstantOperand& c : constants)  // a handful of weights: a linear search
    if (c.data == B && c.n == rows * cols) {
      if (!c.rounded) {
        c.rounded = bf16_storage(c.n);
        round_span(B, c.n, static_cast<std::uint16_t*>(c.rounded->data()));
      }
      return static_cast<const std::uint16_t*>(c.rounded->data());
    }
  return nullptr;
}

}  // namespace

void hold_constant(const float* data, std::size_t n) { constants.push_back({data, n, nullptr}); }
void release_constants() { constants.clear(); }

namespace {

// The rounded values of the packed operand `in` [rows, cols] from its shared copy, rounding them into
// it first when it is empty; null when there is no copy or the operand is not packed.
const std::uint16_t* shared_copy(RoundedCopy* copy, std::size_t threads, std::size_t rows, std::size_t cols,
                                 const float* in, std::size_t ld) {
  if (!copy || ld != cols) return nullptr;
  if (!copy->values) {
    copy->values = bf16_storage(rows * cols);
    round_rows(threads, rows, cols, in, ld, copy->data());
    copy->source = in;
    copy->rows = rows;
    copy->cols = cols;
  } else if (copy->source != in || copy->rows != rows || copy->cols != cols) {
    throw std::logic_error("bfloat16 product: the rounded copy of a [" + std::to_string(copy->rows) + ", " +
                           std::to_string(copy->cols) + "] operand was handed to a product reading a [" +
                           std::to_string(rows) + ", " + std::to_string(cols) + "] one elsewhere");
  }
  return copy->data();
}

}  // namespace

void gemm(std::size_t threads, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha,
          const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc,
          RoundedCopy* a_copy, RoundedCopy* b_copy, const float* bias) {
  if (M == 0 || N == 0) return;
  if (bias && (K == 0 || M == 1 || N == 1 || K == 1 || alpha != 1.0f)) {  // loops of our own: the bias goes first
    start_from_bias(M, N, bias, beta, C, ldc);
    bias = nullptr;
    beta = 1.0f;
  }
  if (K == 0) return scale_only(M, N, beta, C, ldc);
  if ((M == 1 || N == 1 || K == 1) && vector_product(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)) return;
  const std::size_t b_rows = tb ? N : K, b_cols = tb ? K : N;
  const std::uint16_t* a_ready = ta ? nullptr : shared_copy(a_copy, threads, M, K, A, lda);
  const std::uint16_t* b_ready = rounded_constant(B, b_rows, b_cols, ldb);
  if (!b_ready) b_ready = shared_copy(b_copy, threads, b_rows, b_cols, B, ldb);
  Bf16Buffer a(a_ready ? 0 : M * K), b(b_ready ? 0 : b_rows * b_cols);
  if (ta) round_transposed(threads, 1, K, M, A, lda, 0, a.data());  // op(A) plain, [M, K]
  else if (!a_ready) round_rows(threads, M, K, A, lda, a.data());
  if (!b_ready) round_rows(threads, b_rows, b_cols, B, ldb, b.data());
  product(threads, false, tb, M, N, K, alpha, a_ready ? a_ready : a.data(), b_ready ? b_ready : b.data(), beta, C,
          ldc, bias);
}

void gemm_batched(std::size_t threads, std::size_t batch, bool ta, bool tb, std::size_t M, std::size_t N,
                  std::size_t K, const float* A, std::size_t stride_a, const float* B, std::size_t stride_b, float beta,
                  float* C, std::size_t stride_c) {
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    for (std::size_t i = 0; i < (stride_c == 0 ? 1 : batch); ++i) scale_only(M, N, beta, C + i * stride_c, N);
    return;
  }
  if (M == 1 || N == 1 || K == 1) {  // entries on the vector loops (see vector_product), whole, spread over the threads
    auto entries = [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i)
        gemm(1, ta, tb, M, N, K, 1.0f, A + i * stride_a, ta ? M : K, B + i * stride_b, tb ? K : N, beta,
             C + i * stride_c, N);
    };
    const std::size_t grain = std::max<std::size_t>(1, block_min_work / (M * N * K));
    if (threads > 1 && stride_c != 0 && grain < batch) return parallel_blocks(batch, grain, entries);
    return entries(0, batch);
  }
  const std::size_t a_size = M * K, b_size = K * N;
  const std::size_t a_count = stride_a == 0 ? 1 : batch, b_count = stride_b == 0 ? 1 : batch;
  Bf16Buffer a(a_count * a_size), b(b_count * b_size);
  if (ta) round_transposed(threads, a_count, K, M, A, M, stride_a, a.data());  // each op(A) plain, [M, K]
  else if (stride_a == a_size || a_count == 1) round_rows(threads, 1, a_count * a_size, A, a_count * a_size, a.data());
  else
    for (std::size_t i = 0; i < a_count; ++i) round_rows(1, a_size, A + i * stride_a, a_size, a.data() + i * a_size);
  ta = false;
  if (stride_b == b_size || b_count == 1) round_rows(threads, 1, b_count * b_size, B, b_count * b_size, b.data());
  else
    for (std::size_t i = 0; i < b_count; ++i) round_rows(1, b_size, B + i * stride_b, b_size, b.data() + i * b_size);
  const std::size_t packed_a = stride_a == 0 ? 0 : a_size, packed_b = stride_b == 0 ? 0 : b_size;
#if SEQGRAD_GEMM_ONEDNN
  if (onednn::batched_takes(stride_a, stride_b, stride_c, M, N, K))
    return onednn::batched(threads, dnnl_bf16, batch, ta, tb, M, N, K, a.data(), packed_a, b.data(), packed_b, beta, C,
                           stride_c);
#endif
  // A 2-D product, entries summed into one C in entry order, or large ones: products of their own.
  for (std::size_t i = 0; i < batch; ++i)
    product(threads, ta, tb, M, N, K, 1.0f, a.data() + i * packed_a, b.data() + i * packed_b, beta, C + i * stride_c, N);
}

std::string kernel_name() {
  const std::string why = bf16_unavailable_reason();
  if (!why.empty()) return "unavailable: " + why;
#if SEQGRAD_GEMM_ONEDNN
  const Layout square = matrix(256, 256, 256, 1);  // a typical hidden-size product
  return onednn::kernel_name(*onednn::matmul(dnnl_bf16, square, square, square, 1.0f, 0.0f));
#else
  return "unavailable";
#endif
}

}  // namespace bf16_gemm

}  // namespace seqgrad
