#pragma once
// Threads: one setting for all of seqgrad's parallelism (oneTBB workers for data-parallel shards and
// large ops, and OpenBLAS's own threads), and a blocked parallel loop whose blocks do not depend on
// the number of threads, so results combined per block in block order are the same for any count.
#include <cstddef>
#include <functional>

namespace seqgrad {

// n = 0 means every core. Sets oneTBB's maximum parallelism and OpenBLAS's thread count.
void set_num_threads(std::size_t n);
std::size_t num_threads();  // the current setting (every core until set)

// OpenBLAS threads while this guard lives (1 inside data-parallel workers: the workers already use
// every core, and OpenBLAS threads inside them would oversubscribe).
class BlasThreadsGuard {
 public:
  explicit BlasThreadsGuard(std::size_t n);
  ~BlasThreadsGuard();
  BlasThreadsGuard(const BlasThreadsGuard&) = delete;
  BlasThreadsGuard& operator=(const BlasThreadsGuard&) = delete;

 private:
  int previous_;
};

// Calls body(begin, end) for the blocks [0, grain), [grain, 2 grain), ... of [0, n), in parallel
// when there is more than one block and more than one thread. Runs isolated: a thread waiting for
// these blocks does not pick up unrelated outer work.
void parallel_blocks(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& body);

}  // namespace seqgrad
