// parallel_blocks: every block runs exactly once, with bounds that do not depend on the thread
// count, and the blocks' writes are all seen by the caller afterwards. Small enough to run under
// ThreadSanitizer (tests/tsan), where the hand-over of the blocks to oneTBB's workers is checked.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "seqgrad/graph/parallel.hpp"

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
