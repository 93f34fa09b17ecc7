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

// Called by seqgrad's oneTBB tasks before they compute: on a oneTBB worker thread it blocks SIGINT
// and SIGTERM (once per thread), so that those signals reach the program's own threads only. A
// signal handler runs on the stack of the thread it interrupts, below its stack pointer, where
// oneDNN 2.6's JIT float32 kernels keep data: under a stream of signals a loop of dnnl_sgemm calls
// corrupted the heap within seconds (none on an alternate signal stack, none without signals). A
// program that handles these signals runs its handler on an alternate stack (sigaltstack) on the
// threads that take them (examples/seq2seq/recipe.cpp does).
void keep_stop_signals_off_this_worker();

}  // namespace seqgrad
