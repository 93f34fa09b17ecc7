// Evaluators of the core ops: each golden op as the seqgrad calls that should match PyTorch.
#include <stdexcept>

#include "evaluators.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::conformance {

void register_core_evaluators(Registry& r) {
  // y = x weight^T + bias
  r.add("linear", [](const CaseView& c) {
    return NamedTensors{{"y", linear(c.input("x"), c.input("weight"), c.optional_input("bias"))}};
  });

  r.add("activations", [](const CaseView& c) {
    const Tensor& x = c.input("x");
    return NamedTensors{{"tanh", tanh(x)}, {"sigmoid", sigmoid(x)}, {"relu", relu(x)}, {"gelu", gelu(x)}};
  });

  r.add("softmax", [](const CaseView& c) {
    const Tensor& x = c.input("x");
    const long dim = c.integer("dim", -1);
    return NamedTensors{{"softmax", softmax(x, dim)}, {"log_softmax", log_softmax(x, dim)}};
  });

  r.add("logsumexp", [](const CaseView& c) {
    return NamedTensors{{"y", logsumexp(c.input("x"), c.integer("dim"), c.flag("keepdim", false))}};
  });

  r.add("layer_norm", [](const CaseView& c) {
    return NamedTensors{{"y", layer_norm(c.input("x"), c.optional_input("weight"), c.optional_input("bias"),
                                         c.number("eps", 1e-5))}};
  });

  r.add("embedding", [](const CaseView& c) {
    return NamedTensors{{"y", embedding(c.input("weight"), c.input("indices"), c.integer("padding_idx", -1))}};
  });

  r.add("cross_entropy", [](const CaseView& c) {
    const std::string reduction = c.text("reduction", "mean");
    if (reduction != "mean")
      throw std::invalid_argument("cross_entropy: reduction '" + reduction +
                                  "' is not supported (seqgrad's cross_entropy is the mean over non-ignored targets)");
    CrossEntropyOptions options;
    options.ignore_index = c.integer("ignore_index", -100);
    options.label_smoothing = c.number("label_smoothing", 0.0);
    return NamedTensors{{"loss", cross_entropy(c.input("logits"), c.input("target"), options)}};
  });
}

}  // namespace seqgrad::conformance
