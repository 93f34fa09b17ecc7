#include "seqgrad/nn/optim.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "seqgrad/graph/kernels.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/linalg.hpp"

namespace seqgrad::nn {

namespace {

std::string number(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

void require(bool ok, const char* who, const std::string& what) {
  if (!ok) throw std::invalid_argument(std::string(who) + ": " + what);
}

NamedParameters numbered(const std::vector<Tensor>& params) {
  NamedParameters named;
  for (std::size_t i = 0; i < params.size(); ++i) named.emplace_back(std::to_string(i), params[i]);
  return named;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Optimizer

Optimizer::Optimizer(NamedParameters params, double lr, std::vector<std::string> buffers, const char* who)
    : who_(who), params_(std::move(params)), buffer_names_(std::move(buffers)), lr_(0.0) {
  require(!params_.empty(), who_, "got an empty parameter list");
  std::unordered_set<std::string> names;
  std::unordered_set<const TensorImpl*> tensors;
  for (const auto& [name, p] : params_) {
    require(p.defined(), who_, "parameter '" + name + "' is an undefined tensor");
    require(is_floating(p.dtype()), who_,
            "parameter '" + name + "' is " + dtype_name(p.dtype()) + ", not a float tensor");
    require(p.is_leaf(), who_, "parameter '" + name + "' is not a leaf (the result of an op cannot be optimized)");
    require(names.insert(name).second, who_, "parameter name '" + name + "' appears twice");
    // Updating one tensor twice per step would be silently wrong.
    require(tensors.insert(p.impl()).second, who_, "parameter '" + name + "' is the same tensor as an earlier one");
  }
  set_lr(lr);
  state_.reserve(params_.size());
  for (const auto& [name, p] : params_) {
    ParamState s{Tensor::scalar(0.0, DType::i64), {}};
    for (std::size_t b = 0; b < buffer_names_.size(); ++b) s.buffers.push_back(Tensor::zeros(p.shape(), p.dtype()));
    state_.push_back(std::move(s));
  }
}

void Optimizer::set_lr(double lr) {
  require(lr >= 0.0 && std::isfinite(lr), who_, "learning rate must be finite and >= 0, got " + number(lr));
  lr_ = lr;
}

void Optimizer::set_step_count(std::int64_t steps) {
  require(steps >= 0, who_, "step count must be >= 0, got " + std::to_string(steps));
  step_count_ = steps;
}

void Optimizer::step() {
  if (WeightTransposeScope::active())
    throw std::logic_error(std::string(who_) + ": step() inside a WeightTransposeScope, whose transposed copies "
                           "of the weights would then be stale; end the scope (the forward pass) before the step");
  for (std::size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i].second;
    const Tensor& g = p.grad();
    if (!g.defined()) continue;
    if (g.shape() != p.shape() || g.dtype() != p.dtype())
      throw std::logic_error(std::string(who_) + ": gradient of '" + params_[i].first + "' is " + to_string(g.shape()) +
                             " " + dtype_name(g.dtype()) + ", the parameter is " + to_string(p.shape()) + " " +
                             dtype_name(p.dtype()));
    ++*state_[i].step.data<std::int64_t>();
    update(p, g, state_[i]);
  }
  ++step_count_;
}

void Optimizer::zero_grad() {
  for (auto& [_, p] : params_) p.zero_grad();
}

NamedParameters Optimizer::state() const {
  NamedParameters out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    out.emplace_back("step/" + params_[i].first, state_[i].step);
    for (std::size_t b = 0; b < buffer_names_.size(); ++b)
      out.emplace_back(buffer_names_[b] + "/" + params_[i].first, state_[i].buffers[b]);
  }
  return out;
}

Tensor Optimizer::state_buffer(std::size_t param_index, const std::string& buffer) const {
  if (param_index >= params_.size())
    throw std::out_of_range(std::string(who_) + ": parameter index " + std::to_string(param_index) +
                            " is out of range for " + std::to_string(params_.size()) + " parameters");
  if (buffer == "step") return state_[param_index].step;
  for (std::size_t b = 0; b < buffer_names_.size(); ++b)
    if (buffer_names_[b] == buffer) return state_[param_index].buffers[b];
  throw std::invalid_argument(std::string(who_) + ": no state buffer named '" + buffer + "'");
}

// ---------------------------------------------------------------------------------------------
// SGD

namespace {

std::vector<std::string> sgd_buffers(const SGDOptions& o) {
  return o.momentum != 0.0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
}

const SGDOptions& checked(const SGDOptions& o) {
  require(o.momentum >= 0.0 && std::isfinite(o.momentum), "SGD",
          "momentum must be finite and >= 0, got " + number(o.momentum));
  require(o.weight_decay >= 0.0 && std::isfinite(o.weight_decay), "SGD",
          "weight_decay must be finite and >= 0, got " + number(o.weight_decay));
  require(std::isfinite(o.dampening), "SGD", "dampening must be finite, got " + number(o.dampening));
  require(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0), "SGD",
          "Nesterov momentum needs momentum > 0 and dampening = 0, got momentum " + number(o.momentum) +
              " and dampening " + number(o.dampening));
  return o;
}

template <class T>
void sgd_update(T* __restrict p, const T* __restrict grad, T* __restrict buf, std::size_t n, const SGDOptions& o,
                double lr, bool first) {
  const T wd = T(o.weight_decay), mom = T(o.momentum), keep = T(1.0 - o.dampening), step = T(-lr);
  if (!buf) {
    for (std::size_t i = 0; i < n; ++i) p[i] += step * (grad[i] + wd * p[i]);
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const T g = grad[i] + wd * p[i];
    buf[i] = first ? g : mom * buf[i] + keep * g;  // torch starts the buffer at the first gradient
    p[i] += step * (o.nesterov ? g + mom * buf[i] : buf[i]);
  }
}

}  // namespace

SGD::SGD(NamedParameters params, SGDOptions options)
    : Optimizer(std::move(params), options.lr, sgd_buffers(checked(options)), "SGD"), options_(options) {}

SGD::SGD(const std::vector<Tensor>& params, SGDOptions options) : SGD(numbered(params), options) {}

void SGD::update(Tensor& param, const Tensor& grad, ParamState& state) {
  const bool first = *state.step.data<std::int64_t>() == 1;
  dispatch_float(param.dtype(), who_, [&](auto tag) {
    using T = decltype(tag);
    T* buf = state.buffers.empty() ? nullptr : state.buffers[0].data<T>();
    sgd_update<T>(param.data<T>(), grad.data<T>(), buf, param.numel(), options_, lr(), first);
  });
}

// ---------------------------------------------------------------------------------------------
// Adam, AdamW

namespace {

const AdamOptions& checked(const AdamOptions& o, const char* who) {
  require(o.beta1 >= 0.0 && o.beta1 < 1.0, who, "beta1 must be in [0, 1), got " + number(o.beta1));
  require(o.beta2 >= 0.0 && o.beta2 < 1.0, who, "beta2 must be in [0, 1), got " + number(o.beta2));
  require(o.eps >= 0.0 && std::isfinite(o.eps), who, "eps must be finite and >= 0, got " + number(o.eps));
  require(o.weight_decay >= 0.0 && std::isfinite(o.weight_decay), who,
          "weight_decay must be finite and >= 0, got " + number(o.weight_decay));
  return o;
}

// The scalars of one Adam update; bias corrections in double, as torch computes them in Python floats.
struct AdamScalars {
  double beta1, beta2, eps;
  double l2;             // added to the gradient: weight_decay (Adam) or 0 (AdamW)
  double decay;          // p *= decay first: 1 - lr * weight_decay (AdamW) or 1 (Adam)
  double step_size;      // lr / (1 - beta1^t)
  double bc2_sqrt;       // sqrt(1 - beta2^t)
};

template <class T>
void adam_update(T* __restrict p, const T* __restrict grad, T* __restrict m, T* __restrict v, std::size_t n,
                 const AdamScalars& s) {
  // torch's step, p -= step_size m / (sqrt(v) / bc2_sqrt + eps), multiplied through by bc2_sqrt:
  // p -= (step_size bc2_sqrt) m / (sqrt(v) + eps bc2_sqrt). One division per element instead of
  // two (the divisions bound this loop; the results differ from torch's by rounding only).
  const T beta1 = T(s.beta1), beta2 = T(s.beta2), one_minus_beta1 = T(1.0 - s.beta1),
          one_minus_beta2 = T(1.0 - s.beta2), l2 = T(s.l2), decay = T(s.decay),
          scaled_step = T(s.step_size * s.bc2_sqrt), scaled_eps = T(s.eps * s.bc2_sqrt);
  for (std::size_t i = 0; i < n; ++i) {
    p[i] *= decay;
    const T g = grad[i] + l2 * p[i];
    m[i] = beta1 * m[i] + one_minus_beta1 * g;
    v[i] = beta2 * v[i] + one_minus_beta2 * g * g;
    p[i] -= scaled_step * m[i] / (std::sqrt(v[i]) + scaled_eps);
  }
}

}  // namespace

Adam::Adam(NamedParameters params, AdamOptions options, const char* who)
    : Optimizer(std::move(params), options.lr, {"exp_avg", "exp_avg_sq"}, who), options_(checked(options, who)) {}

Adam::Adam(NamedParameters params, AdamOptions options) : Adam(std::move(params), options, "Adam") {}

Adam::Adam(const std::vector<Tensor>& params, AdamOptions options) : Adam(numbered(params), options, "Adam") {}

void Adam::update(Tensor& param, const Tensor& grad, ParamState& state) {
  const double t = static_cast<double>(*state.step.data<std::int64_t>());
  const AdamOptions& o = options_;
  const AdamScalars s{o.beta1,
                      o.beta2,
                      o.eps,
                      decoupled_weight_decay_ ? 0.0 : o.weight_decay,
                      decoupled_weight_decay_ ? 1.0 - lr() * o.weight_decay : 1.0,
                      lr() / (1.0 - std::pow(o.beta1, t)),
                      std::sqrt(1.0 - std::pow(o.beta2, t))};
  dispatch_float(param.dtype(), who_, [&](auto tag) {
    using T = decltype(tag);
    T* p = param.data<T>();
    const T* g = grad.data<T>();
    T *m = state.buffers[0].data<T>(), *v = state.buffers[1].data<T>();
    // Each element alone: blocks on the cores give the same bits as one loop (a large weight's
    // update was the last serial stretch of a Transformer step).
    parallel_blocks(param.numel(), std::size_t{1} << 15, [&](std::size_t b, std::size_t e) {
      adam_update<T>(p + b, g + b, m + b, v + b, e - b, s);
    });
  });
}

AdamW::AdamW(NamedParameters params, AdamOptions options) : Adam(std::move(params), options, "AdamW") {
  decoupled_weight_decay_ = true;
}

AdamW::AdamW(const std::vector<Tensor>& params, AdamOptions options) : AdamW(numbered(params), options) {}

// ---------------------------------------------------------------------------------------------
// Gradient clipping

namespace {

// In float64, in an order fixed by n alone, so the result does not vary from run to run.
template <class T>
double sum_of_squares(const T* d, std::size_t n) {
  return kernels::lane_sum<double>(n, [d](std::size_t i) { return static_cast<double>(d[i]) * d[i]; });
}

// Over any list of parameters, given how to get the tensor out of one entry (no copy of the list).
template <class Params, class TensorOf>
double clip_grad_norm_impl(const Params& params, TensorOf tensor_of, double max_norm, ClipOptions options) {
  if (!(max_norm >= 0.0))  // also NaN
    throw std::invalid_argument("clip_grad_norm: max_norm must be >= 0, got " + number(max_norm));
  double sum_sq = 0.0;
  for (const auto& entry : params) {
    const Tensor& p = tensor_of(entry);
    if (!p.defined() || !p.grad().defined()) continue;
    const Tensor& g = p.grad();
    dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      sum_sq += sum_of_squares(g.data<T>(), g.numel());
    });
  }
  const double total_norm = std::sqrt(sum_sq);
  if (options.error_if_nonfinite && !std::isfinite(total_norm))
    throw std::runtime_error("clip_grad_norm: the total norm of the gradients is " + number(total_norm) +
                             "; the gradients were left unchanged");
  const double coef = max_norm / (total_norm + 1e-6);
  const double scale = coef < 1.0 || std::isnan(coef) ? coef : 1.0;  // torch's clamp(max=1) keeps NaN
  for (const auto& entry : params) {
    const Tensor& p = tensor_of(entry);
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    dispatch_float(g.dtype(), "clip_grad_norm", [&](auto tag) {
      using T = decltype(tag);
      T* d = g.data<T>();
      const T c = T(scale);
      for (std::size_t i = 0, n = g.numel(); i < n; ++i) d[i] *= c;
    });
  }
  return total_norm;
}

}  // namespace

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, ClipOptions options) {
  return clip_grad_norm_impl(params, [](const Tensor& p) -> const Tensor& { return p; }, max_norm, options);
}

double clip_grad_norm(const NamedParameters& params, double max_norm, ClipOptions options) {
  return clip_grad_norm_impl(
      params, [](const auto& named) -> const Tensor& { return named.second; }, max_norm, options);
}

}  // namespace seqgrad::nn
