#include "seqgrad/graph/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <pthread.h>
#include <signal.h>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

namespace seqgrad {

namespace {

std::mutex settings_mutex;
std::unique_ptr<oneapi::tbb::global_control> tbb_limit;
std::atomic<std::size_t> current_threads{0};  // read on every matrix product: no lock

std::size_t all_cores() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

void set_num_threads(std::size_t n) {
  std::lock_guard lock(settings_mutex);
  const std::size_t threads = n == 0 ? all_cores() : n;
  tbb_limit.reset();
  tbb_limit = std::make_unique<oneapi::tbb::global_control>(oneapi::tbb::global_control::max_allowed_parallelism, threads);
  current_threads.store(threads, std::memory_order_relaxed);
}

std::size_t num_threads() {
  const std::size_t n = current_threads.load(std::memory_order_relaxed);
  if (n != 0) return n;
  static const std::size_t cores = all_cores();
  return cores;
}

void keep_stop_signals_off_this_worker() {
  thread_local bool done = false;
  if (done) return;
  done = true;
  // Slot 0 of an arena is the thread that entered it, never one of oneTBB's workers.
  if (oneapi::tbb::this_task_arena::current_thread_index() <= 0) return;
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
}

void parallel_blocks(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& body) {
  if (grain == 0) grain = 1;
  const std::size_t blocks = (n + grain - 1) / grain;
  if (blocks <= 1 || num_threads() == 1) {
    for (std::size_t b = 0; b < blocks; ++b) body(b * grain, std::min(n, (b + 1) * grain));
    return;
  }
  oneapi::tbb::this_task_arena::isolate([&] {
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<std::size_t>(0, blocks, 1),
        [&](const oneapi::tbb::blocked_range<std::size_t>& r) {
          keep_stop_signals_off_this_worker();
          for (std::size_t b = r.begin(); b != r.end(); ++b) body(b * grain, std::min(n, (b + 1) * grain));
        },
        oneapi::tbb::simple_partitioner());
  });
}

}  // namespace seqgrad
