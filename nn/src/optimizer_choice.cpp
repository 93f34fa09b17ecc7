// An optimizer chosen by name and settings (OptimizerOptions), as programs and run configurations
// name one; the optimizers themselves are in optim.cpp.
#include <charconv>
#include <stdexcept>

#include "seqgrad/nn/optim.hpp"

namespace seqgrad::nn {

namespace {

const char* const kKindNames[] = {"sgd", "adam", "adamw"};  // OptimizerKind's order

// The shortest decimal text that reads back as exactly v.
std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

}  // namespace

OptimizerKind parse_optimizer_kind(const std::string& name) {
  std::string known;
  for (std::size_t i = 0; i < std::size(kKindNames); ++i) {
    if (name == kKindNames[i]) return static_cast<OptimizerKind>(i);
    known += (i ? ", " : "") + std::string(kKindNames[i]);
  }
  throw std::invalid_argument("optimizer: unknown kind '" + name + "' (known: " + known + ")");
}

std::string to_string(OptimizerKind kind) { return kKindNames[static_cast<int>(kind)]; }

double default_weight_decay(OptimizerKind kind) { return kind == OptimizerKind::adamw ? 0.01 : 0.0; }

std::string to_string(const OptimizerOptions& o) {
  std::string text = to_string(o.kind) + " lr=" + shortest(o.lr) + " weight_decay=" + shortest(o.weight_decay);
  if (o.kind == OptimizerKind::sgd)
    return text + " momentum=" + shortest(o.momentum) + " nesterov=" + (o.nesterov ? "true" : "false");
  return text + " beta1=" + shortest(o.beta1) + " beta2=" + shortest(o.beta2) + " eps=" + shortest(o.eps);
}

std::unique_ptr<Optimizer> make_optimizer(NamedParameters params, const OptimizerOptions& o) {
  const OptimizerOptions defaults;
  const std::string kind = to_string(o.kind);
  const auto unused = [&](bool differs, const std::string& setting) {
    if (differs)
      throw std::invalid_argument("make_optimizer: " + kind + " does not use " + setting + " (" + to_string(o) +
                                  "); leave it at its default");
  };
  if (o.kind == OptimizerKind::sgd) {
    unused(o.beta1 != defaults.beta1, "beta1 " + shortest(o.beta1));
    unused(o.beta2 != defaults.beta2, "beta2 " + shortest(o.beta2));
    unused(o.eps != defaults.eps, "eps " + shortest(o.eps));
    return std::make_unique<SGD>(
        std::move(params),
        SGDOptions{.lr = o.lr, .momentum = o.momentum, .weight_decay = o.weight_decay, .nesterov = o.nesterov});
  }
  unused(o.momentum != defaults.momentum, "momentum " + shortest(o.momentum));
  unused(o.nesterov, "nesterov");
  const AdamOptions adam{.lr = o.lr, .beta1 = o.beta1, .beta2 = o.beta2, .eps = o.eps, .weight_decay = o.weight_decay};
  if (o.kind == OptimizerKind::adam) return std::make_unique<Adam>(std::move(params), adam);
  return std::make_unique<AdamW>(std::move(params), adam);
}

}  // namespace seqgrad::nn
