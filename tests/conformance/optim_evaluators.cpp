// Evaluators of the optimizer golden cases: one update (Adam, AdamW) from the given state, and
// gradient clipping. The inputs are the values to start from; the optimizer works on copies of them
// (in float64) and the case's outputs are the updated values.
#include <string>
#include <vector>

#include "evaluators.hpp"
#include "seqgrad/nn/optim.hpp"

namespace seqgrad::conformance {

namespace {

// One Adam or AdamW step from (param, grad, exp_avg, exp_avg_sq) after `step_before` earlier steps.
template <class Opt>
NamedTensors adam_step(const CaseView& c) {
  Tensor param = c.input("param").clone();
  param.grad() = c.input("grad").clone();
  const nn::AdamOptions options{.lr = c.number("lr"),
                                .beta1 = c.number("beta1"),
                                .beta2 = c.number("beta2"),
                                .eps = c.number("eps"),
                                .weight_decay = c.number("weight_decay")};
  Opt opt(std::vector<Tensor>{param}, options);
  opt.state_buffer(0, "exp_avg").copy_from_(c.input("exp_avg"));
  opt.state_buffer(0, "exp_avg_sq").copy_from_(c.input("exp_avg_sq"));
  opt.state_buffer(0, "step").fill_(static_cast<double>(c.integer("step_before")));
  opt.step();
  return NamedTensors{{"param", param},
                      {"exp_avg", opt.state_buffer(0, "exp_avg")},
                      {"exp_avg_sq", opt.state_buffer(0, "exp_avg_sq")}};
}

// "g0", "g1", ... (built by appending: g++ 12 warns falsely about "g" + std::to_string(i)).
std::string gradient_name(std::size_t i) {
  std::string name(1, 'g');
  name += std::to_string(i);
  return name;
}

}  // namespace

void register_optim_evaluators(Registry& r) {
  r.add("adam_step", adam_step<nn::Adam>);
  r.add("adamw_step", adam_step<nn::AdamW>);

  // Gradients g0, g1, ... of as many parameters; outputs the clipped gradients and the total norm.
  r.add("clip_grad_norm", [](const CaseView& c) {
    std::vector<Tensor> params;
    for (std::size_t i = 0; c.has_input(gradient_name(i)); ++i) {
      const Tensor& g = c.input(gradient_name(i));
      Tensor p = Tensor::zeros(g.shape(), g.dtype());
      p.grad() = g.clone();
      params.push_back(p);
    }
    const double total_norm = nn::clip_grad_norm(params, c.number("max_norm"));
    NamedTensors out{{"total_norm", Tensor::scalar(total_norm, DType::f64)}};
    for (std::size_t i = 0; i < params.size(); ++i) out[gradient_name(i)] = params[i].grad();
    return out;
  });
}

}  // namespace seqgrad::conformance
