#pragma once
// Data-parallel gradients on the CPU cores. A minibatch is cut into shards of a fixed size (not one
// per thread); oneTBB workers process the shards, each building its own graph on its worker's tape
// with the parameters shared read-only, and each shard's backward adds its parameter gradients into
// that shard's own buffers. The buffers are then summed into the parameters' .grad by shard index,
// not by finishing time, so losses and parameters are bitwise the same for any number of threads.
//
//   nn::DataParallel parallel(model.parameters());
//   double loss = parallel.backward(num_shards, [&](std::size_t s) { return shard_loss(s); });
//   optimizer.step();
//
// shard_loss(s) returns shard s's share of the minibatch loss (for a mean over all target tokens:
// the shard's token-summed loss divided by the minibatch's token count), so the gradients add up
// to the minibatch's. It runs on a worker thread: whatever it draws at random must come from a
// generator of its own (seeded by shard), never from a shared one.
#include <cstddef>
#include <functional>
#include <vector>

#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

class DataParallel {
 public:
  explicit DataParallel(std::vector<Tensor> parameters);

  // Runs every shard, then adds the shard gradients into each parameter's .grad (which, as after
  // any backward, accumulates until zeroed). Returns the sum of the shard losses, in shard order.
  // OpenBLAS runs single-threaded meanwhile: the shards already use the cores.
  double backward(std::size_t num_shards, const std::function<Tensor(std::size_t shard)>& shard_loss);

 private:
  std::vector<Tensor> params_;
  std::vector<std::vector<Tensor>> shard_grads_;  // [shard][parameter], kept between steps
};

}  // namespace seqgrad::nn
