// Memory over a long run of one workload: runs STEPS training steps and prints the resident set
// after step 100 and at the end, and the peak (getrusage ru_maxrss). A steady trainer's memory is
// flat once its buffers exist: growth after step 100 means something accumulates per step.
//
// Run: ./build/bin/workload_memory NAME STEPS [--threads N] [--json]
//   NAME one of seq2seq_b64_h256, seq2seq_b1_h64, mhsa_b16_t64_d256, or gru_penalty_b16_t8_h64
//   (a loss with a gradient penalty: every step records a gradient with create_graph).
// Exit status 0 when the end RSS is within 5% of the RSS after step 100, 3 when it grew more.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "workloads.hpp"

namespace {

// Current resident set in KiB, from /proc/self/status (VmRSS).
long current_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = seqgrad::bench::thread_setting(argc, argv);
  bool json = false;
  if (argc > 1 && std::strcmp(argv[argc - 1], "--json") == 0) {
    json = true;
    --argc;
  }
  if (argc != 3) {
    std::cerr << "usage: workload_memory NAME STEPS [--threads N] [--json]\n";
    return 2;
  }
  seqgrad::bench::apply_thread_setting(threads);
  const std::string name = argv[1];
  const long steps = std::stol(argv[2]);
  if (steps < 100) {
    std::cerr << "workload_memory: STEPS must be at least 100 (the reference point is step 100)\n";
    return 2;
  }
  try {
    auto workload = seqgrad::bench::make_workload(name);
    long rss_at_100 = 0;
    double first_loss = 0, last_loss = 0;
    const auto start = std::chrono::steady_clock::now();
    for (long s = 1; s <= steps; ++s) {
      last_loss = workload->step();
      if (s == 1) first_loss = last_loss;
      if (s == 100) rss_at_100 = current_rss_kib();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const long rss_end = current_rss_kib(), peak = peak_rss_kib();
    const double growth = rss_at_100 > 0 ? double(rss_end - rss_at_100) / double(rss_at_100) : 0.0;
    if (json) {
      std::printf(
          "{\"workload\": \"%s\", \"steps\": %ld, \"rss_after_100_kib\": %ld, \"rss_end_kib\": %ld, "
          "\"peak_rss_kib\": %ld, \"growth_after_100\": %.4f, \"first_loss\": %.6f, \"last_loss\": %.6f, "
          "\"ms_per_step\": %.4f, \"parameters\": %lld}\n",
          name.c_str(), steps, rss_at_100, rss_end, peak, growth, first_loss, last_loss, 1e3 * seconds / double(steps),
          static_cast<long long>(workload->parameter_count()));
    } else {
      std::printf("%s: %ld steps, %.3f ms/step, loss %.4f -> %.4f\n", name.c_str(), steps, 1e3 * seconds / double(steps),
                  first_loss, last_loss);
      std::printf("  RSS after step 100: %ld KiB\n  RSS at the end:     %ld KiB (%+.2f%%)\n  peak RSS:           %ld KiB\n",
                  rss_at_100, rss_end, 100.0 * growth, peak);
    }
    return growth > 0.05 ? 3 : 0;
  } catch (const std::exception& e) {
    std::cerr << "workload_memory: " << e.what() << "\n";
    return 2;
  }
}
