// parallel_blocks: every block runs exactly once, with bounds that do not depend on the thread
// count, and the blocks' writes are all seen by the caller afterwards. Small enough to run under
// ThreadSanitizer (tests/tsan), where the hand-over of the blocks to oneTBB's workers is checked.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "seqgrad/graph/parallel.hpp"

#include <pthread.h>
#include <oneapi/tbb/task_arena.h>

using namespace seqgrad;

TEST(ParallelBlocks, EveryBlockOnceWithTheSameBoundsForAnyThreadCount) {
  const std::size_t saved = num_threads();
  for (std::size_t threads : {1, 2, 4}) {
    set_num_threads(threads);
    constexpr std::size_t n = 1000, grain = 64;
    std::vector<int> runs(n, 0);          // each element written by one block only
    std::vector<std::size_t> ends(n, 0);  // the block's end, at its begin
    std::atomic<int> blocks{0};
    parallel_blocks(n, grain, [&](std::size_t begin, std::size_t end) {
      ends[begin] = end;
      for (std::size_t i = begin; i < end; ++i) ++runs[i];
      ++blocks;
    });
    EXPECT_EQ(blocks.load(), 16) << threads << " threads";
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(runs[i], 1) << i;
    for (std::size_t b = 0; b < n; b += grain) EXPECT_EQ(ends[b], std::min(n, b + grain));
  }
  set_num_threads(saved);
}

TEST(ParallelBlocks, NestedLoopsFinishAndSeeTheirOwnWrites) {
  const std::size_t saved = num_threads();
  set_num_threads(4);
  std::vector<std::vector<double>> rows(8, std::vector<double>(256, 0.0));
  parallel_blocks(rows.size(), 1, [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r)
      parallel_blocks(rows[r].size(), 32, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) rows[r][i] = static_cast<double>(r * 1000 + i);
      });
  });
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t i = 0; i < rows[r].size(); ++i) ASSERT_EQ(rows[r][i], static_cast<double>(r * 1000 + i));
  set_num_threads(saved);
}

// A block's exception reaches the caller (oneTBB may skip the blocks not yet started), and the
// loops after it run as before.
TEST(ParallelBlocks, ABlocksExceptionReachesTheCallerAndLaterLoopsRun) {
  const std::size_t saved = num_threads();
  set_num_threads(2);
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_blocks(8, 1,
                               [&](std::size_t b, std::size_t) {
                                 ++ran;
                                 if (b == 3) throw std::runtime_error("block 3");
                               }),
               std::runtime_error);
  EXPECT_GE(ran.load(), 1);
  std::vector<int> runs(100, 0);
  parallel_blocks(100, 10, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) ++runs[i];
  });
  for (int r : runs) ASSERT_EQ(r, 1);
  set_num_threads(saved);
}

// Loops from two threads at once (each thread its own graph, as in DataParallel's workers), and
// loops separated by pauses longer than the workers stay awake: every block runs once each time.
TEST(ParallelBlocks, LoopsFromTwoThreadsAndAfterPausesRunEveryBlockOnce) {
  const std::size_t saved = num_threads();
  set_num_threads(2);
  auto loops = [](int count, int pause_us) {
    for (int k = 0; k < count; ++k) {
      if (pause_us) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
      std::vector<int> runs(512, 0);
      parallel_blocks(runs.size(), 16, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) ++runs[i];
      });
      for (int r : runs) ASSERT_EQ(r, 1);
    }
  };
  std::thread other([&] { loops(200, 0); });
  loops(200, 0);
  other.join();
  loops(5, 3000);  // 3 ms: past the workers' spin, they sleep and are woken
  set_num_threads(saved);
}

// oneTBB's workers block SIGINT and SIGTERM before they run a block, and the calling thread keeps
// them: a program's stop handler then runs only on its own threads, never on a worker in the middle
// of a JIT kernel (see keep_stop_signals_off_this_worker). Loops of slow blocks until a worker has
// taken one.
TEST(ParallelBlocks, WorkersBlockTheStopSignalsAndTheCallerKeepsThem) {
  const std::size_t saved = num_threads();
  set_num_threads(2);
  const auto blocked = [](int signal) {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    return sigismember(&mask, signal) == 1;
  };
  std::mutex m;
  std::size_t worker_blocks = 0, caller_blocks = 0;
  for (int attempt = 0; attempt < 50 && worker_blocks == 0; ++attempt)
    parallel_blocks(8, 1, [&](std::size_t, std::size_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      const bool worker = oneapi::tbb::this_task_arena::current_thread_index() > 0;
      std::lock_guard lock(m);
      (worker ? worker_blocks : caller_blocks)++;
      EXPECT_EQ(blocked(SIGINT), worker);
      EXPECT_EQ(blocked(SIGTERM), worker);
    });
  EXPECT_GT(worker_blocks, 0u) << "no block ran on a worker in 50 loops";
  EXPECT_GT(caller_blocks, 0u);
  EXPECT_FALSE(blocked(SIGINT));
  set_num_threads(saved);
}
