#include "seqgrad/graph/parallel.hpp"

#include <dlfcn.h>

#include <memory>
#include <mutex>
#include <thread>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

namespace seqgrad {

namespace {

// OpenBLAS's thread controls, looked up at run time: the BLAS behind BLAS::BLAS may be another
// implementation (reference BLAS has no threads to control).
using SetThreads = void (*)(int);
using GetThreads = int (*)();
SetThreads blas_set() { static auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); return f; }
GetThreads blas_get() { static auto f = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); return f; }

std::mutex settings_mutex;
std::unique_ptr<oneapi::tbb::global_control> tbb_limit;
std::size_t current_threads = 0;

std::size_t all_cores() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

void set_num_threads(std::size_t n) {
  std::lock_guard lock(settings_mutex);
  const std::size_t threads = n == 0 ? all_cores() : n;
  tbb_limit.reset();
  tbb_limit = std::make_unique<oneapi::tbb::global_control>(oneapi::tbb::global_control::max_allowed_parallelism, threads);
  if (auto set = blas_set()) set(static_cast<int>(threads));
  current_threads = threads;
}

std::size_t num_threads() {
  std::lock_guard lock(settings_mutex);
  return current_threads == 0 ? all_cores() : current_threads;
}

BlasThreadsGuard::BlasThreadsGuard(std::size_t n) : previous_(blas_get() ? blas_get()() : 0) {
  if (auto set = blas_set()) set(static_cast<int>(n));
}

BlasThreadsGuard::~BlasThreadsGuard() {
  if (auto set = blas_set(); set && previous_ > 0) set(previous_);
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
          for (std::size_t b = r.begin(); b != r.end(); ++b) body(b * grain, std::min(n, (b + 1) * grain));
        },
        oneapi::tbb::simple_partitioner());
  });
}

}  // namespace seqgrad
