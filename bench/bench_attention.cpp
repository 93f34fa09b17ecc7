// Attention layers, forward + backward, in float32 at the sizes of the project's reference models:
//   - additive (Bahdanau) attention of a GRU decoder: batch 64, 12 source keys, hidden 256,
//     attention 256; one step (key projection included) and a 12-step decode that projects the
//     keys once and reuses them;
//   - a post-LN transformer encoder layer (multi-head self-attention block): batch 16, 64 tokens,
//     d 256, 4 heads, MLP 1024, dropout 0 and 0.1.
// Run: ./build/bin/bench_attention --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/attention.hpp"
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/ops/ops.hpp"

using namespace seqgrad;

namespace {

constexpr std::size_t kBatch = 64, kKeys = 12, kHidden = 256, kAttention = 256;

// Sequence lengths 12, 11, ..., so some rows carry padding as in a real batch.
Tensor decoder_batch_mask() {
  std::vector<std::int64_t> m(kBatch * kKeys);
  for (std::size_t b = 0; b < kBatch; ++b)
    for (std::size_t t = 0; t < kKeys; ++t) m[b * kKeys + t] = t < kKeys - b % 4 ? 1 : 0;
  return Tensor::from_indices(m, {kBatch, kKeys});
}

void BM_AdditiveAttentionStep(benchmark::State& state) {
  Generator gen(1);
  nn::AdditiveAttention attention(kHidden, kHidden, kAttention, gen);
  const Tensor keys = rand_uniform({kBatch, kKeys, kHidden}, -1, 1, DType::f32, gen).requires_grad_();
  const Tensor query = rand_uniform({kBatch, kHidden}, -1, 1, DType::f32, gen).requires_grad_();
  const Tensor mask = decoder_batch_mask();
  const Tensor upstream = Tensor::ones({kBatch, kHidden});
  for (auto _ : state) {
    attention.zero_grad();
    const auto out = attention(query, keys, keys, mask);
    backward(out.context, upstream);
    benchmark::DoNotOptimize(keys.grad().raw_data());
  }
}
BENCHMARK(BM_AdditiveAttentionStep)->Unit(benchmark::kMicrosecond);

void BM_AdditiveAttentionDecode12Steps(benchmark::State& state) {
  Generator gen(1);
  nn::AdditiveAttention attention(kHidden, kHidden, kAttention, gen);
  const Tensor keys = rand_uniform({kBatch, kKeys, kHidden}, -1, 1, DType::f32, gen).requires_grad_();
  std::vector<Tensor> queries;
  for (int s = 0; s < 12; ++s) queries.push_back(rand_uniform({kBatch, kHidden}, -1, 1, DType::f32, gen).requires_grad_());
  const Tensor mask = decoder_batch_mask();
  for (auto _ : state) {
    attention.zero_grad();
    const nn::ProjectedKeys projected = attention.precompute_keys(keys);
    Tensor loss;
    for (const auto& q : queries) {
      const Tensor step = sum(attention.forward(q, projected, keys, mask).context);
      loss = loss.defined() ? loss + step : step;
    }
    backward(loss);
    benchmark::DoNotOptimize(keys.grad().raw_data());
  }
}
BENCHMARK(BM_AdditiveAttentionDecode12Steps)->Unit(benchmark::kMillisecond);

void BM_TransformerEncoderLayerPostLN(benchmark::State& state) {
  const double dropout = state.range(0) / 100.0;
  Generator gen(1);
  nn::TransformerEncoderLayer layer(256, 4, gen, {.dim_feedforward = 1024, .dropout = dropout});
  const Tensor x = rand_uniform({16, 64, 256}, -1, 1, DType::f32, gen).requires_grad_();
  const Tensor upstream = Tensor::ones({16, 64, 256});
  for (auto _ : state) {
    layer.zero_grad();
    backward(layer(x), upstream);
    benchmark::DoNotOptimize(x.grad().raw_data());
  }
}
BENCHMARK(BM_TransformerEncoderLayerPostLN)->ArgName("dropout_pct")->Arg(0)->Arg(10)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
