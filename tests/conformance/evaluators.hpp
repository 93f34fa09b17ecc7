#pragma once
// Evaluators: one function per golden `op` string that computes a case's outputs with seqgrad.
// The runner marks every float input requires_grad before calling the evaluator and does the
// backward pass and the comparisons itself, so an evaluator is only the forward computation:
//
//   r.add("linear", [](const CaseView& c) {
//     return NamedTensors{{"y", linear(c.input("x"), c.input("weight"), c.optional_input("bias"))}};
//   });
//
// Core-op evaluators live in core_evaluators.cpp, layer evaluators in rnn_, attention_ and
// optim_evaluators.cpp; a new evaluator is one `add` in one of those register functions. An op nobody registered is skipped.
#include <functional>
#include <map>
#include <string>

#include "golden_case.hpp"

namespace seqgrad::conformance {

// What an evaluator reads: the case's inputs and attrs. A missing input or attr, or one of the wrong
// type, throws std::invalid_argument naming the case and the key (the case then fails).
class CaseView {
 public:
  explicit CaseView(const GoldenCase& c) : case_(c) {}

  const std::string& name() const { return case_.name; }

  // Float inputs are float64 leaves that require grad; integer inputs (indices, targets, masks) are int64.
  const Tensor& input(const std::string& name) const;
  bool has_input(const std::string& name) const { return case_.inputs.count(name) != 0; }
  Tensor optional_input(const std::string& name) const;  // undefined when absent (e.g. no bias)

  bool has_attr(const std::string& key) const { return case_.attrs.contains(key); }
  double number(const std::string& key) const;
  double number(const std::string& key, double fallback) const;
  long integer(const std::string& key) const;
  long integer(const std::string& key, long fallback) const;
  bool flag(const std::string& key) const;
  bool flag(const std::string& key, bool fallback) const;
  std::string text(const std::string& key) const;
  std::string text(const std::string& key, const std::string& fallback) const;

 private:
  const nlohmann::json& attr(const std::string& key) const;
  const GoldenCase& case_;
};

// A golden mask (int64, 1 = attend / real token, 0 = padding) as a bool tensor that is true at the
// padding places, the form masked_fill takes.
Tensor padding_places(const Tensor& mask);

using Evaluator = std::function<NamedTensors(const CaseView&)>;

class Registry {
 public:
  void add(const std::string& op, Evaluator evaluate);  // throws std::logic_error when op is taken
  const Evaluator* find(const std::string& op) const;   // nullptr for an op nobody registered

 private:
  std::map<std::string, Evaluator> evaluators_;
};

void register_core_evaluators(Registry& r);  // linear, activations, softmax, logsumexp, layer_norm, embedding, cross_entropy
void register_nn_evaluators(Registry& r);    // all of the below
void register_rnn_evaluators(Registry& r);        // rnn_tanh_cell, gru_cell, lstm_cell
void register_attention_evaluators(Registry& r);  // mean_context, additive/scaled-dot attention, MHSA, transformer blocks
void register_optim_evaluators(Registry& r);      // adam_step, adamw_step, clip_grad_norm

// Every evaluator: what the runner uses.
Registry all_evaluators();

}  // namespace seqgrad::conformance
