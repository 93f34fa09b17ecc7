// Fused ops of neural networks: dropout, layer_norm and cross_entropy, each one forward and one
// backward written out (as in llm.c), because composing them from primitives would keep several
// [rows, D] intermediates alive per call and walk the data several times.
#include "seqgrad/ops/nn_ops.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "seqgrad/ops/catalogue.hpp"
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
    for (std::size_t r = 0; r < rows; ++r) {
      const T* xr = xs + r * d;
      T mean = 0, var = 0;
      for (std::size_t j = 0; j < d; ++j) mean += xr[j];
      mean /= T(d);
      for (std::size_t j = 0; j < d; ++j) var += (xr[j] - mean) * (xr[j] - mean);
      var /= T(d);
      const T s = T(1) / std::sqrt(var + T(eps));
      rs[r] = s;
      for (std::size_t j = 0; j < d; ++j) {
        const T h = (xr[j] - mean) * s;
        xh[r * d + j] = h;
        ys[r * d + j] = h * (w ? w[j] : T(1)) + (b ? b[j] : T(0));
      }
    }
    return record("layer_norm", {x, weight, bias}, y,
                  [xhat, rstd, weight, d, rows](const Tensor& gy, GradInputs& g) {
      const T *gys = gy.data<T>(), *xh = xhat.data<T>(), *rs = rstd.data<T>();
      const T* w = weight.defined() ? weight.data<T>() : nullptr;
      if (g.needs(1)) {  // dweight = sum over rows of dy * xhat
        T* gw = g.buffer(1).data<T>();
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t j = 0; j < d; ++j) gw[j] += gys[r * d + j] * xh[r * d + j];
      }
      if (g.needs(2)) {  // dbias = sum over rows of dy
        T* gb = g.buffer(2).data<T>();
        for (std::size_t r = 0; r < rows; ++r)
          for (std::size_t j = 0; j < d; ++j) gb[j] += gys[r * d + j];
      }
      if (g.needs(0)) {  // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * weight
        T* gx = g.buffer(0).data<T>();
        for (std::size_t r = 0; r < rows; ++r) {
          const T *gr = gys + r * d, *hr = xh + r * d;
          T mean_dxhat = 0, mean_dxhat_xhat = 0;
          for (std::size_t j = 0; j < d; ++j) {
            const T dxh = gr[j] * (w ? w[j] : T(1));
            mean_dxhat += dxh;
            mean_dxhat_xhat += dxh * hr[j];
          }
          mean_dxhat /= T(d);
          mean_dxhat_xhat /= T(d);
          for (std::size_t j = 0; j < d; ++j) {
            const T dxh = gr[j] * (w ? w[j] : T(1));
            gx[r * d + j] += rs[r] * (dxh - mean_dxhat - hr[j] * mean_dxhat_xhat);
          }
        }
      }
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
                  [probs, targets, rows, v, on, off, denom, ignore = options.ignore_index](const Tensor& gy,
                                                                                       GradInputs& g) {
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

void register_nn_ops(OpCatalogue& c) {
  using In = const std::vector<Tensor>&;
  c.add({"dropout",
         [](In in) {
           Generator gen(42);  // the same mask on every call, as finite differences need
           return dropout(in[0], 0.3, /*training=*/true, gen);
         },
         [](Generator& gen) {
           return std::vector<OpCase>{{"[4,5]", {case_tensor({4, 5}, gen)}}, {"[7]", {case_tensor({7}, gen)}}};
         }});
  c.add({"layer_norm", [](In in) { return layer_norm(in[0], in[1], in[2]); },
         [](Generator& gen) {
           return std::vector<OpCase>{
               {"[3,5] with weight and bias", {case_tensor({3, 5}, gen), case_tensor({5}, gen), case_tensor({5}, gen)}},
               {"[2,2,4]", {case_tensor({2, 2, 4}, gen), case_tensor({4}, gen), case_tensor({4}, gen)}},
               {"[1,1] (one feature)", {case_tensor({1, 1}, gen), case_tensor({1}, gen), case_tensor({1}, gen)}}};
         }});
  c.add({"layer_norm_no_affine", [](In in) { return layer_norm(in[0], Tensor(), Tensor()); },
         [](Generator& gen) { return std::vector<OpCase>{{"[3,6]", {case_tensor({3, 6}, gen)}}}; }});
  c.add({"cross_entropy",
         [](In in) { return cross_entropy(in[0], Tensor::from_indices({2, 0, 4, 1}, {4})); },
         [](Generator& gen) { return std::vector<OpCase>{{"[4,5]", {case_tensor({4, 5}, gen, -3, 3)}}}; }});
  c.add({"cross_entropy_ignore_smoothing",
         [](In in) {
           return cross_entropy(in[0], Tensor::from_indices({1, 0, 3, 0, 2, 0}, {2, 3}),
                                {.ignore_index = 0, .label_smoothing = 0.1});
         },
         [](Generator& gen) { return std::vector<OpCase>{{"[2,3,4]", {case_tensor({2, 3, 4}, gen, -3, 3)}}}; }});
}

}  // namespace seqgrad
