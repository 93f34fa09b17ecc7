#pragma once
// Threads: one setting for all of seqgrad's parallelism (oneTBB workers for data-parallel shards and
// large ops; the matrix-product backend in ops reads it when a product runs, see
// seqgrad/ops/backend.hpp), and a blocked parallel loop whose blocks do not depend on
// the number of threads, so results combined per block in block order are the same for any count.
#include <cstddef>
#include <functional>

namespace seqgrad {

// n = 0 means every core. Sets oneTBB's maximum parallelism and the threads of matrix products.
void set_num_threads(std::size_t n);
std::size_t num_threads();  // the current setting (every core until set)

// Calls body(begin, end) for the blocks [0, grain), [grain, 2 grain), ... of [0, n), in parallel
// when there is more than one block and more than one thread. Runs isolated: a thread waiting for
// these blocks does not pick up unrelated outer work.
void parallel_blocks(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& body);

}  // namespace seqgrad
