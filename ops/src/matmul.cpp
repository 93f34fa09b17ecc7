// Matrix products. Every product, forward and backward, is one GEMM call of the backend
// (seqgrad/ops/backend.hpp): transposes are gemm flags and accumulation into gradients is beta = 1.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "gemm_bf16.hpp"
#include "seqgrad/graph/context.hpp"
#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/linalg.hpp"
#include "seqgrad/ops/shape_ops.hpp"

namespace seqgrad {

namespace {

struct MatmulDims {
  std::size_t batch, M, K, N;
  bool a_batched, b_batched;
};

MatmulDims matmul_dims(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  auto fail = [&](const std::string& why) {
    return std::invalid_argument("matmul: cannot multiply " + to_string(a.shape()) + (ta ? "^T" : "") + " by " +
                                 to_string(b.shape()) + (tb ? "^T" : "") + ": " + why);
  };
  if (a.dim() < 2 || a.dim() > 3 || b.dim() < 2 || b.dim() > 3) throw fail("operands must be 2-D or 3-D");
  if (a.dtype() != b.dtype()) throw fail("dtypes differ");
  MatmulDims d{};
  d.a_batched = a.dim() == 3;
  d.b_batched = b.dim() == 3;
  const std::size_t ra = a.shape()[a.dim() - 2], ca = a.shape()[a.dim() - 1];
  const std::size_t rb = b.shape()[b.dim() - 2], cb = b.shape()[b.dim() - 1];
  d.M = ta ? ca : ra;
  d.K = ta ? ra : ca;
  const std::size_t kb = tb ? cb : rb;
  d.N = tb ? rb : cb;
  if (d.K != kb) throw fail("inner dimensions " + std::to_string(d.K) + " and " + std::to_string(kb) + " differ");
  const std::size_t ba = d.a_batched ? a.shape()[0] : 1, bb = d.b_batched ? b.shape()[0] : 1;
  if (d.a_batched && d.b_batched && ba != bb) throw fail("batch sizes " + std::to_string(ba) + " and " +
                                                         std::to_string(bb) + " differ");
  d.batch = std::max(ba, bb);
  return d;
}

// dest [M, N] += sum over the terms of a^T b (a [rows, M], b [rows, N]): one product over all the
// terms' rows, stacked, instead of one thin product per term.
template <class T>
void add_stacked_products(Tensor& dest, const std::vector<ProductTerm>& terms) {
  const std::size_t M = terms.front().a_cols, N = terms.front().b_cols;
  if (terms.size() == 1) {
    const ProductTerm& t = terms.front();
    return gemm<T>(true, false, M, N, t.rows, t.a.data<T>(), t.b.data<T>(), T(1), dest.data<T>());
  }
  std::size_t rows = 0;
  for (const ProductTerm& t : terms) rows += t.rows;
  Tensor a = Tensor::empty({rows, M}, dest.dtype()), b = Tensor::empty({rows, N}, dest.dtype());
  T* A = a.data<T>();
  T* B = b.data<T>();
  for (const ProductTerm& t : terms) {
    A = std::copy_n(t.a.data<T>(), t.rows * M, A);
    B = std::copy_n(t.b.data<T>(), t.rows * N, B);
  }
  gemm<T>(true, false, M, N, rows, a.data<T>(), b.data<T>(), T(1), dest.data<T>());
}

// A weight's gradient from a product over fewer rows than this is a thin product: too few
// multiply-adds per element of dW for a GEMM kernel to hide loading and storing dW, so such terms
// wait to be summed in one product at the end of the backward walk (GradInputs::accumulate_product).
// Where stacking stops paying: bench/README.md, "Why the thresholds are where they are".
constexpr std::size_t thin_rows = 32;

// gemm<T> (packed operands) with the operands' shared bfloat16 copies, either of which may be null
// (see LinearCopies); float64 products have none.
// bias: null, or N values added to every row of C (float32 only: see bf16_gemm::gemm).
template <class T>
void gemm_sharing(bool ta, bool tb, std::size_t M, std::size_t N, std::size_t K, const T* A, const T* B, T beta, T* C,
                  bf16_gemm::RoundedCopy* a_copy, bf16_gemm::RoundedCopy* b_copy, const float* bias = nullptr) {
  if constexpr (std::is_same_v<T, float>)
    gemm_internal::gemm_sharing_copies(ta, tb, M, N, K, A, B, beta, C, a_copy, b_copy, bias);
  else
    gemm<T>(ta, tb, M, N, K, A, B, beta, C);
}

// dest += a^T b, for input i of a matmul or linear: held back when thin, else at once. b_copy: b's
// shared bfloat16 copy (see LinearCopies), or null.
template <class T>
void add_weight_gradient(GradInputs& g, std::size_t i, const char* op, const Tensor& a, const Tensor& b,
                         std::size_t rows, std::size_t a_cols, std::size_t b_cols,
                         bf16_gemm::RoundedCopy* b_copy = nullptr) {
  if (rows < thin_rows)
    return g.accumulate_product(i, {a, b, rows, a_cols, b_cols}, {op, &add_stacked_products<T>});
  bool fresh;
  T* dest = g.buffer_to_write(i, fresh).template data<T>();
  gemm_sharing<T>(true, false, a_cols, b_cols, rows, a.data<T>(), b.data<T>(), fresh ? T(0) : T(1), dest, nullptr,
                  b_copy);
}

// The shared bfloat16 copies of a linear layer's input and weight (bf16_gemm::RoundedCopy): in a
// bf16 scope the forward product rounds x and W into them and the backward's products read them
// (dX = dY W reads W, dW = dY^T X reads x), so each is rounded once rather than twice. Only where a
// backward can follow. x's copy for products of at least transposed_rows_end rows (thinner forwards
// in a scope read its transposed weight, held constant); W's as weight_copy says: inside a
// WeightTransposeScope every time step shares one.
struct LinearCopies {
  std::shared_ptr<bf16_gemm::RoundedCopy> x, weight;
};

// The transposed weights of the active WeightTransposeScope on this thread (null when none), and
// the weights' shared bfloat16 copies: one per weight for the scope's every time step, forward and
// backward (the backward runs after the scope, so the nodes hold the copies, not the scope).
struct TransposeCache {
  struct Entry {
    Tensor weight, transposed;  // the weight is held, so that its address cannot be reused meanwhile
  };
  struct Rounded {
    Tensor weight;
    std::shared_ptr<bf16_gemm::RoundedCopy> copy;
  };
  std::vector<Entry> entries;  // a handful of weights: a linear search
  std::vector<Rounded> rounded;
};
thread_local std::unique_ptr<TransposeCache> active_cache;

// Products over this many rows read the weight transposed inside a scope (see linalg.hpp): with
// more rows the kernels run x W^T about as fast as x (W^T), and a single row (batch 1) runs on
// seqgrad's own vector loop, which the copy only slows down. The measurements: bench/README.md,
// "Why the thresholds are where they are".
constexpr std::size_t transposed_rows_min = 8, transposed_rows_end = 64;

// W^T [in, out] from the active scope, made on first use; undefined when no scope is active.
template <class T>
Tensor cached_transpose(const Tensor& weight) {
  if (!active_cache) return Tensor();
  for (const auto& e : active_cache->entries)
    if (e.weight.impl() == weight.impl()) return e.transposed;
  const std::size_t out = weight.shape()[0], in = weight.shape()[1];
  Tensor t = Tensor::empty({in, out}, weight.dtype());
  transpose<T>(out, in, weight.data<T>(), t.data<T>());
  active_cache->entries.push_back({weight, t});
  // Constant until the scope ends: bf16 products round it once, not once per time step.
  if constexpr (std::is_same_v<T, float>) bf16_gemm::hold_constant(t.data<float>(), t.numel());
  return t;
}

// The bfloat16 copy a linear's products over `rows` rows share for `weight`, or none (the backward
// rounds W again). Outside a scope, one of this product's own when it is no larger than x's (rows >=
// out: an RNN stepping through time without a scope would otherwise keep one per step). Inside one,
// the scope's, made on first use and shared by every time step (thin forwards read the scope's
// transposed weight instead, so for them it serves the backward's dX = dY W: seq2seq_b64_h256's
// bf16 step 2-4% faster at the same peak memory).
std::shared_ptr<bf16_gemm::RoundedCopy> weight_copy(const Tensor& weight, std::size_t rows) {
  if (!active_cache) return rows >= weight.shape()[0] ? std::make_shared<bf16_gemm::RoundedCopy>() : nullptr;
  for (const auto& r : active_cache->rounded)
    if (r.weight.impl() == weight.impl()) return r.copy;
  active_cache->rounded.push_back({weight, std::make_shared<bf16_gemm::RoundedCopy>()});
  return active_cache->rounded.back().copy;
}

}  // namespace

WeightTransposeScope::WeightTransposeScope() : outermost_(active_cache == nullptr) {
  if (outermost_) active_cache = std::make_unique<TransposeCache>();
}

bool WeightTransposeScope::active() { return active_cache != nullptr; }

WeightTransposeScope::~WeightTransposeScope() {
  if (!outermost_) return;
  bf16_gemm::release_constants();
  active_cache.reset();
}

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const MatmulDims d = matmul_dims(a, b, ta, tb);
  return dispatch_float(a.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const bool out_batched = d.a_batched || d.b_batched;
    Tensor y = out_batched ? Tensor::empty({d.batch, d.M, d.N}, a.dtype()) : Tensor::empty({d.M, d.N}, a.dtype());
    const std::size_t sa = d.a_batched ? d.M * d.K : 0, sb = d.b_batched ? d.K * d.N : 0, sy = d.M * d.N;
    if (d.a_batched && !d.b_batched && !ta)  // [B,M,K] x [K,N] is one [B*M,K] x [K,N] product
      gemm<T>(false, tb, d.batch * d.M, d.N, d.K, a.data<T>(), b.data<T>(), T(0), y.data<T>());
    else
      gemm_batched<T>(d.batch, ta, tb, d.M, d.N, d.K, a.data<T>(), sa, b.data<T>(), sb, T(0), y.data<T>(), sy);
    return record("matmul", {a, b}, y, [a, b, ta, tb, d](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        // The formulas below as recorded products, written on the stored operands: dA = dY op(B)^T
        // (its transpose, op(B) dY^T, when ta), dB = op(A)^T dY (dY^T op(A) when tb). A 2-D operand
        // shared by the batch gets a batched gradient, which g.add sums over the batch.
        if (g.needs(0)) g.add(0, ta ? matmul(b, gy, tb, true) : matmul(gy, b, false, !tb));
        if (g.needs(1)) g.add(1, tb ? matmul(gy, a, true, ta) : matmul(a, gy, !ta, false));
        return;
      }
      const std::size_t sa = d.a_batched ? d.M * d.K : 0, sb = d.b_batched ? d.K * d.N : 0, sy = d.M * d.N;
      const T* A = a.data<T>();
      const T* B = b.data<T>();
      const T* G = gy.data<T>();
      // For Y = op(A) op(B):  dA = dY op(B)^T (stored as op(B) dY^T when ta),
      //                       dB = op(A)^T dY (stored as dY^T op(A) when tb).
      // A 2-D operand shared by the batch gets every batch entry's term added (beta = 1).
      // A fresh gradient buffer is written (beta = 0) rather than zero-filled and added to, except
      // where every batch entry adds into one shared 2-D operand's gradient (stride 0: beta = 1).
      if (g.needs(0)) {
        bool fresh = false;
        T* dA = (d.batch > 1 && sa == 0 ? g.buffer(0) : g.buffer_to_write(0, fresh)).template data<T>();
        const T beta = fresh ? T(0) : T(1);
        if (d.a_batched && !d.b_batched && !ta)
          gemm<T>(false, !tb, d.batch * d.M, d.K, d.N, G, B, beta, dA);
        else if (!ta)
          gemm_batched<T>(d.batch, false, !tb, d.M, d.K, d.N, G, sy, B, sb, beta, dA, sa);
        else
          gemm_batched<T>(d.batch, tb, true, d.K, d.M, d.N, B, sb, G, sy, beta, dA, sa);
      }
      if (g.needs(1)) {
        if (!d.b_batched && !ta) {  // one 2-D B (usually a weight) for every row of A: see add_weight_gradient
          const std::size_t rows = d.batch * d.M;
          if (!tb) add_weight_gradient<T>(g, 1, "matmul", a, gy, rows, d.K, d.N);
          else add_weight_gradient<T>(g, 1, "matmul", gy, a, rows, d.N, d.K);
        } else {
          bool fresh = false;
          T* dB = (d.batch > 1 && sb == 0 ? g.buffer(1) : g.buffer_to_write(1, fresh)).template data<T>();
          const T beta = fresh ? T(0) : T(1);
          if (!tb) gemm_batched<T>(d.batch, !ta, false, d.K, d.N, d.M, A, sa, G, sy, beta, dB, sb);
          else gemm_batched<T>(d.batch, true, ta, d.N, d.K, d.M, G, sy, A, sa, beta, dB, sb);
        }
      }
    });
  });
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.dim() != 2 || x.dim() < 1 || x.shape().back() != weight.shape()[1])
    throw std::invalid_argument("linear: input " + to_string(x.shape()) + " does not match weight " +
                                to_string(weight.shape()) + " (expected input [..., in] and weight [out, in])");
  if (x.dtype() != weight.dtype() || (bias.defined() && bias.dtype() != x.dtype()))
    throw std::invalid_argument("linear: input, weight and bias must have one dtype");
  const std::size_t in = weight.shape()[1], out = weight.shape()[0], rows = x.numel() / std::max<std::size_t>(in, 1);
  if (bias.defined() && bias.shape() != Shape{out})
    throw std::invalid_argument("linear: bias " + to_string(bias.shape()) + " does not match weight " +
                                to_string(weight.shape()) + " (expected [" + std::to_string(out) + "])");
  Shape out_shape = x.shape();
  out_shape.back() = out;
  return dispatch_float(x.dtype(), "linear", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty(out_shape, x.dtype());
    T* Y = y.data<T>();
    // The bias: added by a bf16 product's kernel; otherwise every row starts from it and the product
    // accumulates x W^T onto it (beta = 1).
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    const float* kernel_bias = nullptr;
    if constexpr (std::is_same_v<T, float>)
      if (product_precision() == Precision::bf16) std::swap(kernel_bias, b);
    if (b)
      for (std::size_t r = 0; r < rows; ++r) std::copy(b, b + out, Y + r * out);
    const T beta = b ? T(1) : T(0);
    const bool thin = rows >= transposed_rows_min && rows < transposed_rows_end;
    const Tensor transposed = thin ? cached_transpose<T>(weight) : Tensor();
    LinearCopies copies;
    if constexpr (std::is_same_v<T, float>)
      if (rows > 1 && product_precision() == Precision::bf16 && graph_context().grad_enabled &&
          (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad())))
        copies = {rows >= transposed_rows_end ? std::make_shared<bf16_gemm::RoundedCopy>() : nullptr,
                  weight_copy(weight, rows)};
    if (transposed.defined())  // W^T [in, out], held constant by the scope
      gemm_sharing<T>(false, false, rows, out, in, x.data<T>(), transposed.data<T>(), beta, Y, copies.x.get(),
                      nullptr, kernel_bias);
    else
      gemm_sharing<T>(false, true, rows, out, in, x.data<T>(), weight.data<T>(), beta, Y, copies.x.get(),
                      copies.weight.get(), kernel_bias);
    return record("linear", {x, weight, bias}, y, [x, weight, rows, in, out, copies](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        // Over the rows of x flattened to [rows, in]: dX = dY W, dW = dY^T X, db = dY summed over the
        // rows (by g.add).
        const Tensor gy_rows = reshape(gy, {rows, out});
        if (g.needs(0)) g.add(0, reshape(matmul(gy_rows, weight), x.shape()));
        if (g.needs(1)) g.add(1, matmul(gy_rows, reshape(x, {rows, in}), true, false));
        if (g.needs(2)) g.add(2, gy);
        return;
      }
      const T* G = gy.data<T>();
      if (g.needs(0)) {
        bool fresh;
        T* dX = g.buffer_to_write(0, fresh).template data<T>();
        gemm_sharing<T>(false, false, rows, in, out, G, weight.data<T>(), fresh ? T(0) : T(1), dX, nullptr,
                        copies.weight.get());
      }
      if (g.needs(1)) add_weight_gradient<T>(g, 1, "linear", gy, x, rows, out, in, copies.x.get());
      if (g.needs(2)) kernels::add_column_sums<T>(rows, out, G, nullptr, nullptr, g.buffer(2).template data<T>());
    });
  });
}

void register_linalg_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
  c.add({"matmul", 2, [](In in) { return matmul(in[0], in[1]); }});
  c.add({"linear", 3, [](In in) { return linear(in[0], in[1], in[2]); }});
}

}  // namespace seqgrad
