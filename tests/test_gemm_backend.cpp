// The GEMM backend against a naive loop: every transpose and beta combination, float32 and float64,
// empty and vector shapes, padded leading dimensions, batches (split over threads or not), and the
// thread scope.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/backend.hpp"
#include "support/naive_gemm.hpp"

namespace seqgrad {
namespace {

using test_support::random_vector;

// C = alpha op(A) op(B) + beta C in long double, beta = 0 not reading C.
template <class T>
void naive(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A, std::size_t lda,
           const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc) {
  test_support::naive_gemm([](T x) { return x; }, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class T>
double tolerance(std::size_t K) {
  return (std::is_same_v<T, float> ? 2e-6 : 1e-14) * double(K + 4);  // operands in [-1, 1]
}

struct Dims {
  std::size_t M, N, K;
};

const std::vector<Dims> kDims = {{0, 3, 4}, {3, 0, 4}, {3, 4, 0}, {1, 1, 1},   {1, 7, 5},   {6, 1, 5},
                                 {6, 7, 1}, {1, 192, 64}, {192, 64, 1}, {12, 1, 64}, {1, 37, 19}, {5, 3, 2},
                                 {17, 33, 9}, {64, 64, 64}, {1, 1, 300}, {130, 70, 90}};

template <class T>
void check_all(std::size_t pad) {
  std::mt19937 rng(7);
  for (const Dims& d : kDims)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (T beta : {T(0), T(1), T(0.5)})
          for (T alpha : {T(1), T(-0.75)}) {
            const std::size_t lda = (ta ? d.M : d.K) + pad, ldb = (tb ? d.K : d.N) + pad, ldc = d.N + pad;
            const auto A = random_vector<T>((ta ? d.K : d.M) * lda + 1, rng);
            const auto B = random_vector<T>((tb ? d.N : d.K) * ldb + 1, rng);
            auto C = random_vector<T>(d.M * ldc + 1, rng);
            if (beta == T(0)) std::fill(C.begin(), C.end(), std::numeric_limits<T>::quiet_NaN());  // never read
            auto expected = C;
            naive<T>(ta, tb, d.M, d.N, d.K, alpha, A.data(), lda, B.data(), ldb, beta, expected.data(), ldc);
            gemm<T>(ta, tb, d.M, d.N, d.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
            const std::string what = std::to_string(d.M) + "x" + std::to_string(d.N) + "x" + std::to_string(d.K) +
                                     " ta " + std::to_string(ta) + " tb " + std::to_string(tb) + " beta " +
                                     std::to_string(double(beta)) + " alpha " + std::to_string(double(alpha)) +
                                     " pad " + std::to_string(pad);
            for (std::size_t i = 0; i < d.M; ++i)
              for (std::size_t j = 0; j < d.N; ++j)
                ASSERT_NEAR(C[i * ldc + j], expected[i * ldc + j], tolerance<T>(d.K)) << what << " at " << i << "," << j;
            // Padding between rows is left alone.
            if (beta != T(0)) {
              for (std::size_t i = 0; i < d.M; ++i)
                for (std::size_t j = d.N; j < ldc; ++j) {
                  ASSERT_EQ(C[i * ldc + j], expected[i * ldc + j]) << what;
                }
            }
          }
}

TEST(GemmBackend, MatchesNaiveLoopFloat) { check_all<float>(0); }
TEST(GemmBackend, MatchesNaiveLoopDouble) { check_all<double>(0); }
TEST(GemmBackend, MatchesNaiveLoopWithPaddedRowsFloat) { check_all<float>(3); }
TEST(GemmBackend, MatchesNaiveLoopWithPaddedRowsDouble) { check_all<double>(3); }

TEST(GemmBackend, MatchesNaiveLoopAtEveryThreadCount) {
  for (std::size_t threads : {1, 2, 3}) {
    set_num_threads(threads);
    check_all<float>(0);
  }
  set_num_threads(0);
}

template <class T>
void check_batched(std::size_t batch, Dims d, bool share_a, bool share_b, bool accumulate) {
  std::mt19937 rng(11);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const std::size_t sa = share_a ? 0 : d.M * d.K, sb = share_b ? 0 : d.K * d.N, sc = accumulate ? 0 : d.M * d.N;
      const auto A = random_vector<T>(std::max<std::size_t>(1, batch * sa + d.M * d.K), rng);
      const auto B = random_vector<T>(std::max<std::size_t>(1, batch * sb + d.K * d.N), rng);
      auto C = random_vector<T>(std::max<std::size_t>(1, batch * sc + d.M * d.N), rng);
      auto expected = C;
      const T beta = accumulate ? T(1) : T(0);
      for (std::size_t i = 0; i < batch; ++i)
        naive<T>(ta, tb, d.M, d.N, d.K, T(1), A.data() + i * sa, ta ? d.M : d.K, B.data() + i * sb, tb ? d.K : d.N,
                 beta, expected.data() + i * sc, d.N);
      gemm_batched<T>(batch, ta, tb, d.M, d.N, d.K, A.data(), sa, B.data(), sb, beta, C.data(), sc);
      for (std::size_t e = 0; e < C.size() - (accumulate ? 0 : d.M * d.N); ++e)
        ASSERT_NEAR(C[e], expected[e], tolerance<T>(d.K * (accumulate ? batch : 1))) << "element " << e;
    }
}

TEST(GemmBackend, BatchedMatchesLoop) {
  for (std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    for (Dims d : {Dims{64, 64, 64}, Dims{1, 12, 64}, Dims{3, 5, 4}, Dims{0, 3, 2}, Dims{2, 3, 0}}) {
      check_batched<float>(16, d, false, false, false);
      check_batched<float>(16, d, true, false, false);
      check_batched<float>(16, d, false, true, false);
      check_batched<float>(16, d, false, true, true);
      check_batched<double>(5, d, false, false, false);
      check_batched<double>(5, d, true, false, true);
    }
  }
  set_num_threads(0);
}

// A batch's entries are grouped by their shape, never by the thread count or the batch size: every
// entry has the same bits on 1, 2 and 3 threads, alone, and in a batch cut at another place (as in
// the shards of data-parallel training).
void check_entry_bits(Precision precision, Dims d, bool ta, bool tb, float beta, std::mt19937& rng) {
  const std::size_t batch = 37, sa = d.M * d.K, sb = d.K * d.N, sc = d.M * d.N;
  const auto A = random_vector<float>(batch * sa, rng), B = random_vector<float>(batch * sb, rng);
  const auto C0 = random_vector<float>(batch * sc, rng);
  auto entries = [&](std::size_t threads, std::size_t begin, std::size_t end) {  // in one call
    set_num_threads(threads);
    std::vector<float> C(C0.begin() + begin * sc, C0.begin() + end * sc);
    const AutocastScope products(precision);
    gemm_batched<float>(end - begin, ta, tb, d.M, d.N, d.K, A.data() + begin * sa, sa, B.data() + begin * sb, sb,
                        beta, C.data(), sc);
    set_num_threads(0);
    return C;
  };
  const std::string what = to_string(precision) + " " + std::to_string(d.M) + "x" + std::to_string(d.N) + "x" +
                           std::to_string(d.K) + " ta " + std::to_string(ta) + " tb " + std::to_string(tb) +
                           " beta " + std::to_string(beta);
  const auto whole = entries(1, 0, batch);
  EXPECT_EQ(whole, entries(2, 0, batch)) << what;
  EXPECT_EQ(whole, entries(3, 0, batch)) << what;
  for (auto [begin, end] : {std::pair<std::size_t, std::size_t>{3, 10}, {20, 37}, {36, 37}, {0, 1}}) {
    const auto part = entries(2, begin, end);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + begin * sc))
        << what << ", entries " << begin << " to " << end;
  }
}

// For each transpose, beta and K (one block of the kernels or several), with float32 products and,
// where the CPU has them, bfloat16 ones.
TEST(GemmBackend, BatchedEntriesHaveTheSameBitsForAnyThreadsAndBatch) {
  std::mt19937 rng(5);
  std::vector<Precision> precisions{Precision::f32};
  if (bf16_unavailable_reason().empty()) precisions.push_back(Precision::bf16);
  for (Precision precision : precisions)
    for (Dims d : {Dims{64, 64, 64}, Dims{24, 40, 1100}, Dims{5, 3, 7}})
      for (bool ta : {false, true})
        for (bool tb : {false, true})
          for (float beta : {0.0f, 1.0f}) check_entry_bits(precision, d, ta, tb, beta, rng);
}

TEST(GemmBackend, BatchedAccumulationNeedsBetaOne) {
  std::vector<float> a(4, 1.0f), b(4, 1.0f), c(4, 0.0f);
  EXPECT_THROW(gemm_batched<float>(2, false, false, 2, 2, 1, a.data(), 2, b.data(), 2, 0.0f, c.data(), 0),
               std::invalid_argument);
}

template <class T>
void check_transpose(std::size_t rows, std::size_t cols) {
  std::vector<T> in(rows * cols), out(rows * cols, T(-1));
  for (std::size_t k = 0; k < in.size(); ++k) in[k] = T(k) * T(0.5);
  transpose<T>(rows, cols, in.data(), out.data());
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      ASSERT_EQ(out[c * rows + r], in[r * cols + c]) << rows << "x" << cols << " at " << r << "," << c;
}

TEST(GemmBackend, TransposeMatchesLoop) {
  for (auto [rows, cols] : std::vector<std::pair<std::size_t, std::size_t>>{{3, 5}, {1, 7}, {7, 1}, {768, 256}, {0, 3}}) {
    check_transpose<float>(rows, cols);
    check_transpose<double>(rows, cols);
  }
}

TEST(GemmBackend, ThreadScopeLimitsThisThreadAndNests) {
  set_num_threads(2);
  EXPECT_EQ(gemm_threads(), 2u);
  {
    GemmThreadsScope one(1);
    EXPECT_EQ(gemm_threads(), 1u);
    {
      GemmThreadsScope more(4);  // an inner scope cannot raise the outer limit
      EXPECT_EQ(gemm_threads(), 1u);
    }
    EXPECT_EQ(gemm_threads(), 1u);
  }
  EXPECT_EQ(gemm_threads(), 2u);
  set_num_threads(0);
}

TEST(GemmBackend, InfoNamesLibraryKernelsAndThreads) {
  const BackendInfo info = backend_info();
  EXPECT_FALSE(info.f32_gemm.empty());
  EXPECT_FALSE(info.f32_isa.empty());
  EXPECT_FALSE(info.f64_gemm.empty());
  EXPECT_GE(info.threads, 1u);
  EXPECT_NE(backend_summary().find(info.f32_gemm), std::string::npos);
}

}  // namespace
}  // namespace seqgrad
