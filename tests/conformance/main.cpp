// conformance [--no-skips] [--strict] DIR: checks seqgrad against the PyTorch-parity cases in
// DIR/*.json (format: tests/golden/FORMAT.md). Per case it prints PASS, FAIL (with the worst
// element) or SKIP (an op no evaluator handles), then "N passed, M failed, K skipped". Exit status
// 1 when any case failed or any file is malformed, 2 on a usage error.
//
// --strict compares at atol 1e-9, rtol 1e-7 instead of each case's tolerance. The cases' tolerances
// are float32-sized (1e-5 / 1e-4, 1e-4 / 1e-3 for the Transformer blocks), while both PyTorch's
// figures and these are float64: with them alone a Transformer block could be 0.1% off and pass.
//
// For each case: every float input becomes a float64 leaf that requires grad, the op's evaluator
// computes the outputs, and L = sum_k sum(y_k * upstream_k) is differentiated with one
// backward(y_k, upstream_k) per output, so the inputs' .grad hold dL/d input. A case with a
// `second_order` object is then differentiated twice: g_i = grad(L, input_i, create_graph), and the
// gradient of sum_i sum(g_i * d_i) is compared with its `hvp`. The summary line ends with how many
// cases had their second-order check run ("; N with second-order checks").
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compare.hpp"
#include "evaluators.hpp"
#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/ops/ops.hpp"

namespace fs = std::filesystem;
using namespace seqgrad;
using namespace seqgrad::conformance;

namespace {

// Why a case failed: the first tensor outside tolerance (or the error), plus the other tensors that
// are also off, so one run shows everything that disagrees.
struct Failure {
  std::string first;
  std::vector<std::string> others;
};

std::string describe(const std::string& tensor, const Mismatch& m) {
  std::ostringstream s;
  s.precision(12);
  s << tensor << ' ' << m.index << " got " << m.got << " want " << m.want << " (|got - want| = "
    << std::abs(m.got - m.want) << ", allowed " << m.allowed << ")";
  return s.str();
}

// Compares got with want; adds a description to `failure` when they differ.
void check(const std::string& tensor, const Tensor& got, const Tensor& want, Tolerance tolerance,
           std::optional<Failure>& failure) {
  std::string problem;
  if (got.shape() != want.shape()) {
    problem = tensor + " has shape " + to_string(got.shape()) + ", want " + to_string(want.shape());
  } else if (!is_floating(got.dtype())) {
    problem = tensor + " is " + dtype_name(got.dtype()) + ", want a float tensor";
  } else if (auto m = worst_mismatch(got, want, tolerance)) {
    problem = describe(tensor, *m);
  } else {
    return;
  }
  if (!failure) failure = Failure{problem, {}};
  else failure->others.push_back(problem);
}

// The case's second-order check, after its first-order one passed: the float inputs' gradients of
// L recorded (create_graph), their inner product with the directions, and that product's gradient
// against the expected Hessian-vector products. An input nothing depends on gets zeros (as torch's
// allow_unused, which the golden generator uses).
std::optional<Failure> check_second_order(const GoldenCase& c, const NamedTensors& got) {
  const SecondOrder& so = *c.second_order;
  std::vector<std::string> names;
  std::vector<Tensor> inputs;
  for (const auto& [name, direction] : so.directions) {
    names.push_back(name);
    inputs.push_back(c.inputs.at(name));
  }
  std::vector<Tensor> outputs, upstream;
  for (const auto& [name, g] : c.upstream) {
    const Tensor& y = got.at(name);
    if (!y.requires_grad()) continue;  // depends on no float input: no term in any gradient
    outputs.push_back(y);
    upstream.push_back(g);
  }
  std::vector<Tensor> hvp(inputs.size());
  try {
    if (!outputs.empty()) {
      const std::vector<Tensor> first = grad(outputs, inputs,
                                             {.grad_outputs = upstream, .create_graph = true, .allow_unused = true});
      Tensor inner;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        // A gradient without history is constant in every input: it adds nothing to the product's gradient.
        if (!first[i].defined() || !first[i].requires_grad()) continue;
        const Tensor term = sum(first[i] * so.directions.at(names[i]));
        inner = inner.defined() ? inner + term : term;
      }
      if (inner.defined()) hvp = grad({inner}, inputs, {.allow_unused = true});
    }
  } catch (const std::exception& e) {
    return Failure{std::string("error in the second-order backward: ") + e.what(), {}};
  }
  std::optional<Failure> failure;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor got_hvp = hvp[i].defined() ? hvp[i] : Tensor::zeros(inputs[i].shape(), DType::f64);
    check("hvp " + names[i], got_hvp, so.hvp.at(names[i]), c.tolerance, failure);
  }
  return failure;
}

struct CaseResult {
  std::optional<Failure> failure;
  bool second_order_checked = false;
};

CaseResult run_case(GoldenCase& c, const Evaluator& evaluate) {
  for (auto& [name, t] : c.inputs)
    if (is_floating(t.dtype())) t.requires_grad_(true);

  NamedTensors got;
  try {
    got = evaluate(CaseView(c));
  } catch (const std::exception& e) {
    return {Failure{std::string("error: ") + e.what(), {}}};
  }

  std::optional<Failure> failure;
  for (const auto& [name, want] : c.outputs) {
    auto it = got.find(name);
    if (it == got.end() || !it->second.defined()) return {Failure{"output " + name + " was not computed", {}}};
    check("output " + name, it->second, want, c.tolerance, failure);
  }
  if (failure) return {failure};  // gradients of wrong values tell nothing more

  try {
    for (const auto& [name, g] : c.upstream) {
      const Tensor& y = got.at(name);
      // An output that depends on no float input adds nothing to any gradient.
      if (y.requires_grad()) backward(y, g, {.retain_graph = true});
    }
  } catch (const std::exception& e) {
    return {Failure{std::string("error in backward: ") + e.what(), {}}};
  }
  for (const auto& [name, want] : c.grads) {
    const Tensor& input = c.inputs.at(name);
    // No gradient arrived: L does not depend on this input, so its gradient is zero.
    const Tensor got_grad = input.grad().defined() ? input.grad() : Tensor::zeros(input.shape(), DType::f64);
    check("grad " + name, got_grad, want, c.tolerance, failure);
  }
  if (failure || !c.second_order) return {failure};  // second derivatives of wrong gradients tell nothing more
  return {check_second_order(c, got), true};
}

std::vector<fs::path> case_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  bool no_skips = false, strict = false;
  std::string dir_arg;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no-skips") no_skips = true;
    else if (arg == "--strict") strict = true;
    else if (dir_arg.empty() && !arg.starts_with("-")) dir_arg = arg;
    else {
      std::cerr << "usage: conformance [--no-skips] [--strict] DIR   (unexpected argument '" << arg << "')\n";
      return 2;
    }
  }
  if (dir_arg.empty() || !fs::is_directory(dir_arg)) {
    std::cerr << "usage: conformance [--no-skips] [--strict] DIR   (" << (dir_arg.empty() ? "no DIR given" : dir_arg + " is not a directory")
              << ")\n";
    return 2;
  }
  const std::vector<fs::path> files = case_files(dir_arg);
  if (files.empty()) {
    std::cerr << "conformance: no *.json case files in " << dir_arg << "\n";
    return 1;
  }

  std::cout << "seqgrad conformance: " << files.size() << " case files in " << dir_arg
            << "; values, gradients and second-order products compared in float64, |got - want| <= atol + rtol * |want|"
            << (strict ? " with atol 1e-9, rtol 1e-7 (--strict)" : "")
            << (no_skips ? "; unsupported ops count as failures" : "") << "\n";

  const Registry evaluators = all_evaluators();
  int passed = 0, failed = 0, skipped = 0, second_order_checks = 0;
  std::set<std::string> names;
  for (const fs::path& file : files) {
    GoldenCase c;
    try {
      c = load_case(file);
      if (strict) c.tolerance = {1e-9, 1e-7};
      if (!names.insert(c.name).second) throw MalformedCase("case name '" + c.name + "' is used by another file");
    } catch (const std::exception& e) {  // MalformedCase, or a tensor the library refused to build
      std::cout << "MALFORMED " << file.filename().string() << ": " << e.what() << "\n";
      ++failed;
      continue;
    }

    const Evaluator* evaluate = evaluators.find(c.op);
    if (!evaluate) {
      if (no_skips) {
        std::cout << "FAIL " << c.name << ": op '" << c.op << "' is not supported (--no-skips)\n";
        ++failed;
      } else {
        std::cout << "SKIP " << c.name << ": op '" << c.op << "' is not supported\n";
        ++skipped;
      }
      continue;
    }

    const CaseResult result = run_case(c, *evaluate);
    second_order_checks += result.second_order_checked;
    if (const auto& failure = result.failure) {
      std::cout << "FAIL " << c.name << ": " << failure->first << "\n";
      for (const auto& other : failure->others) std::cout << "  also " << other << "\n";
      ++failed;
    } else {
      std::cout << "PASS " << c.name << "\n";
      ++passed;
    }
  }
  std::cout << passed << " passed, " << failed << " failed, " << skipped << " skipped; " << second_order_checks
            << " with second-order checks" << std::endl;
  return failed > 0 ? 1 : 0;
}
