#pragma once
// Optimizers with PyTorch 1.13's update rules (SGD with momentum/Nesterov, Adam, AdamW) and gradient
// clipping. Updates run in place on the parameters' data, outside the graph, as plain loops over
// contiguous memory that the compiler vectorizes; every state buffer is allocated when the optimizer
// is built, so a step allocates nothing. Parameters whose .grad is undefined are skipped (their
// state, including their own step count, is left as it is), as in PyTorch.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a gradient; then step_count() goes up by one.
  void step();
  // Fills every parameter's .grad with zeros (keeping the buffers, as torch's set_to_none=False).
  void zero_grad();

  std::int64_t step_count() const { return step_count_; }  // calls of step() so far
  void set_step_count(std::int64_t steps);                 // for resuming from a checkpoint
  double lr() const { return lr_; }
  void set_lr(double lr);  // what a learning-rate schedule calls before each step
  const NamedParameters& parameters() const { return params_; }
  virtual const char* kind() const = 0;  // "SGD", "Adam", "AdamW"

  // Everything the optimizer carries from one step to the next, as handles to its live buffers named
  // "<buffer>/<parameter name>" (e.g. "exp_avg/encoder.weight"). Each parameter has "step", an int64
  // scalar counting the updates it received (torch's state['step']), then the optimizer's buffers
  // ("momentum_buffer" for SGD with momentum; "exp_avg", "exp_avg_sq" for Adam and AdamW), in
  // parameter order. Writing into these tensors changes the optimizer's state (checkpoint loading).
  NamedParameters state() const;
  // The state buffers of one parameter (by its position in parameters()), e.g. state_buffer(0, "exp_avg").
  Tensor state_buffer(std::size_t param_index, const std::string& buffer) const;

 protected:
  // `who` names the optimizer in error messages; `buffers` are the per-parameter state buffers
  // (each shaped and typed like its parameter, zero-initialised).
  Optimizer(NamedParameters params, double lr, std::vector<std::string> buffers, const char* who);

  struct ParamState {
    Tensor step;                  // int64 scalar: updates this parameter has received
    std::vector<Tensor> buffers;  // in the order of buffer_names_
  };
  // Updates one parameter in place from its gradient (same shape and dtype); state.step has already
  // been incremented, so it is the number of this update (1 for the first).
  virtual void update(Tensor& param, const Tensor& grad, ParamState& state) = 0;

  const char* who_;

 private:
  NamedParameters params_;
  std::vector<std::string> buffer_names_;
  std::vector<ParamState> state_;
  double lr_;
  std::int64_t step_count_ = 0;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // L2 penalty added to the gradient
  bool nesterov = false;      // needs momentum > 0 and dampening = 0
};

// torch.optim.SGD: g = grad + weight_decay * p; with momentum, buf = g on the first update and
// buf = momentum * buf + (1 - dampening) * g after; g = nesterov ? g + momentum * buf : buf; p -= lr * g.
class SGD : public Optimizer {
 public:
  SGD(NamedParameters params, SGDOptions options = {});
  SGD(const std::vector<Tensor>& params, SGDOptions options = {});
  const char* kind() const override { return "SGD"; }
  const SGDOptions& options() const { return options_; }

 protected:
  void update(Tensor& param, const Tensor& grad, ParamState& state) override;

 private:
  SGDOptions options_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 added to the gradient; AdamW: decoupled decay (torch's default there is 0.01)
};

// torch.optim.Adam (amsgrad=False): with t the update number,
//   g = grad + weight_decay * p
//   m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g * g
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
class Adam : public Optimizer {
 public:
  Adam(NamedParameters params, AdamOptions options = {});
  Adam(const std::vector<Tensor>& params, AdamOptions options = {});
  const char* kind() const override { return "Adam"; }
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(NamedParameters params, AdamOptions options, const char* who);
  void update(Tensor& param, const Tensor& grad, ParamState& state) override;
  // p *= 1 - lr * weight_decay before the moment update (AdamW) instead of adding the L2 gradient.
  bool decoupled_weight_decay_ = false;

 private:
  AdamOptions options_;
};

// torch.optim.AdamW: p *= 1 - lr * weight_decay, then Adam's update without L2 in the gradient.
class AdamW : public Adam {
 public:
  // torch's AdamW defaults to weight_decay 0.01.
  AdamW(NamedParameters params, AdamOptions options = AdamOptions{.weight_decay = 0.01});
  AdamW(const std::vector<Tensor>& params, AdamOptions options = AdamOptions{.weight_decay = 0.01});
  const char* kind() const override { return "AdamW"; }
};

// ---- an optimizer chosen by name: what a program's --optimizer and a run's configuration hold ----

// The shapes' and dtypes' to_string stay visible in namespace nn beside the ones declared here.
using seqgrad::to_string;

enum class OptimizerKind { sgd, adam, adamw };
// "sgd", "adam", "adamw"; parse throws std::invalid_argument naming the known names.
OptimizerKind parse_optimizer_kind(const std::string& name);
std::string to_string(OptimizerKind kind);

// One optimizer: its kind and settings. Each kind uses some of the settings (SGD: lr, weight_decay,
// momentum, nesterov; Adam and AdamW: lr, weight_decay, beta1, beta2, eps); the others must keep
// their defaults, so that a setting is never silently ignored. SGD's dampening stays 0.
struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::adam;
  double lr = 1e-3;
  double weight_decay = 0.0;  // SGD, Adam: L2 added to the gradient; AdamW: decoupled decay
  double momentum = 0.0;      // SGD
  bool nesterov = false;      // SGD, with momentum > 0
  double beta1 = 0.9;         // Adam, AdamW
  double beta2 = 0.999;       // Adam, AdamW
  double eps = 1e-8;          // Adam, AdamW
  bool operator==(const OptimizerOptions&) const = default;
};

// torch's default weight decay of each kind: 0.01 for AdamW, 0 for SGD and Adam.
double default_weight_decay(OptimizerKind kind);

// The kind and the settings it uses, each number in its shortest form that reads back exactly:
// "adam lr=0.002 weight_decay=0 beta1=0.9 beta2=0.999 eps=1e-08", "sgd lr=0.1 weight_decay=0
// momentum=0.9 nesterov=true". Equal texts mean equal options.
std::string to_string(const OptimizerOptions& options);

// The optimizer of `options` over `params`. Throws std::invalid_argument naming the setting when a
// kind is given a setting it does not use, or when the optimizer refuses a value (its own checks).
std::unique_ptr<Optimizer> make_optimizer(NamedParameters params, const OptimizerOptions& options);

struct ClipOptions {
  // As torch: throw (std::runtime_error) when the total norm is NaN or infinite, leaving the
  // gradients as they are. Off by default, as in torch 1.13: the non-finite norm is then returned
  // and the gradients are scaled by the (non-finite) coefficient, as torch does.
  bool error_if_nonfinite = false;
};

// torch.nn.utils.clip_grad_norm_ with the 2-norm: total_norm is the norm of all gradients together
// (accumulated in float64); every gradient is multiplied by min(1, max_norm / (total_norm + 1e-6)).
// Parameters without a gradient are skipped. Returns total_norm (before clipping). max_norm must be
// >= 0 (NaN or negative: std::invalid_argument).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, ClipOptions options = {});
double clip_grad_norm(const NamedParameters& params, double max_norm, ClipOptions options = {});

}  // namespace seqgrad::nn
