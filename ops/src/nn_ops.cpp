// Fused ops of neural networks: dropout, layer_norm, cross_entropy and the gate arithmetic of GRU
// and additive attention, each one forward and one backward written out (as in llm.c), because
// composing them from primitives would keep several [rows, D] intermediates alive per call and walk
// the data several times. Under create_graph each backward is the same formulas written with ops
// on the inputs, the intermediates recomputed from them, so that second derivatives are recorded;
// that path is for the rarer double backward, where speed matters less than being differentiable.
#include "seqgrad/ops/nn_ops.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/ops/catalogue.hpp"
#include "seqgrad/ops/elementwise.hpp"
#include "seqgrad/ops/reduce.hpp"
#include "seqgrad/ops/shape_ops.hpp"
#include "xt_bridge.hpp"

namespace seqgrad {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument("dropout: probability must be in [0, 1], got " + std::to_string(p));
  if (!training || p == 0.0) return x;
  return dispatch_float(x.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    // keep = 1/(1-p) where a uniform draw is >= p, else 0: y = x * keep, dx = dy * keep.
    Tensor keep = Tensor::empty_like(x);
    T* k = keep.data<T>();
    const T scale = p < 1.0 ? T(1.0 / (1.0 - p)) : T(0);
    for (std::size_t i = 0; i < keep.numel(); ++i) k[i] = gen.uniform() >= p ? scale : T(0);
    Tensor y = Tensor::empty_like(x);
    xt::noalias(xtb::flat<T>(y)) = xtb::flat<T>(x) * xtb::flat<T>(keep);
    return record("dropout", {x}, y, [keep](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) return g.add(0, gy * keep);
      xt::noalias(xtb::flat<T>(g.buffer(0))) += xtb::flat<T>(gy) * xtb::flat<T>(keep);
    });
  });
}

namespace {

void check_norm_param(const char* what, const Tensor& t, const Tensor& x, std::size_t d) {
  if (!t.defined()) return;
  if (t.shape() != Shape{d} || t.dtype() != x.dtype())
    throw std::invalid_argument(std::string("layer_norm: ") + what + " must be [" + std::to_string(d) + "] " +
                                dtype_name(x.dtype()) + " for input " + to_string(x.shape()) + ", got " +
                                to_string(t.shape()) + " " + dtype_name(t.dtype()));
}

// Rows in blocks of about 32K elements on the cores; each row is computed alone, so the result does
// not depend on the split.
void for_row_blocks(std::size_t rows, std::size_t d, const std::function<void(std::size_t, std::size_t)>& body) {
  parallel_blocks(rows, std::max<std::size_t>(1, (std::size_t{1} << 15) / std::max<std::size_t>(d, 1)), body);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  if (x.shape().empty() || x.shape().back() == 0)
    throw std::invalid_argument("layer_norm: input needs a non-empty last dimension, got " + to_string(x.shape()));
  if (!(eps > 0.0)) throw std::invalid_argument("layer_norm: eps must be positive, got " + std::to_string(eps));
  const std::size_t d = x.shape().back(), rows = x.numel() / d;
  check_norm_param("weight", weight, x, d);
  check_norm_param("bias", bias, x, d);
  return dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(x);
    Tensor xhat = Tensor::empty_like(x);                 // (x - mean) * rstd, saved for backward
    Tensor rstd = Tensor::empty({rows}, x.dtype());      // 1 / sqrt(var + eps) per row
    const T* xs = x.data<T>();
    const T* w = weight.defined() ? weight.data<T>() : nullptr;
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    T *ys = y.data<T>(), *xh = xhat.data<T>(), *rs = rstd.data<T>();
    for_row_blocks(rows, d, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r) {
        const T* xr = xs + r * d;
        const T mean = kernels::lane_sum<T>(d, [xr](std::size_t j) { return xr[j]; }) / T(d);
        const T var = kernels::lane_sum<T>(d, [xr, mean](std::size_t j) { return (xr[j] - mean) * (xr[j] - mean); }) / T(d);
        const T s = T(1) / std::sqrt(var + T(eps));
        rs[r] = s;
        for (std::size_t j = 0; j < d; ++j) {
          const T h = (xr[j] - mean) * s;
          xh[r * d + j] = h;
          ys[r * d + j] = h * (w ? w[j] : T(1)) + (b ? b[j] : T(0));
        }
      }
    });
    return record("layer_norm", {x, weight, bias}, y,
                  [x, xhat, rstd, weight, eps, d, rows](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {  // the raw path's formulas, with xhat and rstd recomputed from x by ops
        const Tensor centred = x - mean(x, {-1}, true);
        const Tensor rstd = pow(mean(centred * centred, {-1}, true) + eps, -0.5);
        const Tensor xhat = centred * rstd;
        if (g.needs(1)) g.add(1, gy * xhat);  // add sums it over the rows
        g.add(2, gy);
        if (!g.needs(0)) return;
        const Tensor dxhat = weight.defined() ? gy * weight : gy;
        g.add(0, rstd * (dxhat - mean(dxhat, {-1}, true) - xhat * mean(dxhat * xhat, {-1}, true)));
        return;
      }
      const T *gys = gy.data<T>(), *xh = xhat.data<T>(), *rs = rstd.data<T>();
      const T* w = weight.defined() ? weight.data<T>() : nullptr;
      // dweight = sum over rows of dy * xhat, dbias = sum over rows of dy: in blocks of columns, each
      // summing its columns over the rows in row order.
      T* gw = g.needs(1) ? g.buffer(1).data<T>() : nullptr;
      T* gb = g.needs(2) ? g.buffer(2).data<T>() : nullptr;
      if (gw || gb) kernels::add_column_sums<T>(rows, d, gys, xh, gw, gb);
      if (!g.needs(0)) return;
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * weight
      bool fresh;
      T* gx = g.buffer_to_write(0, fresh).data<T>();
      std::vector<T> ones;  // the weight of a norm without one: the loops below stay branch-free
      if (!w) {
        ones.assign(d, T(1));
        w = ones.data();
      }
      for_row_blocks(rows, d, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
          const T *gr = gys + r * d, *hr = xh + r * d;
          const T mean_dxhat = kernels::lane_sum<T>(d, [gr, w](std::size_t j) { return gr[j] * w[j]; }) / T(d);
          const T mean_dxhat_xhat =
              kernels::lane_sum<T>(d, [gr, w, hr](std::size_t j) { return gr[j] * w[j] * hr[j]; }) / T(d);
          const T rstd_r = rs[r];
          T* __restrict out = gx + r * d;
          auto dx = [&](std::size_t j) { return rstd_r * (gr[j] * w[j] - mean_dxhat - hr[j] * mean_dxhat_xhat); };
          if (fresh)
            for (std::size_t j = 0; j < d; ++j) out[j] = dx(j);
          else
            for (std::size_t j = 0; j < d; ++j) out[j] += dx(j);
        }
      });
    });
  });
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options) {
  const Shape& ls = logits.shape();
  if (ls.empty() || ls.back() == 0)
    throw std::invalid_argument("cross_entropy: logits need a non-empty class dimension, got " + to_string(ls));
  if (targets.dtype() != DType::i64)
    throw std::invalid_argument(std::string("cross_entropy: targets must be int64, got ") + dtype_name(targets.dtype()));
  if (targets.shape() != Shape(ls.begin(), ls.end() - 1))
    throw std::invalid_argument("cross_entropy: targets " + to_string(targets.shape()) + " do not match logits " +
                                to_string(ls) + " (expected the logits' shape without its last dimension)");
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing <= 1.0))
    throw std::invalid_argument("cross_entropy: label_smoothing must be in [0, 1], got " +
                                std::to_string(options.label_smoothing));
  const std::size_t v = ls.back(), rows = logits.numel() / v;
  const std::int64_t* t = targets.data<std::int64_t>();
  std::size_t counted = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    if (t[r] == options.ignore_index) continue;
    if (t[r] < 0 || t[r] >= static_cast<std::int64_t>(v))
      throw std::out_of_range("cross_entropy: target " + std::to_string(t[r]) + " at row " + std::to_string(r) +
                              " is outside [0, " + std::to_string(v) + ") and is not ignore_index " +
                              std::to_string(options.ignore_index));
    ++counted;
  }
  return dispatch_float(logits.dtype(), "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    // Per counted row: loss = -(1-s) logp[target] - (s/V) sum_j logp[j]; the result is their mean.
    // A batch with no counted target gives 0 (torch gives 0/0 = NaN), so an all-padding shard adds nothing.
    const T s = T(options.label_smoothing), on = T(1) - s, off = s / T(v);
    Tensor probs = Tensor::empty_like(logits);  // softmax, saved for backward
    const T* x = logits.data<T>();
    T* p = probs.data<T>();
    double total = 0;
    for (std::size_t r = 0; r < rows; ++r) {
      if (t[r] == options.ignore_index) continue;
      const T* xr = x + r * v;
      T m = -std::numeric_limits<T>::infinity();
      for (std::size_t j = 0; j < v; ++j) m = std::max(m, xr[j]);
      T* pr = p + r * v;
      xt::noalias(xtb::matrix<T>(pr, 1, v)) = xt::exp(xtb::matrix<T>(xr, 1, v) - m);
      T z = 0, sum_x = 0;
      for (std::size_t j = 0; j < v; ++j) {
        z += pr[j];
        sum_x += xr[j];
      }
      const T lse = m + std::log(z);
      for (std::size_t j = 0; j < v; ++j) pr[j] /= z;
      total += double(on * (lse - xr[t[r]]) + off * (T(v) * lse - sum_x));
    }
    const double denom = counted > 0 ? double(counted) : 1.0;
    Tensor loss = Tensor::scalar(total / denom, logits.dtype());
    return record("cross_entropy", {logits}, loss,
                  [logits, probs, targets, rows, v, on, off, denom, ignore = options.ignore_index](
                      const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {
        // (softmax - target distribution) on the counted rows, zero on the ignored ones, times dy / count
        Tensor ignored = Tensor::empty(Shape(logits.shape().begin(), logits.shape().end() - 1), DType::b8);
        Tensor target_distribution = Tensor::full(logits.shape(), double(off), logits.dtype());
        const std::int64_t* t = targets.data<std::int64_t>();
        for (std::size_t r = 0; r < rows; ++r) {
          ignored.data<bool>()[r] = t[r] == ignore;
          if (t[r] != ignore) target_distribution.data<T>()[r * v + static_cast<std::size_t>(t[r])] += on;
        }
        const Tensor per_row = softmax(logits, -1) - target_distribution;
        return g.add(0, masked_fill(per_row, unsqueeze(ignored, -1), 0.0) * (gy / denom));
      }
      // dlogits[r] = dy / count * (softmax[r] - (1-s) onehot(target) - s/V), zero for ignored rows
      const T scale = T(double(gy.data<T>()[0]) / denom);
      const T* pr = probs.data<T>();
      const std::int64_t* t = targets.data<std::int64_t>();
      T* gx = g.buffer(0).data<T>();
      for (std::size_t r = 0; r < rows; ++r) {
        if (t[r] == ignore) continue;
        for (std::size_t j = 0; j < v; ++j) gx[r * v + j] += scale * (pr[r * v + j] - off);
        gx[r * v + static_cast<std::size_t>(t[r])] -= scale * on;
      }
    });
  });
}

namespace {

// One row of gru_cell_gates' backward: dy [H] -> += into dx, dp [3H] (r, z, n) and dh [H].
template <class T>
void gru_gates_backward_row(std::size_t H, const T* __restrict dy, const T* __restrict r, const T* __restrict z,
                            const T* __restrict n, const T* __restrict hp_n, const T* __restrict h, T* __restrict dx,
                            T* __restrict dp, T* __restrict dh) {
  for (std::size_t j = 0; j < H; ++j) {
    const T dn_pre = dy[j] * (T(1) - z[j]) * (T(1) - n[j] * n[j]);  // through n = tanh(.)
    const T dz_pre = dy[j] * (h[j] - n[j]) * z[j] * (T(1) - z[j]);   // through z = sigmoid(.)
    const T dr_pre = dn_pre * hp_n[j] * r[j] * (T(1) - r[j]);        // through r = sigmoid(.)
    dx[j] += dr_pre;
    dx[H + j] += dz_pre;
    dx[2 * H + j] += dn_pre;
    dp[j] += dr_pre;
    dp[H + j] += dz_pre;
    dp[2 * H + j] += dn_pre * r[j];
    dh[j] += dy[j] * z[j];
  }
}

// One row of additive_attention_scores' backward: += ds v (1 - e^2) into dk and dq.
template <class T>
void additive_scores_backward_row(std::size_t A, T ds, const T* __restrict v, const T* __restrict e,
                                  T* __restrict dk, T* __restrict dq) {
  for (std::size_t a = 0; a < A; ++a) {
    const T d = ds * v[a] * (T(1) - e[a] * e[a]);
    dk[a] += d;
    dq[a] += d;
  }
}

}  // namespace

Tensor gru_cell_gates(const Tensor& xp, const Tensor& hp, const Tensor& h) {
  if (h.dim() != 2 || xp.dim() != 2 || hp.dim() != 2 || xp.shape() != hp.shape() || xp.size(0) != h.size(0) ||
      xp.size(1) != 3 * h.size(1) || xp.dtype() != h.dtype() || hp.dtype() != h.dtype())
    throw std::invalid_argument("gru_cell_gates: expected xp and hp [B, 3H] and h [B, H] of one dtype, got xp " +
                                to_string(xp.shape()) + " " + dtype_name(xp.dtype()) + ", hp " + to_string(hp.shape()) +
                                " " + dtype_name(hp.dtype()) + ", h " + to_string(h.shape()) + " " +
                                dtype_name(h.dtype()));
  const std::size_t batch = h.size(0), H = h.size(1);
  return dispatch_float(h.dtype(), "gru_cell_gates", [&](auto tag) {
    using T = decltype(tag);
    Tensor y = Tensor::empty_like(h);
    Tensor gates = Tensor::empty_like(xp);  // r, z, n per row, saved for backward
    const T *X = xp.data<T>(), *P = hp.data<T>(), *Hs = h.data<T>();
    T *Y = y.data<T>(), *G = gates.data<T>();
    for (std::size_t b = 0; b < batch; ++b) {  // each row's segments through xsimd's exp and tanh
      const T *x = X + b * 3 * H, *p = P + b * 3 * H;
      T* g = G + b * 3 * H;
      auto seg = [H](const T* q) { return xtb::matrix<T>(q, 1, H); };
      auto r = xtb::matrix<T>(g, 1, H), z = xtb::matrix<T>(g + H, 1, H), n = xtb::matrix<T>(g + 2 * H, 1, H);
      xt::noalias(r) = T(1) / (T(1) + xt::exp(-(seg(x) + seg(p))));
      xt::noalias(z) = T(1) / (T(1) + xt::exp(-(seg(x + H) + seg(p + H))));
      xt::noalias(n) = xt::tanh(seg(x + 2 * H) + r * seg(p + 2 * H));
      xt::noalias(xtb::matrix<T>(Y + b * H, 1, H)) = (T(1) - z) * n + z * seg(Hs + b * H);
    }
    return record("gru_cell_gates", {xp, hp, h}, y, [gates, xp, hp, h, batch, H](const Tensor& gy, GradInputs& g) {
      if (g.create_graph()) {  // gru_gates_backward_row's formulas, the gates recomputed by ops
        const std::vector<Tensor> x = split(xp, H, 1), p = split(hp, H, 1);  // the r, z and n blocks
        const Tensor r = sigmoid(x[0] + p[0]), z = sigmoid(x[1] + p[1]);
        const Tensor n = tanh(x[2] + r * p[2]);
        const Tensor dn_pre = gy * (1.0 - z) * (1.0 - n * n);
        const Tensor dz_pre = gy * (h - n) * z * (1.0 - z);
        const Tensor dr_pre = dn_pre * p[2] * r * (1.0 - r);
        if (g.needs(0)) g.add(0, concat({dr_pre, dz_pre, dn_pre}, 1));
        if (g.needs(1)) g.add(1, concat({dr_pre, dz_pre, dn_pre * r}, 1));
        if (g.needs(2)) g.add(2, gy * z);
        return;
      }
      const T *G = gates.data<T>(), *P = hp.data<T>(), *Hs = h.data<T>(), *dY = gy.data<T>();
      // An input that needs no gradient gets its row's terms in scratch, so that one loop without
      // branches (and so vectorized) serves every case.
      std::vector<T> scratch(g.needs(0) && g.needs(1) && g.needs(2) ? 0 : 7 * H);
      T* dX = g.needs(0) ? g.buffer(0).template data<T>() : nullptr;
      T* dP = g.needs(1) ? g.buffer(1).template data<T>() : nullptr;
      T* dH = g.needs(2) ? g.buffer(2).template data<T>() : nullptr;
      for (std::size_t b = 0; b < batch; ++b) {
        const T* gates_row = G + b * 3 * H;
        gru_gates_backward_row(H, dY + b * H, gates_row, gates_row + H, gates_row + 2 * H, P + b * 3 * H + 2 * H,
                               Hs + b * H, dX ? dX + b * 3 * H : scratch.data(),
                               dP ? dP + b * 3 * H : scratch.data() + 3 * H, dH ? dH + b * H : scratch.data() + 6 * H);
      }
    });
  });
}

Tensor additive_attention_scores(const Tensor& keys, const Tensor& query, const Tensor& v) {
  if (keys.dim() != 3 || query.dim() != 2 || v.dim() != 1 || query.size(0) != keys.size(0) ||
      query.size(1) != keys.size(2) || v.size(0) != keys.size(2) || query.dtype() != keys.dtype() ||
      v.dtype() != keys.dtype())
    throw std::invalid_argument("additive_attention_scores: expected keys [B, T, A], query [B, A] and v [A] of one "
                                "dtype, got keys " + to_string(keys.shape()) + " " + dtype_name(keys.dtype()) +
                                ", query " + to_string(query.shape()) + " " + dtype_name(query.dtype()) + ", v " +
                                to_string(v.shape()) + " " + dtype_name(v.dtype()));
  const std::size_t B = keys.size(0), L = keys.size(1), A = keys.size(2);
  return dispatch_float(keys.dtype(), "additive_attention_scores", [&](auto tag) {
    using T = decltype(tag);
    Tensor energy = Tensor::empty_like(keys);  // tanh(keys + query), saved for backward
    Tensor scores = Tensor::empty({B, L}, keys.dtype());
    const T *K = keys.data<T>(), *Q = query.data<T>();
    T* E = energy.data<T>();
    for (std::size_t b = 0; b < B; ++b)  // [L, A] + [A]: the query broadcast along the contiguous axis
      xt::noalias(xtb::matrix<T>(E + b * L * A, L, A)) =
          xt::tanh(xtb::matrix<T>(K + b * L * A, L, A) +
                   xt::adapt(const_cast<T*>(Q + b * A), A, xt::no_ownership(), std::array<std::size_t, 1>{A}));
    // every row of energy dotted with v: one [B*L, A] x [A, 1] product (zeros when A = 0)
    gemm<T>(false, false, B * L, 1, A, E, v.data<T>(), T(0), scores.data<T>());
    return record("additive_attention_scores", {keys, query, v}, scores,
                  [energy, keys, query, v, B, L, A](const Tensor& gs, GradInputs& g) {
      if (g.create_graph()) {  // the raw path's formulas, energy recomputed by ops
        const Tensor energy = tanh(keys + unsqueeze(query, 1));
        const Tensor ds = unsqueeze(gs, 2);  // [B, T, 1]
        if (g.needs(2)) g.add(2, sum(ds * energy, {0, 1}));
        if (!g.needs(0) && !g.needs(1)) return;
        const Tensor d_sum = ds * v * (1.0 - energy * energy);  // d(keys + query)
        g.add(0, d_sum);
        if (g.needs(1)) g.add(1, sum(d_sum, {1}));
        return;
      }
      const T *E = energy.data<T>(), *dS = gs.data<T>(), *V = v.data<T>();
      if (g.needs(2))  // dv += dS [1, B*L] x energy [B*L, A]
        gemm<T>(false, false, 1, A, B * L, dS, E, T(1), g.buffer(2).template data<T>());
      if (!g.needs(0) && !g.needs(1)) return;
      // d(keys + query)[b, t, a] = dS[b, t] v[a] (1 - energy^2); the query's is its sum over t.
      std::vector<T> scratch(g.needs(0) && g.needs(1) ? 0 : A);  // the rows of an input that needs none
      T* dK = g.needs(0) ? g.buffer(0).template data<T>() : nullptr;
      T* dQ = g.needs(1) ? g.buffer(1).template data<T>() : nullptr;
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t t = 0; t < L; ++t) {
          const std::size_t row = b * L + t;
          additive_scores_backward_row(A, dS[row], V, E + row * A, dK ? dK + row * A : scratch.data(),
                                       dQ ? dQ + b * A : scratch.data());
        }
    });
  });
}

void register_nn_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
  c.add({"dropout", 1});  // no apply: the probability has no default
  c.add({"layer_norm", 3, [](In in) { return layer_norm(in[0], in[1], in[2]); }});
  c.add({"cross_entropy", 2, [](In in) { return cross_entropy(in[0], in[1]); }});
  c.add({"gru_cell_gates", 3, [](In in) { return gru_cell_gates(in[0], in[1], in[2]); }});
  c.add({"additive_attention_scores", 3, [](In in) { return additive_attention_scores(in[0], in[1], in[2]); }});
}

}  // namespace seqgrad
