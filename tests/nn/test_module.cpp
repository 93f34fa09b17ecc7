// Module bookkeeping: dotted names, registration order, train/eval propagation, seeded initialisation.
#include <gtest/gtest.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/ops/ops.hpp"

using namespace seqgrad;

namespace {

struct TwoLayers : nn::Module {
  explicit TwoLayers(Generator& gen)
      : first(register_module("first", std::make_shared<nn::Linear>(3, 4, gen))),
        second(register_module("second", std::make_shared<nn::Linear>(4, 2, gen, nn::LinearOptions{.bias = false}))) {
    scale = register_parameter("scale", Tensor::ones({2}));
  }
  std::shared_ptr<nn::Linear> first, second;
  Tensor scale;
};

}  // namespace

TEST(Module, DottedNamesInRegistrationOrder) {
  Generator gen(1);
  TwoLayers m(gen);
  std::vector<std::string> names;
  for (auto& [n, p] : m.named_parameters()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"scale", "first.weight", "first.bias", "second.weight"}));
  EXPECT_EQ(m.num_parameters(), 2u + 12u + 4u + 8u);
  EXPECT_TRUE(m.parameter("first.weight").requires_grad());
  EXPECT_THROW(m.parameter("first.nope"), std::invalid_argument);
}

TEST(Module, TrainEvalReachesChildren) {
  Generator gen(1);
  TwoLayers m(gen);
  m.eval();
  EXPECT_FALSE(m.first->is_training());
  m.train();
  EXPECT_TRUE(m.second->is_training());
}

TEST(Module, LinearInitIsSeededAndWithinPyTorchBound) {
  Generator a(7), b(7), c(8);
  nn::Linear la(16, 5, a), lb(16, 5, b), lc(16, 5, c);
  EXPECT_EQ(la.weight.to_vector(), lb.weight.to_vector());
  EXPECT_NE(la.weight.to_vector(), lc.weight.to_vector());
  for (double w : la.weight.to_vector()) EXPECT_LE(std::abs(w), 0.25);  // 1/sqrt(16)
}

TEST(Module, ZeroGradClearsEveryParameter) {
  Generator gen(1);
  nn::Linear l(3, 2, gen);
  Tensor loss = sum(l(Tensor::ones({4, 3})));
  backward(loss);
  EXPECT_NE(l.weight.grad().to_vector(), std::vector<double>(6, 0.0));
  l.zero_grad();
  EXPECT_EQ(l.weight.grad().to_vector(), std::vector<double>(6, 0.0));
}
