#include "seqgrad/nn/data_parallel.hpp"

#include <stdexcept>
#include <unordered_map>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/ops/elementwise.hpp"

namespace seqgrad::nn {

DataParallel::DataParallel(std::vector<Tensor> parameters) : params_(std::move(parameters)) {
  for (const Tensor& p : params_)
    if (!p.requires_grad() || p.grad_fn() == nullptr)
      throw std::invalid_argument("DataParallel: every parameter must be a leaf that requires grad, got " +
                                  to_string(p.shape()) + (p.name().empty() ? "" : " '" + p.name() + "'"));
}

double DataParallel::backward(std::size_t num_shards, const std::function<Tensor(std::size_t)>& shard_loss) {
  if (num_shards == 0) throw std::invalid_argument("DataParallel::backward: no shards");
  while (shard_grads_.size() < num_shards) {
    std::vector<Tensor> grads;
    for (const Tensor& p : params_) grads.push_back(Tensor::zeros(p.shape(), p.dtype()));
    shard_grads_.push_back(std::move(grads));
  }
  for (std::size_t s = 0; s < num_shards; ++s)
    for (Tensor& g : shard_grads_[s]) g.fill_(0.0);

  std::vector<double> losses(num_shards, 0.0);
  {
    auto run_shard = [&](std::size_t s) {
      GemmThreadsScope single_threaded_gemm(1);  // per worker thread: the workers already use every core
      GradSinks sinks;
      for (std::size_t p = 0; p < params_.size(); ++p) sinks[params_[p].impl()] = &shard_grads_[s][p];
      const Tensor loss = shard_loss(s);
      if (loss.numel() != 1)
        throw std::invalid_argument("DataParallel::backward: shard " + std::to_string(s) + "'s loss has shape " +
                                    to_string(loss.shape()) + ", not a scalar");
      losses[s] = loss.item();
      seqgrad::backward(loss, Tensor(), BackwardOptions{.grad_sinks = &sinks});
    };
    oneapi::tbb::this_task_arena::isolate([&] {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<std::size_t>(0, num_shards, 1),
          [&](const oneapi::tbb::blocked_range<std::size_t>& r) {
            for (std::size_t s = r.begin(); s != r.end(); ++s) run_shard(s);
          },
          oneapi::tbb::simple_partitioner());
    });
  }

  // grad += shard 0 + shard 1 + ... in this order, whatever order the shards finished in.
  parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p) {
      Tensor& grad = params_[p].grad();
      if (!grad.defined()) grad = Tensor::zeros(params_[p].shape(), params_[p].dtype());
      dispatch_float(grad.dtype(), "DataParallel::backward", [&](auto tag) {
        using T = decltype(tag);
        T* g = grad.data<T>();
        for (std::size_t s = 0; s < num_shards; ++s) {
          const T* d = shard_grads_[s][p].data<T>();
          for (std::size_t i = 0, n = grad.numel(); i < n; ++i) g[i] += d[i];
        }
      });
    }
  });
  double total = 0;
  for (double l : losses) total += l;
  return total;
}

}  // namespace seqgrad::nn
