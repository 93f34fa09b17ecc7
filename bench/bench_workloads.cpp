// The benchmark suite against PyTorch: one full training step (forward, backward, Adam) of each
// workload in bench/workloads.hpp, in real time, with items = target tokens, so items_per_second is
// the tokens/s that bench/pytorch_reference.py prints for the same workload. scripts/compare.sh
// runs both and tabulates them. The CPU column is the whole process's CPU time (BLAS threads included):
// on a shared machine, CPU time per step at one thread is less disturbed by other load than real time.
//
// Run: ./build/bin/bench_workloads [--threads N] [--precision f32|bf16] [--benchmark_filter=seq2seq]
//        [--benchmark_min_time=2] [--benchmark_out=f.json --benchmark_out_format=json]
// Threads: --threads N or SEQGRAD_THREADS=N (see workloads.hpp); unset leaves the libraries' defaults.
// --precision bf16 runs every step inside an AutocastScope (bfloat16 products, float32 elsewhere).
// Under mpirun (-np P) the processes share each step's shards (seqgrad::distributed); rank 0 prints,
// every process runs the same fixed number of steps (about --benchmark_min_time, from the slowest
// process's first steps), and comm_ms / comm_bytes report the reduction's collectives per step.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "fma_peak.hpp"
#include "seqgrad/distributed/mpi.hpp"
#include "seqgrad/ops/backend.hpp"
#include "workloads.hpp"

namespace {

std::shared_ptr<seqgrad::nn::ProcessGroup> group;  // this process alone, or the MPI job's
seqgrad::Precision precision = seqgrad::Precision::f32;

// Takes --precision VALUE / --precision=VALUE out of argv (Google Benchmark refuses flags it does not know).
seqgrad::Precision precision_setting(int& argc, char** argv) {
  seqgrad::Precision p = seqgrad::Precision::f32;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--precision") {
      if (i + 1 >= argc) throw std::invalid_argument("--precision: needs a value (f32 or bf16)");
      p = seqgrad::parse_precision(argv[++i], "--precision");
    } else if (arg.rfind("--precision=", 0) == 0) {
      p = seqgrad::parse_precision(arg.substr(12), "--precision");
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  return p;
}

void BM_Workload(benchmark::State& state, const std::string& name) {
  const seqgrad::AutocastScope products(precision);  // every step below, profiled ones included
  auto workload = seqgrad::bench::make_workload(name, group);
  workload->step();  // the first step allocates the optimizer's and the pool's buffers
  double loss = 0, comm_seconds = 0, comm_bytes = 0, reduce_seconds = 0, exchange_seconds = 0;
  for (auto _ : state) {
    loss = workload->step();
    if (const auto* stats = workload->parallel_stats()) {
      comm_seconds += stats->communication_seconds;
      reduce_seconds += stats->reduce_seconds;
      exchange_seconds += stats->exchange_seconds;
      comm_bytes += static_cast<double>(stats->communication_bytes);
    }
  }
  state.counters["processes"] = static_cast<double>(group->size());
  state.counters["comm_ms"] = 1e3 * comm_seconds / static_cast<double>(state.iterations());
  state.counters["comm_bytes"] = comm_bytes / static_cast<double>(state.iterations());
  state.counters["exchange_ms"] = 1e3 * exchange_seconds / static_cast<double>(state.iterations());  // after the wait
  state.counters["reduce_ms"] = 1e3 * reduce_seconds / static_cast<double>(state.iterations());  // fixed-point both ways
  state.SetItemsProcessed(state.iterations() * workload->tokens_per_step());
  state.counters["tokens_per_step"] = static_cast<double>(workload->tokens_per_step());
  state.counters["loss"] = loss;
  state.counters["parameters"] = static_cast<double>(workload->parameter_count());
  // A few more steps, outside the timed loop, with the GEMM backend's profile on: the time per step
  // spent in matrix products (summed over threads), its share of the step and its FLOP rate.
  {
    constexpr int kProfiled = 3;
    seqgrad::set_gemm_profiling(true);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kProfiled; ++i) workload->step();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const seqgrad::GemmProfile p = seqgrad::gemm_profile();
    seqgrad::set_gemm_profiling(false);
    state.counters["gemm_ms_per_step"] = 1e3 * p.seconds / kProfiled;
    state.counters["gemm_share"] = p.seconds / seconds;
    state.counters["gemm_gflops"] = p.seconds > 0 ? p.flops / p.seconds / 1e9 : 0;
    state.counters["gemm_gflop_per_step"] = p.flops / 1e9 / kProfiled;  // the work, whatever its speed
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // the process's peak so far: run one workload per process to read it alone
  state.counters["peak_rss_kib"] = static_cast<double>(usage.ru_maxrss);
}

}  // namespace

int main(int argc, char** argv) {
  group = seqgrad::distributed::world();
  seqgrad::distributed::print_only_on_root(*group);
  const int threads = seqgrad::bench::thread_setting(argc, argv);
  try {
    precision = precision_setting(argc, argv);
    const seqgrad::AutocastScope check(precision);  // refuses bf16 here, before anything runs, on a CPU without it
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_workloads: %s\n", e.what());
    return 2;
  }
  seqgrad::bench::apply_thread_setting(threads);
  if (!group->is_root()) {  // one JSON file, from rank 0
    int kept = 1;
    for (int i = 1; i < argc; ++i)
      if (std::strncmp(argv[i], "--benchmark_out", 15) != 0) argv[kept++] = argv[i];
    argc = kept;
  }
  double min_time = 0.5;  // Google Benchmark's default
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_min_time=", 21) == 0) min_time = std::atof(argv[i] + 21);
  for (const auto& name : seqgrad::bench::workload_names()) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_Workload, name)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
    if (group->size() > 1) {
      // Every process must take the same number of steps (each is a collective): decide from the
      // slowest process's time for a few steps, rather than let each process's timer decide.
      const seqgrad::AutocastScope products(precision);
      auto w = seqgrad::bench::make_workload(name, group);
      w->step();
      const auto start = std::chrono::steady_clock::now();
      for (int k = 0; k < 3; ++k) w->step();
      double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 3;
      group->allreduce_max(&step_seconds, 1);
      b->Iterations(static_cast<benchmark::IterationCount>(std::max(10.0, std::ceil(min_time / step_seconds))));
    }
  }
  benchmark::AddCustomContext("seqgrad_threads", threads > 0 ? std::to_string(threads) : "default");
  benchmark::AddCustomContext("seqgrad_backend", seqgrad::backend_summary());
  benchmark::AddCustomContext("seqgrad_precision", seqgrad::to_string(precision));
  benchmark::AddCustomContext("seqgrad_processes", std::to_string(group->size()));
  // With gemm_gflop_per_step: the least time a step's matrix products could take on this machine.
  benchmark::AddCustomContext("fp32_peak_gflops_per_core", std::to_string(seqgrad::bench::peak().gflops_per_core));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
