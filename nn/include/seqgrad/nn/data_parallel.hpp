#pragma once
// Data-parallel gradients on the CPU cores, and across processes. A minibatch is cut into shards of
// a fixed size (not one per thread or process); shard s runs on process s mod P (shard_owner in
// process_group.hpp; P = 1 without MPI), where oneTBB workers process that process's shards, each
// building its own graph on its worker's tape with the parameters shared read-only, and each
// shard's backward adds its parameter gradients into that shard's own buffers. The shards'
// gradients are then combined by a reduction whose result does not depend on where or when a shard
// ran, so losses and parameters are bitwise the same for any number of threads and processes:
//
//   exact fixed-point sums. For each parameter tensor, M = the largest |gradient element| over all
//   shards (a max: the same in any order; across processes an allreduce of maxima), and a scale
//   2^e with M * 2^e < 2^(50 - ceil(log2 S)) for S shards. Each shard's gradient is scaled by 2^e
//   (exact) and rounded to an integer (int64), and the integers are summed (exact, so in any order:
//   threads, then an integer allreduce across processes); the sum times 2^-e, rounded once to the
//   parameter's dtype, is added to .grad. Each element of a shard is off by at most half a unit of
//   2^-e, i.e. at most 2^-(50 - ceil(log2 S)) of M (2^-49, about 2e-15, for 2 shards): far below
//   float32's rounding of a float sum (2^-24). The sums stay below 2^50, so the conversions run
//   as vectorized double arithmetic. A non-finite gradient anywhere makes that parameter's sum NaN.
//
// The loss is the sum of the shard losses taken in shard order (gathered from every process).
//
//   nn::DataParallel parallel(model.parameters());            // or (params, distributed::world())
//   double loss = parallel.backward(num_shards, [&](std::size_t s) { return shard_loss(s); });
//   optimizer.step();
//
// shard_loss(s) returns shard s's share of the minibatch loss (for a mean over all target tokens:
// the shard's token-summed loss divided by the minibatch's token count), so the gradients add up
// to the minibatch's. It runs on a worker thread, and only on the process that owns shard s:
// whatever it draws at random must come from a generator of its own (seeded by shard), never from
// a shared one.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "seqgrad/nn/module.hpp"
#include "seqgrad/nn/process_group.hpp"

namespace seqgrad::nn {

// What the last backward spent, on this process.
struct DataParallelStats {
  std::size_t shards = 0;               // of the step
  std::size_t local_shards = 0;         // run here
  double compute_seconds = 0;           // forward and backward of the local shards
  double reduce_seconds = 0;            // fixed-point conversion both ways (local work)
  double communication_seconds = 0;     // inside the group's collectives (0 for one process), including
                                        // waiting in the first one for the slowest process's shards
  double exchange_seconds = 0;          // of which the integer sums and the losses, once all have arrived
  std::size_t communication_bytes = 0;  // payload this process contributed to collectives (0 for one process)
};

class DataParallel {
 public:
  // `group`: the processes that share the shards; null means this process alone.
  explicit DataParallel(std::vector<Tensor> parameters, std::shared_ptr<ProcessGroup> group = nullptr);

  // Runs this process's shards, then adds the sum of every shard's gradient into each parameter's
  // .grad (which, as after any backward, accumulates until zeroed): the same bits on every process.
  // Returns the sum of the shard losses, in shard order. OpenBLAS runs single-threaded meanwhile:
  // the shards already use the cores. Every process of the group must call it with the same
  // num_shards.
  double backward(std::size_t num_shards, const std::function<Tensor(std::size_t shard)>& shard_loss);

  const DataParallelStats& last_step() const { return stats_; }
  ProcessGroup& group() const { return *group_; }

 private:
  std::vector<Tensor> params_;
  std::shared_ptr<ProcessGroup> group_;
  std::vector<std::vector<Tensor>> shard_grads_;  // [local shard][parameter], kept between steps
  std::vector<std::size_t> offsets_;              // parameter p's elements start at offsets_[p] in sums_
  std::vector<std::int64_t> sums_;                // the fixed-point sums of every parameter, kept between steps
  DataParallelStats stats_;
};

}  // namespace seqgrad::nn
