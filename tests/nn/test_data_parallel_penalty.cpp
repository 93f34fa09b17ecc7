// DataParallel with a loss that holds a gradient penalty: each shard differentiates its output with
// respect to its input (grad with create_graph) and adds the squared gradient to its loss, so the
// shard's backward runs through a recorded gradient. Training stays bitwise the same on 1, 2 and 8
// threads, and the shard-summed gradient equals the whole minibatch's.
#include <gtest/gtest.h>

#include <cmath>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/nn/data_parallel.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/ops/ops.hpp"

using namespace seqgrad;

namespace {

constexpr std::size_t kBatch = 24, kShard = 4, kSteps = 3;
constexpr double kPenalty = 0.1;

// y = W2 tanh(W1 x + b1) + b2, from 3 features to 1.
struct Mlp : nn::Module {
  explicit Mlp(Generator& gen)
      : hidden(register_module("hidden", std::make_shared<nn::Linear>(3, 8, gen, nn::LinearOptions{.dtype = DType::f64}))),
        out(register_module("out", std::make_shared<nn::Linear>(8, 1, gen, nn::LinearOptions{.dtype = DType::f64}))) {}
  Tensor operator()(const Tensor& x) const { return (*out)(tanh((*hidden)(x))); }
  std::shared_ptr<nn::Linear> hidden, out;
};

struct Batch {
  Tensor x, target;
};

Batch make_batch(std::uint64_t seed) {
  Generator gen(seed);
  return {rand_uniform({kBatch, 3}, -1.0, 1.0, DType::f64, gen), rand_uniform({kBatch, 1}, -1.0, 1.0, DType::f64, gen)};
}

// Rows [begin, begin + count) of the batch: the squared error plus kPenalty times the squared
// gradient of the output with respect to the input, both summed over the rows and divided by the
// batch size (so the shards' losses add up to the batch's).
Tensor penalized_loss(const Mlp& model, const Batch& b, std::size_t begin, std::size_t count) {
  const Tensor x = narrow(b.x, 0, begin, count).clone().requires_grad_();
  const Tensor y = model(x);
  const Tensor error = y - narrow(b.target, 0, begin, count);
  const Tensor dy_dx = grad({y}, {x}, {.grad_outputs = {Tensor::ones(y.shape(), DType::f64)}, .create_graph = true})[0];
  return (sum(error * error) + sum(dy_dx * dy_dx) * kPenalty) * (1.0 / double(kBatch));
}

struct RunResult {
  std::vector<double> losses;
  std::vector<std::vector<double>> params;
};

RunResult train_on_threads(std::size_t threads) {
  set_num_threads(threads);
  Generator gen(7);
  Mlp model(gen);
  nn::Adam adam(model.parameters(), {.lr = 0.01});
  nn::DataParallel parallel(model.parameters());
  RunResult r;
  for (std::size_t step = 0; step < kSteps; ++step) {
    const Batch b = make_batch(100 + step);
    adam.zero_grad();
    r.losses.push_back(parallel.backward(kBatch / kShard, [&](std::size_t s) {
      return penalized_loss(model, b, s * kShard, kShard);
    }));
    adam.step();
  }
  set_num_threads(0);
  for (const Tensor& p : model.parameters()) r.params.push_back(p.to_vector());
  return r;
}

}  // namespace

TEST(DataParallelGradientPenalty, TrainsBitwiseTheSameOn1And2And8Threads) {
  const RunResult one = train_on_threads(1);
  for (std::size_t threads : {2, 8}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    const RunResult many = train_on_threads(threads);
    EXPECT_EQ(many.losses, one.losses);
    EXPECT_EQ(many.params, one.params);
  }
  EXPECT_LT(one.losses.back(), one.losses.front());
}

TEST(DataParallelGradientPenalty, ShardSumEqualsTheWholeBatchAndThePenaltyCounts) {
  Generator gen(8);
  Mlp model(gen);
  const Batch b = make_batch(200);
  const std::vector<Tensor> params = model.parameters();

  // The whole batch in one graph, without DataParallel.
  const Tensor whole = penalized_loss(model, b, 0, kBatch);
  const std::vector<Tensor> want = grad({whole}, params);

  nn::DataParallel parallel(params);
  const double loss = parallel.backward(kBatch / kShard, [&](std::size_t s) {
    return penalized_loss(model, b, s * kShard, kShard);
  });
  EXPECT_NEAR(loss, whole.item(), 1e-12);
  for (std::size_t p = 0; p < params.size(); ++p) {
    const auto got = params[p].grad().to_vector(), expected = want[p].to_vector();
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12) << "parameter " << p << " [" << i << "]";
  }

  // The penalty's own gradient reaches the parameters (through the recorded dy/dx): without it the
  // gradient differs.
  const Tensor x = b.x.clone().requires_grad_();
  const Tensor error = model(x) - b.target;
  const std::vector<Tensor> without = grad({sum(error * error) * (1.0 / double(kBatch))}, params);
  double largest_difference = 0;
  for (std::size_t p = 0; p < params.size(); ++p) {
    const auto a = without[p].to_vector(), c = want[p].to_vector();
    for (std::size_t i = 0; i < a.size(); ++i) largest_difference = std::max(largest_difference, std::abs(a[i] - c[i]));
  }
  EXPECT_GT(largest_difference, 1e-3);
}
