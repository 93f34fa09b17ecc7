// Every op in the catalogue passes a float64 gradient check on each of its cases. The test
// enumerates the catalogue and looks up each op's cases in tests/op_cases/, so an op registered
// without cases, with cases of the wrong number of inputs, or without float64 is a failing test.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "op_cases/op_cases.hpp"
#include "seqgrad/seqgrad.hpp"

using namespace seqgrad;
using op_cases::case_tensor;
using op_cases::OpCase;

namespace {

// The cases of an op, or nullptr when the table has none.
const op_cases::CaseGenerator* find_cases(const std::string& name) {
  for (const auto& c : op_cases::all_cases())
    if (c.op == name) return &c.cases;
  return nullptr;
}

bool lists_dtype(const OpEntry& op, DType dtype) {
  return std::find(op.dtypes.begin(), op.dtypes.end(), dtype) != op.dtypes.end();
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (const auto& e : op_catalogue().entries()) names.push_back(e.name);
  return names;
}

// Test names take letters and digits only: "log_softmax_last" -> "logSoftmaxLast".
std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string s;
  bool upper = false;
  for (char ch : info.param) {
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

class OpGradient : public testing::TestWithParam<std::string> {};

TEST_P(OpGradient, MatchesFiniteDifferences) {
  const OpEntry& op = op_catalogue().find(GetParam());
  ASSERT_TRUE(lists_dtype(op, DType::f64)) << "op '" << op.name << "' does not list float64, which gradcheck needs";
  const op_cases::CaseGenerator* generate = find_cases(op.name);
  ASSERT_NE(generate, nullptr) << "op '" << op.name << "' has no gradient-check cases in tests/op_cases/";
  Generator gen(42);
  const auto cases = (*generate)(gen);
  ASSERT_FALSE(cases.empty()) << "op '" << op.name << "' has no gradient-check case";
  for (const OpCase& c : cases) {
    if (op.arity == OpEntry::any_arity)
      ASSERT_FALSE(c.inputs.empty()) << "op '" << op.name << "', case '" << c.label << "': no inputs";
    else
      ASSERT_EQ(c.inputs.size(), op.arity)
          << "op '" << op.name << "', case '" << c.label << "': inputs do not match the op's arity";
    std::vector<Tensor> inputs;
    for (const Tensor& t : c.inputs) {
      Tensor in = t;
      if (is_floating(t.dtype())) in = t.clone().requires_grad_();
      inputs.push_back(in);
    }
    const GradCheckResult full = gradcheck(op.name + " " + c.label, op.apply, inputs);
    EXPECT_TRUE(full.ok) << full.report;
    const GradCheckResult fast = gradcheck(op.name + " " + c.label, op.apply, inputs, {.fast = true, .seed = 3});
    EXPECT_TRUE(fast.ok) << fast.report;
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, OpGradient, testing::ValuesIn(op_names()), param_name);

TEST(OpCatalogue, ListsTheCoreOps) {
  for (const char* name : {"add", "sub", "mul", "div", "exp", "log", "tanh", "sigmoid", "relu", "gelu", "matmul",
                           "linear", "where", "masked_fill"})
    EXPECT_NO_THROW(op_catalogue().find(name)) << name;
  EXPECT_THROW(op_catalogue().find("no_such_op"), std::invalid_argument);
}

// No stale cases: every op named in tests/op_cases/ is an op of the catalogue, and once only.
TEST(OpCatalogue, EveryCaseNamesAnOp) {
  std::set<std::string> seen;
  for (const auto& c : op_cases::all_cases()) {
    EXPECT_NO_THROW(op_catalogue().find(c.op)) << "cases for '" << c.op << "', which is not in the catalogue";
    EXPECT_TRUE(seen.insert(c.op).second) << "cases for '" << c.op << "' are listed twice";
  }
}

// The dtypes an entry lists are dtypes it runs in: each op applies to its cases cast to each.
TEST(OpCatalogue, OpsRunInTheirListedDtypes) {
  for (const OpEntry& op : op_catalogue().entries()) {
    const op_cases::CaseGenerator* generate = find_cases(op.name);
    if (generate == nullptr) continue;  // OpGradient fails for it
    Generator gen(42);
    for (const OpCase& c : (*generate)(gen))
      for (DType dtype : op.dtypes) {
        std::vector<Tensor> inputs;
        for (const Tensor& t : c.inputs) inputs.push_back(is_floating(t.dtype()) ? cast(t, dtype) : t);
        EXPECT_NO_THROW(op.apply(inputs)) << op.name << " " << c.label << " in " << dtype_name(dtype);
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
