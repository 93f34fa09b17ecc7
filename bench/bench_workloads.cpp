// The benchmark suite against PyTorch: one full training step (forward, backward, Adam) of each
// workload in bench/workloads.hpp, in real time, with items = target tokens, so items_per_second is
// the tokens/s that bench/pytorch_reference.py prints for the same workload. scripts/compare.sh
// runs both and tabulates them. The CPU column is the whole process's CPU time (BLAS threads included):
// on a shared machine, CPU time per step at one thread is less disturbed by other load than real time.
//
// Run: ./build/bin/bench_workloads [--threads N] [--benchmark_filter=seq2seq]
//        [--benchmark_min_time=2] [--benchmark_out=f.json --benchmark_out_format=json]
// Threads: --threads N or SEQGRAD_THREADS=N (see workloads.hpp); unset leaves the libraries' defaults.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include "seqgrad/ops/backend.hpp"
#include "workloads.hpp"

namespace {

void BM_Workload(benchmark::State& state, const std::string& name) {
  auto workload = seqgrad::bench::make_workload(name);
  workload->step();  // the first step allocates the optimizer's and the pool's buffers
  double loss = 0;
  for (auto _ : state) loss = workload->step();
  state.SetItemsProcessed(state.iterations() * workload->tokens_per_step());
  state.counters["tokens_per_step"] = static_cast<double>(workload->tokens_per_step());
  state.counters["loss"] = loss;
  state.counters["parameters"] = static_cast<double>(workload->parameter_count());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // the process's peak so far: run one workload per process to read it alone
  state.counters["peak_rss_kib"] = static_cast<double>(usage.ru_maxrss);
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = seqgrad::bench::thread_setting(argc, argv);
  seqgrad::bench::apply_thread_setting(threads);
  for (const auto& name : seqgrad::bench::workload_names())
    benchmark::RegisterBenchmark(name.c_str(), BM_Workload, name)->Unit(benchmark::kMillisecond)->UseRealTime()->MeasureProcessCPUTime();
  benchmark::AddCustomContext("seqgrad_threads", threads > 0 ? std::to_string(threads) : "default");
  benchmark::AddCustomContext("seqgrad_backend", seqgrad::backend_summary());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
