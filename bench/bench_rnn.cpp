// One recurrent step, forward and backward, at training sizes: batch 64, input 256, hidden 256,
// float32. Items are sequences (batch rows) advanced by one step, so items/s = 64 / time per step.
// The input and state require gradients, as inside an unrolled sequence.
#include <benchmark/benchmark.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/ops/ops.hpp"

namespace {

using namespace seqgrad;

constexpr std::size_t kBatch = 64, kInput = 256, kHidden = 256;

Tensor leaf(const Shape& shape, Generator& gen) {
  Tensor t = rand_uniform(shape, -1.0, 1.0, DType::f32, gen);
  t.requires_grad_();
  return t;
}

void BM_GRUCellStepForwardBackward(benchmark::State& state) {
  Generator gen(1);
  nn::GRUCell cell(kInput, kHidden, gen);
  const Tensor x = leaf({kBatch, kInput}, gen), h = leaf({kBatch, kHidden}, gen);
  const Tensor upstream = Tensor::ones({kBatch, kHidden});
  for (auto _ : state) {
    const Tensor next = cell(x, h);
    backward(next, upstream);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_GRUCellStepForwardBackward)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_LSTMCellStepForwardBackward(benchmark::State& state) {
  Generator gen(1);
  nn::LSTMCell cell(kInput, kHidden, gen);
  const Tensor x = leaf({kBatch, kInput}, gen), h = leaf({kBatch, kHidden}, gen), c = leaf({kBatch, kHidden}, gen);
  const Tensor upstream = Tensor::ones({kBatch, kHidden});
  for (auto _ : state) {
    const nn::LSTMState next = cell(x, {h, c});
    // Both h' and c' carry gradient into the next step: one backward through both.
    backward(next.h + next.c, upstream);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}
BENCHMARK(BM_LSTMCellStepForwardBackward)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
