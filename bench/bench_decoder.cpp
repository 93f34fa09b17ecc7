// Incremental transformer decoding, inference in float32: the time to decode one more token at
// position 10, 50 and 100 of a 2-layer decoder (d 128, 4 heads, MLP 512, post-LN, batch 1, a
// 20-position memory), with the cache (TransformerDecoder::step: one position through the layers,
// attending over the cached keys and values) and without (forward over the whole prefix again, the
// last position kept).
// Run: ./build/bin/bench_decoder --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/transformer_decoder.hpp"
#include "seqgrad/ops/ops.hpp"

using namespace seqgrad;

namespace {

constexpr std::size_t kDModel = 128, kHeads = 4, kLayers = 2, kFeedForward = 512, kSource = 20;

struct Setup {
  Generator gen{1};
  nn::TransformerDecoder decoder{kDModel, kHeads, kLayers, gen, {.layer = {.dim_feedforward = kFeedForward}}};
  Tensor memory = rand_uniform({1, kSource, kDModel}, -1, 1, DType::f32, gen);
  Tensor targets;  // [1, position + 1, D]: the prefix and the token decoded now

  explicit Setup(std::size_t position) : targets(rand_uniform({1, position + 1, kDModel}, -1, 1, DType::f32, gen)) {}
};

void BM_DecoderTokenWithCache(benchmark::State& state) {
  const std::size_t position = state.range(0);
  Setup s(position);
  NoGradGuard inference;
  nn::TransformerDecoderCache prefix = s.decoder.start(s.memory);
  for (std::size_t t = 0; t < position; ++t) s.decoder.step(prefix, narrow(s.targets, 1, t, 1));
  const Tensor token = narrow(s.targets, 1, position, 1);
  for (auto _ : state) {
    nn::TransformerDecoderCache cache = prefix;  // handles: each step starts from the same prefix
    benchmark::DoNotOptimize(s.decoder.step(cache, token).raw_data());
  }
}
BENCHMARK(BM_DecoderTokenWithCache)->ArgName("position")->Arg(10)->Arg(50)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_DecoderTokenWithoutCache(benchmark::State& state) {
  const std::size_t position = state.range(0);
  Setup s(position);
  NoGradGuard inference;
  for (auto _ : state) {
    const Tensor whole = s.decoder(s.targets, s.memory);
    benchmark::DoNotOptimize(narrow(whole, 1, position, 1).raw_data());
  }
}
BENCHMARK(BM_DecoderTokenWithoutCache)->ArgName("position")->Arg(10)->Arg(50)->Arg(100)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
