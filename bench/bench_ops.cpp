// Throughput of the hot ops, forward alone and forward + backward, against direct OpenBLAS sgemm for
// matmul, the GEMM backend on the workloads' shapes, plus the fixed cost of one tiny op.
// Run: ./build/bin/bench_ops [--benchmark_filter=...]
//
// First it measures the machine's FP32 peak with a loop of independent FMAs (AVX-512 where the CPU
// has it, else AVX2) and prints it; every GEMM-bound benchmark reports FLOPS and of_peak, its
// fraction of that peak times the threads a product may use.
//
// Targets: matmul within 10% of the three direct sgemm calls at n = 256; tanh, sigmoid and exp at
// 1 G elements/s or more forward; record + forward + backward of a one-element op under 1 us.
#include <benchmark/benchmark.h>
#include <cblas.h>  // direct sgemm baseline; this file includes no xtensor-blas header

#if SEQGRAD_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "fma_peak.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/seqgrad.hpp"

namespace {

using namespace seqgrad;
using benchmark::Counter;
using seqgrad::bench::Peak;
using seqgrad::bench::peak;

Tensor random_tensor(const Shape& shape, bool requires_grad) {
  Tensor t = rand_uniform(shape, -2.0, 2.0);
  if (requires_grad) t.requires_grad_();
  return t;
}

// FLOPS, and of_peak = FLOPS / (peak per core x the threads a product may use).
void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOPS"] = Counter(flops_per_iteration, Counter::kIsIterationInvariantRate);
  const double peak_flops = peak().gflops_per_core * 1e9 * double(gemm_threads());
  state.counters["of_peak"] = Counter(flops_per_iteration / peak_flops, Counter::kIsIterationInvariantRate);
}

// ---- matmul: seqgrad against the same products as direct cblas_sgemm calls ----

void matmul_forward(benchmark::State& state) {
  const std::size_t n = state.range(0);
  const Tensor a = random_tensor({n, n}, false), b = random_tensor({n, n}, false);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).raw_data());
  set_flops(state, 2.0 * n * n * n);
}

// y = a b, then da = gy b^T and db = a^T gy: three n x n products, 6 n^3 flops.
void matmul_forward_backward(benchmark::State& state) {
  const std::size_t n = state.range(0);
  const Tensor a = random_tensor({n, n}, true), b = random_tensor({n, n}, true);
  const Tensor gy = Tensor::ones({n, n});
  for (auto _ : state) backward(matmul(a, b), gy);
  set_flops(state, 6.0 * n * n * n);
}

struct SgemmOperands {
  explicit SgemmOperands(std::size_t n) : n(n), a(n * n, 0.5f), b(n * n, 0.25f), c(n * n), gc(n * n, 1.0f), ga(n * n), gb(n * n) {}
  const int n;
  std::vector<float> a, b, c, gc, ga, gb;
};

void sgemm(benchmark::State& state) {
  SgemmOperands m(state.range(0));
  const int n = m.n;
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, m.a.data(), n, m.b.data(), n, 0.0f, m.c.data(), n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * n * n * n);
}

// The three products of matmul_forward_backward: c = a b, ga = gc b^T, gb = a^T gc.
void sgemm_x3(benchmark::State& state) {
  SgemmOperands m(state.range(0));
  const int n = m.n;
  for (auto _ : state) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, m.a.data(), n, m.b.data(), n, 0.0f, m.c.data(), n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, m.gc.data(), n, m.b.data(), n, 0.0f, m.ga.data(), n);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, m.a.data(), n, m.gc.data(), n, 0.0f, m.gb.data(), n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 6.0 * n * n * n);
}

// ---- the GEMM backend on the workloads' shapes (bench/workloads.hpp) ----

struct GemmShape {
  const char* name;
  std::size_t batch;
  bool ta, tb;
  std::size_t M, N, K;
};

// mhsa_b16_t64_d256: the QKV projection, the MLP, their weight gradients, the 64 per-head score
// products; seq2seq_b64_h256: a GRU shard's input projection and its gradient; seq2seq_b1_h64: the
// batch-1 recurrent product and the attention context.
const std::vector<GemmShape> kGemmShapes = {
    {"mhsa_qkv_1024x768x256_bt", 1, false, true, 1024, 768, 256},
    {"mhsa_mlp_1024x1024x256_bt", 1, false, true, 1024, 1024, 256},
    {"mhsa_mlp_grad_1024x256x1024", 1, false, false, 1024, 256, 1024},
    {"mhsa_weight_grad_256x1024x1024_at", 1, true, false, 256, 1024, 1024},
    {"mhsa_scores_64x_64x64x64_bt", 64, false, true, 64, 64, 64},
    {"seq2seq_b64_gates_32x768x256_bt", 1, false, true, 32, 768, 256},
    {"seq2seq_b64_weight_grad_768x256x32_at", 1, true, false, 768, 256, 32},
    {"seq2seq_b1_gates_1x192x64_bt", 1, false, true, 1, 192, 64},
    {"seq2seq_b1_context_1x64x12", 1, false, false, 1, 64, 12},
};

void backend_gemm(benchmark::State& state, GemmShape s) {
  const std::size_t sa = s.M * s.K, sb = s.K * s.N, sc = s.M * s.N;
  std::vector<float> a(s.batch * sa, 0.5f), b(s.batch * sb, 0.25f), c(s.batch * sc);
  for (auto _ : state) {
    if (s.batch == 1) gemm<float>(s.ta, s.tb, s.M, s.N, s.K, a.data(), b.data(), 0.0f, c.data());
    else gemm_batched<float>(s.batch, s.ta, s.tb, s.M, s.N, s.K, a.data(), sa, b.data(), sb, 0.0f, c.data(), sc);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * double(s.batch * s.M * s.N * s.K));
}

#if SEQGRAD_BENCH_ONEDNN
// The same shapes on oneDNN's other float32 kernels: the matmul primitive (brgemm), where the
// backend calls dnnl_sgemm, one call per block of rows or per batch entry, on oneTBB's threads.
// Which is faster depends on the shape, the processor and the threading (bench/README.md has a
// run), so the comparison is here to be run on each machine kind. The primitive gets as many
// OpenMP threads as the backend has threads.
void check(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) throw std::runtime_error(std::string(what) + " failed: status " + std::to_string(int(status)));
}

void onednn_matmul(benchmark::State& state, GemmShape s) {
  const auto B = dnnl_dim_t(s.batch), M = dnnl_dim_t(s.M), N = dnnl_dim_t(s.N), K = dnnl_dim_t(s.K);
  // Row-major operands as the backend gets them; a transposed operand is a stride swap.
  const dnnl_dims_t a_dims{B, M, K}, b_dims{B, K, N}, c_dims{B, M, N};
  const dnnl_dims_t a_strides{M * K, s.ta ? 1 : K, s.ta ? M : 1}, b_strides{K * N, s.tb ? 1 : N, s.tb ? K : 1},
      c_strides{M * N, N, 1};
  dnnl_memory_desc_t a_md, b_md, c_md;
  check(dnnl_memory_desc_init_by_strides(&a_md, 3, a_dims, dnnl_f32, a_strides), "memory desc");
  check(dnnl_memory_desc_init_by_strides(&b_md, 3, b_dims, dnnl_f32, b_strides), "memory desc");
  check(dnnl_memory_desc_init_by_strides(&c_md, 3, c_dims, dnnl_f32, c_strides), "memory desc");
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create");
  check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags), "dnnl_stream_create");
  dnnl_matmul_desc_t desc;
  check(dnnl_matmul_desc_init(&desc, &a_md, &b_md, nullptr, &c_md), "dnnl_matmul_desc_init");
  dnnl_primitive_desc_t pd;
  check(dnnl_primitive_desc_create(&pd, &desc, nullptr, engine, nullptr), "dnnl_primitive_desc_create");
  const char* impl = nullptr;
  check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl), "impl query");
  state.SetLabel(impl);
  dnnl_primitive_t matmul;
  check(dnnl_primitive_create(&matmul, pd), "dnnl_primitive_create");
  std::vector<float> a(s.batch * s.M * s.K, 0.5f), b(s.batch * s.K * s.N, 0.25f), c(s.batch * s.M * s.N);
  dnnl_memory_t am, bm, cm;
  check(dnnl_memory_create(&am, &a_md, engine, a.data()), "dnnl_memory_create");
  check(dnnl_memory_create(&bm, &b_md, engine, b.data()), "dnnl_memory_create");
  check(dnnl_memory_create(&cm, &c_md, engine, c.data()), "dnnl_memory_create");
  const dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  omp_set_num_threads(int(gemm_threads()));
  for (auto _ : state) {
    check(dnnl_primitive_execute(matmul, stream, 3, args), "dnnl_primitive_execute");
    benchmark::ClobberMemory();
  }
  for (dnnl_memory_t m : {am, bm, cm}) dnnl_memory_destroy(m);
  dnnl_primitive_destroy(matmul);
  dnnl_primitive_desc_destroy(pd);
  dnnl_stream_destroy(stream);
  dnnl_engine_destroy(engine);
  set_flops(state, 2.0 * double(s.batch * s.M * s.N * s.K));
}
#endif

// ---- elementwise and softmax: elements per second ----

using Unary = Tensor (*)(const Tensor&);
using Binary = Tensor (*)(const Tensor&, const Tensor&);

Shape square(std::int64_t side) { return {std::size_t(side), std::size_t(side)}; }

void unary_forward(benchmark::State& state, Unary op) {
  const Tensor x = random_tensor(square(state.range(0)), false);
  for (auto _ : state) benchmark::DoNotOptimize(op(x).raw_data());
  state.SetItemsProcessed(state.iterations() * x.numel());
}

void unary_forward_backward(benchmark::State& state, Unary op) {
  const Tensor x = random_tensor(square(state.range(0)), true);
  const Tensor gy = Tensor::ones(x.shape());
  for (auto _ : state) backward(op(x), gy);
  state.SetItemsProcessed(state.iterations() * x.numel());
}

void binary_forward(benchmark::State& state, Binary op) {
  const Tensor a = random_tensor(square(state.range(0)), false), b = random_tensor(square(state.range(0)), false);
  for (auto _ : state) benchmark::DoNotOptimize(op(a, b).raw_data());
  state.SetItemsProcessed(state.iterations() * a.numel());
}

void binary_forward_backward(benchmark::State& state, Binary op) {
  const Tensor a = random_tensor(square(state.range(0)), true), b = random_tensor(square(state.range(0)), true);
  const Tensor gy = Tensor::ones(a.shape());
  for (auto _ : state) backward(op(a, b), gy);
  state.SetItemsProcessed(state.iterations() * a.numel());
}

// Rows of range(0) elements, 256 rows.
void softmax_forward(benchmark::State& state) {
  const Tensor x = random_tensor({256, std::size_t(state.range(0))}, false);
  for (auto _ : state) benchmark::DoNotOptimize(softmax(x, -1).raw_data());
  state.SetItemsProcessed(state.iterations() * x.numel());
}

void softmax_forward_backward(benchmark::State& state) {
  const Tensor x = random_tensor({256, std::size_t(state.range(0))}, true);
  const Tensor gy = random_tensor(x.shape(), false);  // not ones: the gradient of softmax against ones is 0
  for (auto _ : state) backward(softmax(x, -1), gy);
  state.SetItemsProcessed(state.iterations() * x.numel());
}

// ---- the fixed cost of an op: a chain of one-element multiplications ----

constexpr int kChain = 100;

Tensor tiny_chain(const Tensor& x, const Tensor& w) {
  Tensor y = x;
  for (int i = 0; i < kChain; ++i) y = mul(y, w);
  return y;
}

// Per-op time: the "per_op" counter is seconds per op (iteration time / kChain).
void set_per_op(benchmark::State& state) {
  state.counters["per_op"] = Counter(kChain, Counter::kIsIterationInvariantRate | Counter::kInvert);
}

void tiny_op_no_grad(benchmark::State& state) {
  const Tensor x = Tensor::scalar(1.0), w = Tensor::scalar(1.0);
  for (auto _ : state) benchmark::DoNotOptimize(tiny_chain(x, w).raw_data());
  set_per_op(state);
}

void tiny_op_record(benchmark::State& state) {
  const Tensor x = random_tensor({}, true), w = Tensor::scalar(1.0).requires_grad_();
  for (auto _ : state) benchmark::DoNotOptimize(tiny_chain(x, w).raw_data());
  set_per_op(state);
}

void tiny_op_record_backward(benchmark::State& state) {
  const Tensor x = random_tensor({}, true), w = Tensor::scalar(1.0).requires_grad_();
  for (auto _ : state) backward(tiny_chain(x, w));
  set_per_op(state);
}

// Rates use wall time: products run on oneTBB threads, whose work the benchmark thread's CPU time misses.
template <class... Args>
benchmark::internal::Benchmark* add(const std::string& name, Args&&... args) {
  return benchmark::RegisterBenchmark(name.c_str(), std::forward<Args>(args)...)->UseRealTime();
}

void register_all() {
  using Bench = void (*)(benchmark::State&);
  const std::vector<std::pair<std::string, Bench>> products = {{"matmul/forward", matmul_forward},
                                                               {"matmul/forward_backward", matmul_forward_backward},
                                                               {"sgemm/x1", sgemm},
                                                               {"sgemm/x3", sgemm_x3}};
  for (const auto& [name, fn] : products) add(name, fn)->Arg(64)->Arg(256)->Unit(benchmark::kMicrosecond);
  for (const GemmShape& s : kGemmShapes)
    add(std::string("gemm/") + s.name, backend_gemm, s)->Unit(benchmark::kMicrosecond);
#if SEQGRAD_BENCH_ONEDNN
  for (const GemmShape& s : kGemmShapes)
    add(std::string("onednn_matmul/") + s.name, onednn_matmul, s)->Unit(benchmark::kMicrosecond);
#endif

  // Sides 64, 256, 1024: 4 Ki, 64 Ki and 1 Mi elements.
  const std::vector<std::pair<std::string, Unary>> unary = {
      {"tanh", seqgrad::tanh}, {"sigmoid", seqgrad::sigmoid}, {"exp", seqgrad::exp}};
  for (const auto& [name, op] : unary) {
    add(name + "/forward", unary_forward, op)->RangeMultiplier(4)->Range(64, 1024);
    add(name + "/forward_backward", unary_forward_backward, op)->RangeMultiplier(4)->Range(64, 1024);
  }
  const std::vector<std::pair<std::string, Binary>> binary = {{"add", seqgrad::add}, {"mul", seqgrad::mul}};
  for (const auto& [name, op] : binary) {
    add(name + "/forward", binary_forward, op)->RangeMultiplier(4)->Range(64, 1024);
    add(name + "/forward_backward", binary_forward_backward, op)->RangeMultiplier(4)->Range(64, 1024);
  }

  add("softmax/forward", softmax_forward)->Arg(64)->Arg(256);
  add("softmax/forward_backward", softmax_forward_backward)->Arg(64)->Arg(256);

  add("tiny_op/no_grad", tiny_op_no_grad);
  add("tiny_op/record", tiny_op_record);
  add("tiny_op/record_backward", tiny_op_record_backward);
}

}  // namespace

int main(int argc, char** argv) {
  const Peak& p = peak();
  std::printf("seqgrad %s\nFP32 peak (%s FMA loop): %.1f GFLOP/s per core, %.1f on the %zu threads a product may use\n",
              backend_summary().c_str(), p.isa, p.gflops_per_core, p.gflops_per_core * double(gemm_threads()),
              gemm_threads());
  benchmark::AddCustomContext("seqgrad_backend", backend_summary());
  benchmark::AddCustomContext("fp32_peak_gflops_per_core", std::to_string(p.gflops_per_core));
  benchmark::AddCustomContext("fp32_peak_isa", p.isa);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
