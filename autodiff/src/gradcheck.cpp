#include "seqgrad/autodiff/gradcheck.hpp"

#include <cmath>
#include <sstream>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/random.hpp"

namespace seqgrad {

namespace {

std::string index_string(std::size_t flat, const Shape& shape) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return to_string(idx);
}

Tensor evaluate(const TensorFunction& f, const std::vector<Tensor>& inputs, const std::string& name) {
  Tensor y = f(inputs);
  if (!y.defined() || y.dtype() != DType::f64)
    throw std::invalid_argument("gradcheck(" + name + "): the function must return a float64 tensor");
  return y;
}

double dot(const Tensor& a, const Tensor& b) {
  const double* x = a.data<double>();
  const double* y = b.data<double>();
  double s = 0;
  for (std::size_t i = 0; i < a.numel(); ++i) s += x[i] * y[i];
  return s;
}

// Tracks the element that exceeds its tolerance the most.
struct Worst {
  double excess = -INFINITY;
  std::size_t input = 0, element = 0, output = 0;
  double analytic = 0, numeric = 0;
  void see(const GradCheckOptions& o, std::size_t i, std::size_t k, std::size_t j, double a, double n) {
    const double e = std::abs(a - n) - (o.atol + o.rtol * std::abs(n));
    if (e > excess || std::isnan(a) || std::isnan(n)) {
      excess = std::isnan(a) || std::isnan(n) ? INFINITY : e;
      input = i, element = k, output = j, analytic = a, numeric = n;
    }
  }
};

// The inputs a check differentiates: float64 leaves that require grad.
std::vector<std::size_t> checked_inputs(const char* check, const std::string& name, const std::vector<Tensor>& inputs) {
  std::vector<std::size_t> checked;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    if (inputs[i].dtype() != DType::f64)
      throw std::invalid_argument(std::string(check) + "(" + name + "): input " + std::to_string(i) + " is " +
                                  dtype_name(inputs[i].dtype()) + "; finite differences need float64");
    if (!inputs[i].is_leaf())
      throw std::invalid_argument(std::string(check) + "(" + name + "): input " + std::to_string(i) + " is not a leaf");
    checked.push_back(i);
  }
  if (checked.empty()) throw std::invalid_argument(std::string(check) + "(" + name + "): no input requires grad");
  return checked;
}

std::string input_label(const std::vector<Tensor>& inputs, std::size_t i) {
  if (i >= inputs.size()) return "grad_output";
  return inputs[i].name().empty() ? "input " + std::to_string(i) : inputs[i].name();
}

}  // namespace

GradCheckResult gradcheck(const std::string& name, const TensorFunction& f, const std::vector<Tensor>& inputs,
                          const GradCheckOptions& o) {
  const std::vector<std::size_t> checked = checked_inputs("gradcheck", name, inputs);

  // The caller's .grad are put back afterwards.
  std::vector<Tensor> saved_grads;
  for (const auto& t : inputs) saved_grads.push_back(t.defined() ? t.grad() : Tensor());
  auto clear_grads = [&] {
    for (std::size_t i : checked) const_cast<Tensor&>(inputs[i]).grad() = Tensor();
  };
  auto grad_or_zeros = [&](std::size_t i) {
    const Tensor& g = inputs[i].grad();
    return g.defined() ? g : Tensor::zeros(inputs[i].shape(), DType::f64);
  };

  const Tensor y = evaluate(f, inputs, name);
  const std::size_t n_out = y.numel();
  Worst worst;
  Generator gen(o.seed);

  if (!o.fast) {
    // Analytic Jacobian, one row per output element: backward with a one-hot upstream gradient.
    std::vector<std::vector<double>> rows(checked.size());
    for (std::size_t j = 0; j < n_out; ++j) {
      clear_grads();
      if (y.requires_grad()) {
        Tensor onehot = Tensor::zeros(y.shape(), DType::f64);
        onehot.data<double>()[j] = 1.0;
        backward(y, onehot, {.retain_graph = true});
      }
      for (std::size_t c = 0; c < checked.size(); ++c) {
        const auto g = grad_or_zeros(checked[c]).to_vector();
        rows[c].insert(rows[c].end(), g.begin(), g.end());  // rows[c][j * n_in + k]
      }
    }
    // Numeric Jacobian, one column per input element: central differences.
    NoGradGuard no_grad;
    for (std::size_t c = 0; c < checked.size(); ++c) {
      Tensor x = inputs[checked[c]];
      double* p = x.data<double>();
      const std::size_t n_in = x.numel();
      for (std::size_t k = 0; k < n_in; ++k) {
        const double orig = p[k];
        p[k] = orig + o.eps;
        const auto plus = evaluate(f, inputs, name).to_vector();
        p[k] = orig - o.eps;
        const auto minus = evaluate(f, inputs, name).to_vector();
        p[k] = orig;
        for (std::size_t j = 0; j < n_out; ++j)
          worst.see(o, c, k, j, rows[c][j * n_in + k], (plus[j] - minus[j]) / (2 * o.eps));
      }
    }
  } else {
    // v^T J u for random v (over outputs) and u (over each input).
    const Tensor v = randn(y.shape(), DType::f64, gen);
    clear_grads();
    if (y.requires_grad()) backward(y, v, {.retain_graph = true});
    std::vector<Tensor> grads;
    for (std::size_t i : checked) grads.push_back(grad_or_zeros(i));
    NoGradGuard no_grad;
    for (std::size_t c = 0; c < checked.size(); ++c) {
      Tensor x = inputs[checked[c]];
      const Tensor u = randn(x.shape(), DType::f64, gen);
      const Tensor orig = x.clone();
      double* p = x.data<double>();
      auto shifted = [&](double s) {
        for (std::size_t k = 0; k < x.numel(); ++k) p[k] = orig.data<double>()[k] + s * u.data<double>()[k];
        return dot(evaluate(f, inputs, name), v);
      };
      const double numeric = (shifted(o.eps) - shifted(-o.eps)) / (2 * o.eps);
      x.copy_from_(orig);
      worst.see(o, c, 0, 0, dot(grads[c], u), numeric);
    }
  }

  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) const_cast<Tensor&>(inputs[i]).grad() = saved_grads[i];

  GradCheckResult r;
  r.function = name;
  r.ok = worst.excess <= 0;
  r.input = checked[worst.input];
  const Tensor& bad = inputs[r.input];
  r.input_name = input_label(inputs, r.input);
  r.element = o.fast ? "projection" : index_string(worst.element, bad.shape());
  r.output_element = o.fast ? "projection" : index_string(worst.output, y.shape());
  r.analytic = worst.analytic;
  r.numeric = worst.numeric;
  std::ostringstream os;
  os.precision(8);
  os << "gradcheck " << (r.ok ? "passed" : "FAILED") << " for '" << name << "' (" << (o.fast ? "fast" : "full")
     << " mode, " << checked.size() << " input(s), output " << to_string(y.shape()) << "): "
     << (r.ok ? "closest to tolerance: " : "worst: ") << r.input_name << " element " << r.element
     << (o.fast ? "" : " of output " + r.output_element) << ", analytic " << r.analytic << ", numeric "
     << r.numeric << " (atol " << o.atol << ", rtol " << o.rtol << ")";
  r.report = os.str();
  return r;
}

GradCheckResult gradgradcheck(const std::string& name, const TensorFunction& f, const std::vector<Tensor>& inputs,
                              const GradCheckOptions& o) {
  const std::vector<std::size_t> checked = checked_inputs("gradgradcheck", name, inputs);
  Generator gen(o.seed);
  const Tensor y0 = evaluate(f, inputs, name);
  Tensor v = randn(y0.shape(), DType::f64, gen).requires_grad_();

  // The first-order gradients g_c = d <f(inputs), v> / d input_c; with create_graph, their history.
  std::vector<Tensor> xs;
  for (std::size_t i : checked) xs.push_back(inputs[i]);
  auto first = [&](bool create) {
    const Tensor y = evaluate(f, inputs, name);
    std::vector<Tensor> g(xs.size());
    if (y.requires_grad())
      g = grad({y}, xs, {.grad_outputs = {v}, .create_graph = create, .allow_unused = true});
    for (std::size_t c = 0; c < g.size(); ++c)
      if (!g[c].defined()) g[c] = Tensor::zeros(xs[c].shape(), DType::f64);  // f does not depend on input c
    return g;
  };
  // What the second derivatives are taken with respect to: the checked inputs, then v.
  std::vector<Tensor> wrt = xs;
  wrt.push_back(v);
  auto label_of = [&](std::size_t w) { return w < checked.size() ? checked[w] : inputs.size(); };
  // d (sum_c <g_c, u_c>) / d wrt, by a second backward; zeros where nothing depends on wrt.
  auto second = [&](const std::vector<Tensor>& g, const std::vector<Tensor>& u) {
    std::vector<Tensor> outs, ups;
    for (std::size_t c = 0; c < g.size(); ++c)
      if (g[c].requires_grad()) outs.push_back(g[c]), ups.push_back(u[c]);
    std::vector<Tensor> d(wrt.size());
    if (!outs.empty()) d = grad(outs, wrt, {.grad_outputs = ups, .retain_graph = true, .allow_unused = true});
    for (std::size_t w = 0; w < wrt.size(); ++w)
      if (!d[w].defined()) d[w] = Tensor::zeros(wrt[w].shape(), DType::f64);
    return d;
  };

  Worst worst;
  std::size_t worst_c = 0;  // the first-order gradient of the worst element
  if (!o.fast) {
    const std::vector<Tensor> g = first(true);
    // analytic[c][k][w]: d g_c[k] / d wrt_w, one second backward per element of each g_c
    std::vector<std::vector<std::vector<std::vector<double>>>> analytic(g.size());
    for (std::size_t c = 0; c < g.size(); ++c)
      for (std::size_t k = 0; k < g[c].numel(); ++k) {
        std::vector<Tensor> u;
        for (std::size_t c2 = 0; c2 < g.size(); ++c2) u.push_back(Tensor::zeros(g[c2].shape(), DType::f64));
        u[c].data<double>()[k] = 1.0;
        std::vector<std::vector<double>> per;
        for (const Tensor& d : second(g, u)) per.push_back(d.to_vector());
        analytic[c].push_back(std::move(per));
      }
    for (std::size_t w = 0; w < wrt.size(); ++w) {
      double* p = wrt[w].data<double>();
      for (std::size_t e = 0; e < wrt[w].numel(); ++e) {
        const double orig = p[e];
        p[e] = orig + o.eps;
        const auto plus = first(false);
        p[e] = orig - o.eps;
        const auto minus = first(false);
        p[e] = orig;
        for (std::size_t c = 0; c < g.size(); ++c)
          for (std::size_t k = 0; k < g[c].numel(); ++k) {
            const double numeric = (plus[c].data<double>()[k] - minus[c].data<double>()[k]) / (2 * o.eps);
            const double before = worst.excess;
            worst.see(o, w, e, k, analytic[c][k][w][e], numeric);
            if (worst.excess != before) worst_c = c;
          }
      }
    }
  } else {
    // One projection: u over the gradients, w over everything differentiated.
    const std::vector<Tensor> g = first(true);
    std::vector<Tensor> u, dir;
    for (const Tensor& gc : g) u.push_back(randn(gc.shape(), DType::f64, gen));
    for (const Tensor& t : wrt) dir.push_back(randn(t.shape(), DType::f64, gen));
    double analytic = 0;
    const std::vector<Tensor> d = second(g, u);
    for (std::size_t w = 0; w < wrt.size(); ++w) analytic += dot(d[w], dir[w]);
    std::vector<Tensor> orig;
    for (const Tensor& t : wrt) orig.push_back(t.clone());
    auto shifted = [&](double s) {
      for (std::size_t w = 0; w < wrt.size(); ++w)
        for (std::size_t e = 0; e < wrt[w].numel(); ++e)
          wrt[w].data<double>()[e] = orig[w].data<double>()[e] + s * dir[w].data<double>()[e];
      double h = 0;
      const auto gs = first(false);
      for (std::size_t c = 0; c < gs.size(); ++c) h += dot(gs[c], u[c]);
      return h;
    };
    const double numeric = (shifted(o.eps) - shifted(-o.eps)) / (2 * o.eps);
    for (std::size_t w = 0; w < wrt.size(); ++w) wrt[w].copy_from_(orig[w]);
    worst.see(o, 0, 0, 0, analytic, numeric);
  }

  GradCheckResult r;
  r.function = name;
  r.ok = worst.excess <= 0;
  r.input = label_of(o.fast ? 0 : worst.input);
  r.input_name = o.fast ? "projection" : input_label(inputs, r.input);
  r.element = o.fast ? "projection" : index_string(worst.element, wrt[worst.input].shape());
  r.output_element = o.fast ? "projection"
                            : "d/d " + input_label(inputs, checked[worst_c]) + " " +
                                  index_string(worst.output, xs[worst_c].shape());
  r.analytic = worst.analytic;
  r.numeric = worst.numeric;
  std::ostringstream os;
  os.precision(8);
  os << "gradgradcheck " << (r.ok ? "passed" : "FAILED") << " for '" << name << "' (" << (o.fast ? "fast" : "full")
     << " mode, " << checked.size() << " input(s) and the grad_output " << to_string(y0.shape()) << "): "
     << (r.ok ? "closest to tolerance: " : "worst: ")
     << (o.fast ? std::string("a random projection") : r.input_name + " element " + r.element + " of " + r.output_element)
     << ", analytic " << r.analytic << ", numeric " << r.numeric << " (atol " << o.atol << ", rtol " << o.rtol << ")";
  r.report = os.str();
  return r;
}

}  // namespace seqgrad
