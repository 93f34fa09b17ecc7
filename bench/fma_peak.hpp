#pragma once
// The machine's FP32 peak, measured: independent FMA chains (AVX-512 where the CPU has it, else AVX2),
// timed. bench_ops reports each product as a fraction of it; bench_workloads records it, so that
// scripts/compare.sh can say how fast a workload's matrix products could possibly run.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>

namespace seqgrad::bench {

// 12 accumulators: more than FMA latency x FMA units, so the loop runs at the units' throughput.
// (GCC 12 warns falsely about its own _mm512_reduce_add_ps: silenced for these lines only.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) inline float fma_loop_avx512(long iterations) {
  __m512 acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = _mm512_set1_ps(float(j));
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  for (long i = 0; i < iterations; ++i)
    for (int j = 0; j < 12; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, c);
  __m512 sum = acc[0];
  for (int j = 1; j < 12; ++j) sum = _mm512_add_ps(sum, acc[j]);
  return _mm512_reduce_add_ps(sum);
}
#pragma GCC diagnostic pop

__attribute__((target("avx2,fma"))) inline float fma_loop_avx2(long iterations) {
  __m256 acc[12];
  for (int j = 0; j < 12; ++j) acc[j] = _mm256_set1_ps(float(j));
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  for (long i = 0; i < iterations; ++i)
    for (int j = 0; j < 12; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, c);
  alignas(32) float out[8];
  __m256 sum = acc[0];
  for (int j = 1; j < 12; ++j) sum = _mm256_add_ps(sum, acc[j]);
  _mm256_store_ps(out, sum);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

struct Peak {
  double gflops_per_core = 0;  // FP32, one thread
  const char* isa = "";
};

// The best of several timed runs of about 20 ms (other load only ever slows a run down).
inline Peak measure_peak() {
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int lanes = avx512 ? 16 : 8;
  const long iterations = 2'000'000;
  Peak p;
  p.isa = avx512 ? "AVX-512" : "AVX2";
  for (int run = 0; run < 7; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    const float r = avx512 ? fma_loop_avx512(iterations) : fma_loop_avx2(iterations);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    benchmark::DoNotOptimize(r);
    p.gflops_per_core = std::max(p.gflops_per_core, 2.0 * 12 * lanes * double(iterations) / s / 1e9);
  }
  return p;
}

inline const Peak& peak() {
  static Peak p = measure_peak();
  return p;
}

}  // namespace seqgrad::bench
