#include "seqgrad/nn/module.hpp"

#include <cmath>
#include <stdexcept>

namespace seqgrad::nn {

Tensor Module::register_parameter(const std::string& name, Tensor value) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw std::invalid_argument("Module::register_parameter: bad name '" + name + "' (non-empty, no dots)");
  for (const auto& [n, _] : params_)
    if (n == name) throw std::invalid_argument("Module::register_parameter: '" + name + "' is registered twice");
  value.requires_grad_(true);
  params_.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  if (!module) throw std::invalid_argument("Module::register_module: '" + name + "' is null");
  if (name.empty() || name.find('.') != std::string::npos)
    throw std::invalid_argument("Module::register_module: bad name '" + name + "' (non-empty, no dots)");
  for (const auto& [n, _] : children_)
    if (n == name) throw std::invalid_argument("Module::register_module: '" + name + "' is registered twice");
  module->train(training_);
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, NamedParameters& out) const {
  for (const auto& [name, p] : params_) out.emplace_back(prefix + name, p);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

NamedParameters Module::named_parameters() const {
  NamedParameters out;
  collect("", out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, p] : named_parameters()) out.push_back(p);
  return out;
}

std::size_t Module::num_parameters() const {
  std::size_t n = 0;
  for (const auto& [_, p] : named_parameters()) n += p.numel();
  return n;
}

Tensor Module::parameter(const std::string& dotted_name) const {
  for (auto& [name, p] : named_parameters())
    if (name == dotted_name) return p;
  throw std::invalid_argument("Module::parameter: no parameter named '" + dotted_name + "'");
}

void Module::zero_grad() {
  for (auto& p : parameters()) p.zero_grad();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, child] : children_) child->train(on);
}

namespace init {

void uniform_(Tensor& t, double lo, double hi, Generator& gen) {
  t.copy_from_(rand_uniform(t.shape(), lo, hi, t.dtype(), gen));
}

void normal_(Tensor& t, double mean, double stddev, Generator& gen) {
  Tensor z = randn(t.shape(), DType::f64, gen);
  double* d = z.data<double>();
  for (std::size_t i = 0; i < z.numel(); ++i) d[i] = mean + stddev * d[i];
  t.copy_from_(z.to(t.dtype()));
}

void fan_uniform_(Tensor& t, std::size_t fan, Generator& gen) {
  if (fan == 0) throw std::invalid_argument("init::fan_uniform_: fan is 0 for " + to_string(t.shape()));
  const double bound = 1.0 / std::sqrt(static_cast<double>(fan));
  uniform_(t, -bound, bound, gen);
}

void xavier_uniform_(Tensor& t, Generator& gen) {
  if (t.shape().size() != 2)
    throw std::invalid_argument("init::xavier_uniform_: needs a matrix, got " + to_string(t.shape()));
  const double a = std::sqrt(6.0 / static_cast<double>(t.shape()[0] + t.shape()[1]));
  uniform_(t, -a, a, gen);
}

}  // namespace init

}  // namespace seqgrad::nn
