// Every op in the catalogue passes a float64 gradient check on each of its cases. The cases, with
// the parameters they call each op with, are in tests/op_cases/; an op of the catalogue without
// cases, cases naming no op, inputs not matching the op's arity, an op without float64, or an op
// that needs parameters checked without a call giving them is a failing test.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "op_cases/op_cases.hpp"
#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;
using op_cases::case_tensor;
using op_cases::OpCase;
using op_cases::OpCases;

namespace {

bool lists_dtype(const OpEntry& op, DType dtype) {
  return std::find(op.dtypes.begin(), op.dtypes.end(), dtype) != op.dtypes.end();
}

// How a set of cases calls its op: its own call, else the catalogue's apply (empty when neither).
const op_cases::OpCall& call_of(const OpCases& set, const OpEntry& op) { return set.call ? set.call : op.apply; }

std::string set_name(const OpCases& set) { return set.setting.empty() ? set.op : set.op + " (" + set.setting + ")"; }

std::vector<std::size_t> set_indices() {
  std::vector<std::size_t> indices(op_cases::all_cases().size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  return indices;
}

// Test names take letters and digits only: "log_softmax", "first axis" -> "logSoftmaxFirstAxis".
std::string param_name(const testing::TestParamInfo<std::size_t>& info) {
  const OpCases& set = op_cases::all_cases()[info.param];
  std::string s;
  bool upper = false;
  for (char ch : set.op + " " + set.setting) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      upper = true;
      continue;
    }
    s += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch;
    upper = false;
  }
  return s;
}

}  // namespace

class OpGradient : public testing::TestWithParam<std::size_t> {};

// Runs check(label, call, inputs) on every case of the set, its float inputs float64 leaves.
template <class Check>
void for_each_case(const OpCases& set, Check check) {
  const OpEntry& op = op_catalogue().find(set.op);
  ASSERT_TRUE(lists_dtype(op, DType::f64)) << "op '" << op.name << "' does not list float64, which gradcheck needs";
  const op_cases::OpCall& call = call_of(set, op);
  ASSERT_TRUE(call) << "op '" << op.name << "' takes parameters without defaults (no apply in the catalogue): the "
                    << "cases '" << set.setting << "' must give a call";
  Generator gen(42);
  const auto cases = set.cases(gen);
  ASSERT_FALSE(cases.empty()) << set_name(set) << " has no gradient-check case";
  for (const OpCase& c : cases) {
    const std::string label = set_name(set) + " " + c.label;
    if (op.arity == OpEntry::any_arity) {
      ASSERT_FALSE(c.inputs.empty()) << label << ": no inputs";
    } else if (!set.call) {
      ASSERT_EQ(c.inputs.size(), op.arity) << label << ": inputs do not match the op's arity";
    }
    std::vector<Tensor> inputs;
    for (const Tensor& t : c.inputs) {
      Tensor in = t;
      if (is_floating(t.dtype())) in = t.clone().requires_grad_();
      inputs.push_back(in);
    }
    check(label, call, inputs);
  }
}

TEST_P(OpGradient, MatchesFiniteDifferences) {
  const OpCases& set = op_cases::all_cases()[GetParam()];
  for_each_case(set, [&](const std::string& label, const op_cases::OpCall& call, const std::vector<Tensor>& inputs) {
    const GradCheckResult full = gradcheck(label, call, inputs, {.atol = set.atol, .rtol = set.rtol});
    EXPECT_TRUE(full.ok) << full.report;
    const GradCheckResult fast = gradcheck(label, call, inputs, {.atol = set.atol, .rtol = set.rtol, .fast = true, .seed = 3});
    EXPECT_TRUE(fast.ok) << fast.report;
  });
}

// Second order: the op's backward under create_graph, differentiated again, against finite
// differences of its first-order gradient (with respect to the inputs and the upstream gradient).
TEST_P(OpGradient, SecondDerivativesMatchFiniteDifferences) {
  const OpCases& set = op_cases::all_cases()[GetParam()];
  for_each_case(set, [&](const std::string& label, const op_cases::OpCall& call, const std::vector<Tensor>& inputs) {
    const GradCheckOptions tolerances{.eps = set.second_order_eps, .atol = set.atol, .rtol = set.rtol};
    const GradCheckResult full = gradgradcheck(label, call, inputs, tolerances);
    EXPECT_TRUE(full.ok) << full.report;
    GradCheckOptions fast_mode = tolerances;
    fast_mode.fast = true;
    fast_mode.seed = 3;
    const GradCheckResult fast = gradgradcheck(label, call, inputs, fast_mode);
    EXPECT_TRUE(fast.ok) << fast.report;
  });
}

INSTANTIATE_TEST_SUITE_P(Catalogue, OpGradient, testing::ValuesIn(set_indices()), param_name);

TEST(OpCatalogue, ListsTheCoreOps) {
  for (const char* name : {"add", "sub", "mul", "div", "exp", "log", "tanh", "sigmoid", "relu", "gelu", "matmul",
                           "linear", "where", "masked_fill"})
    EXPECT_NO_THROW(op_catalogue().find(name)) << name;
  EXPECT_THROW(op_catalogue().find("no_such_op"), std::invalid_argument);
}

TEST(OpCatalogue, EveryOpHasCases) {
  for (const OpEntry& op : op_catalogue().entries()) {
    const auto& all = op_cases::all_cases();
    EXPECT_TRUE(std::any_of(all.begin(), all.end(), [&](const OpCases& set) { return set.op == op.name; }))
        << "op '" << op.name << "' has no gradient-check cases in tests/op_cases/";
  }
}

// No stale cases: every op named in tests/op_cases/ is an op of the catalogue, and each of an op's
// sets of cases says what it checks that the others do not.
TEST(OpCatalogue, EveryCaseNamesAnOp) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const OpCases& set : op_cases::all_cases()) {
    EXPECT_NO_THROW(op_catalogue().find(set.op)) << "cases for '" << set.op << "', which is not in the catalogue";
    EXPECT_TRUE(seen.insert({set.op, set.setting}).second) << set_name(set) << " is listed twice";
  }
}

// The dtypes an entry lists are dtypes it runs in: each op applies to its cases cast to each.
TEST(OpCatalogue, OpsRunInTheirListedDtypes) {
  for (const OpCases& set : op_cases::all_cases()) {
    const OpEntry& op = op_catalogue().find(set.op);
    const op_cases::OpCall& call = call_of(set, op);
    if (!call) continue;  // OpGradient fails for it
    Generator gen(42);
    for (const OpCase& c : set.cases(gen))
      for (DType dtype : op.dtypes) {
        std::vector<Tensor> inputs;
        for (const Tensor& t : c.inputs) inputs.push_back(is_floating(t.dtype()) ? cast(t, dtype) : t);
        EXPECT_NO_THROW(call(inputs)) << set_name(set) << " " << c.label << " in " << dtype_name(dtype);
      }
  }
}

// The checker has teeth: an op whose backward is wrong for one input fails, and the report names it.
namespace {
Tensor scaled_product(const Tensor& a, const Tensor& b) {
  const Tensor y = (a.detach() * b.detach()).detach();
  return record("scaled_product", {a, b}, y, [a, b](const Tensor& gy, GradInputs& g) {
    g.accumulate(0, gy * b);
    g.accumulate(1, gy * a * 1.01);  // deliberately wrong by 1%
  });
}
}  // namespace

TEST(GradCheck, CatchesAWrongBackwardAndNamesTheInput) {
  Generator gen(5);
  Tensor a = case_tensor({2, 3}, gen).set_name("a").requires_grad_();
  Tensor b = case_tensor({2, 3}, gen, 0.5, 1.0).set_name("b").requires_grad_();
  auto f = [](const std::vector<Tensor>& in) { return scaled_product(in[0], in[1]); };
  for (bool fast : {false, true}) {
    const GradCheckResult r = gradcheck("scaled_product", f, {a, b}, {.fast = fast});
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.input, 1u);
    EXPECT_EQ(r.input_name, "b");
    EXPECT_NE(r.report.find("scaled_product"), std::string::npos) << r.report;
    EXPECT_NE(r.report.find("FAILED"), std::string::npos) << r.report;
    EXPECT_NEAR(r.analytic, 1.01 * r.numeric, 1e-6 * std::abs(r.numeric) + 1e-9) << r.report;
  }
}

TEST(GradCheck, RefusesFloat32AndInputsWithoutGrad) {
  Tensor a = Tensor::ones({2}).requires_grad_();
  auto f = [](const std::vector<Tensor>& in) { return in[0] * 2.0; };
  EXPECT_THROW(gradcheck("f", f, {a}), std::invalid_argument);
  EXPECT_THROW(gradcheck("f", f, {Tensor::ones({2}, DType::f64)}), std::invalid_argument);
}
