// bfloat16 products (AutocastScope): against a long-double loop over the operands rounded to
// bfloat16 (tight: only the float32 accumulation differs) and over the float32 operands (within
// bfloat16's precision); every transpose, alpha, beta, padded rows, batches; the same bits for any
// thread count; the scope's nesting and its refusal on a CPU without bfloat16 instructions.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/ops/elementwise.hpp"
#include "seqgrad/ops/linalg.hpp"
#include "seqgrad/ops/reduce.hpp"
#include "support/naive_gemm.hpp"

namespace seqgrad::bf16_test {
namespace {

// Skips a test that needs bfloat16 products on a machine (or build) without them.
#define SKIP_WITHOUT_BF16()                                                                  \
  if (const std::string why = bf16_unavailable_reason(); !why.empty()) GTEST_SKIP() << why

// x rounded to bfloat16, to nearest with ties to even, by arithmetic on the value (the library
// rounds with bit operations): the multiple of bfloat16's spacing at x's exponent nearest to x.
float bf16(float x) {
  if (!std::isfinite(x) || x == 0.0f) return x;
  int exponent;
  std::frexp(x, &exponent);                                   // |x| in [2^(e-1), 2^e)
  const double spacing = std::ldexp(1.0, exponent - 1 - 7);  // 7 stored mantissa bits
  return float(std::nearbyint(double(x) / spacing) * spacing);  // nearbyint: ties to even
}

std::vector<float> random_vector(std::size_t n, std::mt19937& rng) { return test_support::random_vector<float>(n, rng); }

// C = alpha op(A) op(B) + beta C in long double, operands through `round` (once each, beforehand).
template <class Round>
void naive(Round round, bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
           std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) {
  const auto through_round = [&](const float* X, std::size_t rows, std::size_t cols, std::size_t ld) {
    std::vector<float> v(X, X + (rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols));
    for (float& x : v) x = round(x);
    return v;
  };
  const auto a = through_round(A, ta ? K : M, ta ? M : K, lda), b = through_round(B, tb ? N : K, tb ? K : N, ldb);
  test_support::naive_gemm([](float x) { return x; }, ta, tb, M, N, K, alpha, a.data(), lda, b.data(), ldb, beta, C,
                           ldc);
}

const auto rounded = [](float x) { return bf16(x); };
const auto unrounded = [](float x) { return x; };

// The float32 accumulation of K products of operands in [-1, 1] (as the float32 products' test).
double accumulation_tolerance(std::size_t K) { return 2e-6 * double(K + 4); }
// Rounding both operands to bfloat16 moves each product by at most 2^-8 of itself, plus accumulation.
double bf16_tolerance(std::size_t K) { return std::ldexp(1.0, -8) * double(K) + accumulation_tolerance(K); }

struct Dims {
  std::size_t M, N, K;
};

// Small and vector shapes, and shapes large enough to be cut into blocks of rows or of columns.
// The vector shapes reach the loops that round the matrix operand as they load it past their
// blocks (128 columns, 4 rows, 32 and 16 values of K) and into the tails.
const std::vector<Dims> kDims = {{0, 3, 4},     {3, 4, 0},    {1, 1, 1},     {1, 7, 5},     {6, 1, 5},
                                 {17, 33, 9},   {64, 64, 64}, {130, 70, 90}, {70, 150, 90}, {1, 192, 64},
                                 {1, 300, 45},  {77, 1, 70},  {1, 6, 300},   {7, 1, 33}};

void check_all(std::size_t pad) {
  std::mt19937 rng(7);
  for (const Dims& d : kDims)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f, 0.5f})
          for (float alpha : {1.0f, -0.75f}) {
            const std::size_t lda = (ta ? d.M : d.K) + pad, ldb = (tb ? d.K : d.N) + pad, ldc = d.N + pad;
            const auto A = random_vector((ta ? d.K : d.M) * lda + 1, rng);
            const auto B = random_vector((tb ? d.N : d.K) * ldb + 1, rng);
            auto C = random_vector(d.M * ldc + 1, rng);
            if (beta == 0.0f) std::fill(C.begin(), C.end(), std::numeric_limits<float>::quiet_NaN());  // never read
            auto of_rounded = C, of_float = C;
            naive(rounded, ta, tb, d.M, d.N, d.K, alpha, A.data(), lda, B.data(), ldb, beta, of_rounded.data(), ldc);
            naive(unrounded, ta, tb, d.M, d.N, d.K, alpha, A.data(), lda, B.data(), ldb, beta, of_float.data(), ldc);
            {
              AutocastScope bf16_products;
              gemm<float>(ta, tb, d.M, d.N, d.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
            }
            const std::string what = std::to_string(d.M) + "x" + std::to_string(d.N) + "x" + std::to_string(d.K) +
                                     " ta " + std::to_string(ta) + " tb " + std::to_string(tb) + " beta " +
                                     std::to_string(beta) + " alpha " + std::to_string(alpha) + " pad " +
                                     std::to_string(pad);
            double off_float = 0;  // how far from the float32 product: bfloat16 rounding, visibly
            for (std::size_t i = 0; i < d.M; ++i)
              for (std::size_t j = 0; j < d.N; ++j) {
                const float c = C[i * ldc + j];
                ASSERT_NEAR(c, of_rounded[i * ldc + j], accumulation_tolerance(d.K)) << what << " at " << i << "," << j;
                ASSERT_NEAR(c, of_float[i * ldc + j], bf16_tolerance(d.K)) << what << " at " << i << "," << j;
                off_float = std::max(off_float, std::abs(double(c) - double(of_float[i * ldc + j])));
              }
            if (d.K >= 9) {
              EXPECT_GT(off_float, 10 * accumulation_tolerance(d.K)) << what << ": not rounded to bf16?";
            }
            if (beta != 0.0f) {  // padding between rows is left alone
              for (std::size_t i = 0; i < d.M; ++i)
                for (std::size_t j = d.N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], of_float[i * ldc + j]) << what;
            }
          }
}

TEST(Bf16Products, MatchTheProductsOfRoundedOperands) {
  SKIP_WITHOUT_BF16();
  for (std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    check_all(0);
    check_all(3);
  }
  set_num_threads(0);
}

// A product of x and 1 is x rounded to bfloat16: to nearest, ties to even, NaN and infinity kept,
// the largest floats rounded up to infinity.
TEST(Bf16Products, RoundOperandsToNearestTiesToEven) {
  SKIP_WITHOUT_BF16();
  const float one = 1.0f, half_ulp = std::ldexp(1.0f, -8), ulp = std::ldexp(1.0f, -7);
  const std::vector<std::pair<float, float>> cases = {
      {one + half_ulp, one},                                   // tie: down to even
      {one + ulp + half_ulp, one + 2 * ulp},                   // tie: up to even
      {one + half_ulp + std::ldexp(1.0f, -20), one + ulp},    // above the tie
      {-(one + ulp + half_ulp), -(one + 2 * ulp)},
      {std::numeric_limits<float>::max(), std::numeric_limits<float>::infinity()},
      {-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()},
      {0.1f, bf16(0.1f)}};
  AutocastScope bf16_products;
  for (const auto& [x, expected] : cases) {
    float c = 0;
    gemm<float>(false, false, 1, 1, 1, &x, &one, 0.0f, &c);  // the vector loops' rounding
    EXPECT_EQ(c, expected) << x;
    // x I (2x2) goes to the library with the operands rounded by the CPU's conversion instruction.
    const float a[4] = {x, 0.0f, 0.0f, x}, identity[4] = {1.0f, 0.0f, 0.0f, 1.0f};
    float c2[4] = {};
    gemm<float>(false, false, 2, 2, 2, a, identity, 0.0f, c2);
    EXPECT_EQ(c2[0], expected) << x;
    EXPECT_EQ(c2[3], expected) << x;
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float c = 0;
  gemm<float>(false, false, 1, 1, 1, &nan, &one, 0.0f, &c);
  EXPECT_TRUE(std::isnan(c));
}

void check_batched(std::size_t batch, Dims d, bool share_a, bool share_b, bool accumulate) {
  std::mt19937 rng(11);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const std::size_t sa = share_a ? 0 : d.M * d.K, sb = share_b ? 0 : d.K * d.N, sc = accumulate ? 0 : d.M * d.N;
      const auto A = random_vector(std::max<std::size_t>(1, batch * sa + d.M * d.K), rng);
      const auto B = random_vector(std::max<std::size_t>(1, batch * sb + d.K * d.N), rng);
      auto C = random_vector(std::max<std::size_t>(1, batch * sc + d.M * d.N), rng);
      auto expected = C;
      const float beta = accumulate ? 1.0f : 0.0f;
      for (std::size_t i = 0; i < batch; ++i)
        naive(rounded, ta, tb, d.M, d.N, d.K, 1.0f, A.data() + i * sa, ta ? d.M : d.K, B.data() + i * sb,
              tb ? d.K : d.N, beta, expected.data() + i * sc, d.N);
      {
        AutocastScope bf16_products;
        gemm_batched<float>(batch, ta, tb, d.M, d.N, d.K, A.data(), sa, B.data(), sb, beta, C.data(), sc);
      }
      for (std::size_t e = 0; e < C.size() - (accumulate ? 0 : d.M * d.N); ++e)
        ASSERT_NEAR(C[e], expected[e], accumulation_tolerance(d.K * (accumulate ? batch : 1)))
            << d.M << "x" << d.N << "x" << d.K << " ta " << ta << " tb " << tb << " element " << e;
    }
}

TEST(Bf16Products, BatchedMatchLoop) {
  SKIP_WITHOUT_BF16();
  for (std::size_t threads : {1, 2}) {
    set_num_threads(threads);
    for (Dims d : {Dims{64, 64, 64}, Dims{1, 12, 64}, Dims{3, 5, 4}, Dims{0, 3, 2}, Dims{2, 3, 0}, Dims{96, 80, 64}}) {
      check_batched(16, d, false, false, false);
      check_batched(16, d, true, false, false);
      check_batched(16, d, false, true, false);
      check_batched(16, d, false, true, true);
      check_batched(1, d, false, false, false);
    }
  }
  set_num_threads(0);
}

// The products are cut by their shape, never by the thread count: the same bits on 1, 2 and 3
// threads, and inside a GemmThreadsScope (as on a data-parallel worker).
TEST(Bf16Products, SameBitsForAnyThreadCount) {
  SKIP_WITHOUT_BF16();
  std::mt19937 rng(3);
  const std::size_t M = 300, N = 200, K = 256, batch = 48, e = 64;
  const auto A = random_vector(M * K, rng), B = random_vector(K * N, rng);
  const auto X = random_vector(batch * e * e, rng), Y = random_vector(batch * e * e, rng);
  auto run = [&](std::size_t threads, bool scoped) {
    set_num_threads(threads);
    std::vector<float> C(M * N), Ct(N * M), Z(batch * e * e);
    {
      AutocastScope bf16_products;
      std::optional<GemmThreadsScope> limit;
      if (scoped) limit.emplace(1);
      gemm<float>(false, false, M, N, K, A.data(), B.data(), 0.0f, C.data());
      gemm<float>(true, true, N, M, K, B.data(), A.data(), 0.0f, Ct.data());  // wider than tall: by columns
      gemm_batched<float>(batch, false, true, e, e, e, X.data(), e * e, Y.data(), e * e, 0.0f, Z.data(), e * e);
    }
    set_num_threads(0);
    C.insert(C.end(), Ct.begin(), Ct.end());
    C.insert(C.end(), Z.begin(), Z.end());
    return C;
  };
  const auto one = run(1, false);
  EXPECT_EQ(one, run(2, false));
  EXPECT_EQ(one, run(3, false));
  EXPECT_EQ(one, run(2, true));
}

// The ops (linear, matmul, batched matmul) forward and backward inside the scope: every product,
// gradients included, equals the long-double product of the bfloat16-rounded operands up to float32
// accumulation. Rows 8 and 40 take both paths of a weight's gradient (held back and stacked, or at once).
struct OpCase {
  std::vector<float> a, b, upstream;
};

// C [M,N] = op(A) op(B) over operands rounded to bfloat16, in long double.
std::vector<float> rounded_product(const std::vector<float>& A, const std::vector<float>& B, std::size_t M,
                                   std::size_t N, std::size_t K, bool ta, bool tb) {
  std::vector<float> C(M * N, 0.0f);
  naive(rounded, ta, tb, M, N, K, 1.0f, A.data(), ta ? M : K, B.data(), tb ? K : N, 0.0f, C.data(), N);
  return C;
}

void expect_close(const Tensor& t, const std::vector<float>& expected, std::size_t K, const std::string& what) {
  const std::vector<double> got = t.to_vector();
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], expected[i], accumulation_tolerance(K)) << what << " element " << i;
}

Tensor leaf(const std::vector<float>& v, const Shape& shape) {
  Tensor t = Tensor::from(std::vector<double>(v.begin(), v.end()), shape);
  t.requires_grad_();
  return t;
}

// The bias is added by the product's kernel (by the loops' first pass for a single row), to each
// block of columns its own part when a thin product is cut by columns (40 rows of 300 outputs).
TEST(Bf16Products, LinearForwardAndBackward) {
  SKIP_WITHOUT_BF16();
  std::mt19937 rng(5);
  const std::size_t in = 48;
  struct Case {
    std::size_t rows, out;
    bool in_scope;  // a WeightTransposeScope: thin products read its transposed weight
  };
  for (const Case c : {Case{1, 24, false}, Case{8, 24, false}, Case{40, 24, false}, Case{96, 24, false},
                       Case{40, 300, false}, Case{40, 300, true}}) {  // 96: the forward's rounded x and W serve the backward
    const std::size_t rows = c.rows, out = c.out;
    const auto xv = random_vector(rows * in, rng), wv = random_vector(out * in, rng), gv = random_vector(rows * out, rng);
    const auto bv = random_vector(out, rng);
    Tensor x = leaf(xv, {rows, in}), w = leaf(wv, {out, in}), bias = leaf(bv, {out});
    AutocastScope bf16_products;
    Tensor y;
    {
      std::optional<WeightTransposeScope> scope;
      if (c.in_scope) scope.emplace();
      y = linear(x, w, bias);
    }
    backward(y, Tensor::from(std::vector<double>(gv.begin(), gv.end()), {rows, out}));
    auto expected_y = rounded_product(xv, wv, rows, out, in, false, true);
    for (std::size_t i = 0; i < expected_y.size(); ++i) expected_y[i] += bv[i % out];
    const std::string what = "linear rows " + std::to_string(rows) + " out " + std::to_string(out) +
                             (c.in_scope ? " in a scope" : "");
    expect_close(y, expected_y, in, what + " y");
    expect_close(x.grad(), rounded_product(gv, wv, rows, in, out, false, false), out, what + " dx");
    expect_close(w.grad(), rounded_product(gv, xv, out, in, rows, true, false), rows, what + " dW");
  }
}

TEST(Bf16Products, MatmulAndBatchedMatmulForwardAndBackward) {
  SKIP_WITHOUT_BF16();
  std::mt19937 rng(9);
  const std::size_t batch = 6, M = 40, K = 32, N = 20;
  for (bool batched : {false, true}) {
    const std::size_t n = batched ? batch : 1;
    const auto av = random_vector(n * M * K, rng), bv = random_vector(n * K * N, rng), gv = random_vector(n * M * N, rng);
    const Shape sa = batched ? Shape{batch, M, K} : Shape{M, K}, sb = batched ? Shape{batch, K, N} : Shape{K, N};
    Tensor a = leaf(av, sa), b = leaf(bv, sb);
    AutocastScope bf16_products;
    const Tensor y = matmul(a, b);
    backward(y, Tensor::from(std::vector<double>(gv.begin(), gv.end()), batched ? Shape{batch, M, N} : Shape{M, N}));
    std::vector<float> ey, eda, edb;
    for (std::size_t i = 0; i < n; ++i) {
      const auto part = [](const std::vector<float>& v, std::size_t i, std::size_t size) {
        return std::vector<float>(v.begin() + i * size, v.begin() + (i + 1) * size);
      };
      const auto ai = part(av, i, M * K), bi = part(bv, i, K * N), gi = part(gv, i, M * N);
      for (float e : rounded_product(ai, bi, M, N, K, false, false)) ey.push_back(e);
      for (float e : rounded_product(gi, bi, M, K, N, false, true)) eda.push_back(e);
      for (float e : rounded_product(ai, gi, K, N, M, true, false)) edb.push_back(e);
    }
    const std::string what = batched ? "batched matmul" : "matmul";
    expect_close(y, ey, K, what + " y");
    expect_close(a.grad(), eda, N, what + " da");
    expect_close(b.grad(), edb, M, what + " db");
  }
}

void check_linear_shares_copies(std::size_t rows, std::size_t in, std::size_t out) {
  SCOPED_TRACE(std::to_string(rows) + " rows");
  std::mt19937 rng(8);
  Tensor x = leaf(random_vector(rows * in, rng), {rows, in}), w = leaf(random_vector(out * in, rng), {out, in});
  const auto gv = random_vector(rows * out, rng);
  const Tensor gy = Tensor::from(std::vector<double>(gv.begin(), gv.end()), {rows, out});
  AutocastScope bf16_products;
  for (int step = 0; step < 2; ++step) {
    const Tensor y_linear = linear(x, w);
    backward(y_linear, gy);
    const auto dx_linear = x.grad().to_vector(), dw_linear = w.grad().to_vector();
    x.zero_grad();
    w.zero_grad();
    const Tensor y_matmul = matmul(x, w, false, true);
    backward(y_matmul, gy);
    EXPECT_EQ(y_linear.to_vector(), y_matmul.to_vector()) << "step " << step;
    {
      NoGradGuard inference;  // no backward can follow: no copies are kept, the same bits
      EXPECT_EQ(linear(x, w).to_vector(), y_linear.to_vector()) << "step " << step;
    }
    EXPECT_EQ(dx_linear, x.grad().to_vector()) << "step " << step;
    EXPECT_EQ(dw_linear, w.grad().to_vector()) << "step " << step;
    x.zero_grad();
    w.zero_grad();
    w.data<float>()[3] += 0.5f;  // an optimizer step between the two: the next forward rounds afresh
  }
}

// A linear layer of 64 rows or more rounds x and W once, in its forward, and its backward's products
// read those copies: the results are those of the same products rounding their operands each time
// (matmul's, which share nothing), bit for bit, in two steps with the weight changed in between. 100
// rows: a band of rows short of 32; 1100 rows of 64: operands rounded on two threads, in bands.
TEST(Bf16Products, ALinearsRoundedInputAndWeightServeItsBackwardWithTheSameBits) {
  SKIP_WITHOUT_BF16();
  set_num_threads(2);
  check_linear_shares_copies(128, 72, 40);
  check_linear_shares_copies(100, 72, 40);
  check_linear_shares_copies(1100, 72, 64);
  set_num_threads(0);
}

// The README's example: a scope around forward and backward; the weights and gradients stay float32.
TEST(AutocastScope, ReadmeExample) {
  SKIP_WITHOUT_BF16();
  std::mt19937 rng(2);
  const auto xv = random_vector(32 * 64, rng), wv = random_vector(16 * 64, rng);
  Tensor x = leaf(xv, {32, 64}), w = leaf(wv, {16, 64}), b = leaf(std::vector<float>(16, 0.5f), {16});
  // readme-begin: autocast
  {
    AutocastScope bf16_products;  // on this thread: float32 products take bfloat16 operands
    const Tensor y = linear(x, w, b);
    backward(sum(y));  // the backward's products too; y, w.grad(), ... are float32 tensors
  }
  // readme-end: autocast
  EXPECT_EQ(product_precision(), Precision::f32);
  EXPECT_EQ(w.grad().dtype(), DType::f32);
  expect_close(w.grad(), rounded_product(std::vector<float>(32 * 16, 1.0f), xv, 16, 64, 32, true, false), 32, "dW");
}

// Inside a WeightTransposeScope a weight's transposed copy is rounded once and reused by every
// product of the scope: the results are those of rounding it each time, and a weight changed after
// the scope is seen by the next scope (no rounded copy outlives its scope).
TEST(Bf16Products, AWeightHeldByAScopeIsRoundedOnceWithTheSameResults) {
  SKIP_WITHOUT_BF16();
  std::mt19937 rng(4);
  const Tensor x = leaf(random_vector(32 * 48, rng), {32, 48});  // 32 rows: the scope's transposed copy serves them
  Tensor w = leaf(random_vector(40 * 48, rng), {40, 48});
  AutocastScope bf16_products;
  const auto alone = linear(x, w).to_vector();
  std::vector<std::vector<double>> in_scope;
  {
    WeightTransposeScope scope;
    for (int step = 0; step < 3; ++step) in_scope.push_back(linear(x, w).to_vector());
  }
  for (const auto& y : in_scope) EXPECT_EQ(y, alone);
  w.data<float>()[0] += 1.0f;  // a new weight (an optimizer step): the next scope rounds it afresh
  const auto changed = linear(x, w).to_vector();
  ASSERT_NE(changed, alone);
  WeightTransposeScope scope;
  EXPECT_EQ(linear(x, w).to_vector(), changed);
}

// Inside a WeightTransposeScope every time step's linear shares one bfloat16 copy of the weight,
// forward and backward (the backward runs after the scope): a recurrence over 3 steps of 32 rows
// (the forward reads the scope's transposed weight) and of 64 (it reads the shared copy) gives the
// bits it gives without a scope.
TEST(Bf16Products, TimeStepsInAScopeShareOneRoundedWeightWithTheSameGradients) {
  SKIP_WITHOUT_BF16();
  std::mt19937 rng(12);
  for (std::size_t rows : {32, 64}) {
    const std::size_t in = 40;
    Tensor x = leaf(random_vector(rows * in, rng), {rows, in}), w = leaf(random_vector(in * in, rng), {in, in});
    AutocastScope bf16_products;
    auto run = [&](bool scoped) {
      x.zero_grad();
      w.zero_grad();
      Tensor h = x, loss;
      {
        std::optional<WeightTransposeScope> scope;
        if (scoped) scope.emplace();
        for (int step = 0; step < 3; ++step) h = tanh(linear(h, w));
        loss = sum(h * h);
      }
      backward(loss);
      return std::vector<std::vector<double>>{h.to_vector(), x.grad().to_vector(), w.grad().to_vector()};
    };
    const auto plain = run(false), scoped = run(true);
    EXPECT_EQ(scoped[0], plain[0]) << rows << " rows: h";
    EXPECT_EQ(scoped[1], plain[1]) << rows << " rows: dx";
    EXPECT_EQ(scoped[2], plain[2]) << rows << " rows: dW";
  }
}

TEST(Bf16Products, Float64ProductsAreUnaffected) {
  SKIP_WITHOUT_BF16();
  const double a = 1.0 + std::ldexp(1.0, -30), b = 1.0;
  double c = 0;
  AutocastScope bf16_products;
  gemm<double>(false, false, 1, 1, 1, &a, &b, 0.0, &c);
  EXPECT_EQ(c, a);
}

TEST(AutocastScope, NestsAndRestores) {
  SKIP_WITHOUT_BF16();
  EXPECT_EQ(product_precision(), Precision::f32);
  {
    AutocastScope outer;
    EXPECT_EQ(product_precision(), Precision::bf16);
    {
      AutocastScope inner(Precision::f32);  // a region that must stay float32
      EXPECT_EQ(product_precision(), Precision::f32);
      const float x = 1.0f + std::ldexp(1.0f, -10), one = 1.0f;
      float c = 0;
      gemm<float>(false, false, 1, 1, 1, &x, &one, 0.0f, &c);
      EXPECT_EQ(c, x);
    }
    EXPECT_EQ(product_precision(), Precision::bf16);
  }
  EXPECT_EQ(product_precision(), Precision::f32);
}

TEST(AutocastScope, ThePrecisionIsPerThread) {
  SKIP_WITHOUT_BF16();
  AutocastScope bf16_products;
  Precision elsewhere = Precision::bf16;
  std::thread([&] { elsewhere = product_precision(); }).join();
  EXPECT_EQ(elsewhere, Precision::f32);
}

// On a CPU without bfloat16 instructions (pretended here) entering the mode throws, naming the
// missing feature, and leaves the precision as it was; float32 scopes still work.
TEST(AutocastScope, RefusesWithoutBf16InstructionsNamingThem) {
  test_hooks::pretend_cpu_lacks_bf16(true);
  try {
    AutocastScope bf16_products;
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("AMX-BF16"), std::string::npos) << e.what();
  }
  EXPECT_EQ(product_precision(), Precision::f32);
  EXPECT_NO_THROW(AutocastScope{Precision::f32});
  EXPECT_NE(backend_info().bf16_gemm.find("unavailable"), std::string::npos);
  test_hooks::pretend_cpu_lacks_bf16(false);
}

TEST(AutocastScope, BackendInfoNamesTheBf16Kernel) {
  SKIP_WITHOUT_BF16();
  const BackendInfo info = backend_info();
  EXPECT_EQ(info.bf16_gemm.find("unavailable"), std::string::npos) << info.bf16_gemm;
  EXPECT_NE(info.bf16_gemm.find("bf16"), std::string::npos) << info.bf16_gemm;  // e.g. brg:avx512_core_bf16
  EXPECT_NE(backend_summary().find("bf16 " + info.bf16_gemm), std::string::npos) << backend_summary();
}

TEST(Precision, ParsesItsTwoNamesAndRefusesOthers) {
  EXPECT_EQ(parse_precision("f32", "--precision"), Precision::f32);
  EXPECT_EQ(parse_precision("bf16", "--precision"), Precision::bf16);
  EXPECT_EQ(to_string(Precision::bf16), "bf16");
  EXPECT_EQ(to_string(Precision::f32), "f32");
  for (const char* bad : {"fp16", "BF16", "", "f64"}) {
    try {
      parse_precision(bad, "--precision");
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("--precision"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("'" + std::string(bad) + "'"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace seqgrad::bf16_test
