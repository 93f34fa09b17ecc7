#include "seqgrad/nn/data_parallel.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/elementwise.hpp"

namespace seqgrad::nn {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int ceil_log2(std::size_t n) {
  int k = 0;
  while ((std::size_t{1} << k) < n) ++k;
  return k;
}

// x * 2^e, exactly (a power-of-two scale), also where 2^e alone would overflow or underflow a double.
inline double times_pow2(double x, double scale, int e, bool direct) { return direct ? x * scale : std::ldexp(x, e); }

}  // namespace

DataParallel::DataParallel(std::vector<Tensor> parameters, std::shared_ptr<ProcessGroup> group)
    : params_(std::move(parameters)), group_(group ? std::move(group) : single_process()) {
  for (const Tensor& p : params_)
    if (!p.requires_grad() || p.grad_fn() == nullptr)
      throw std::invalid_argument("DataParallel: every parameter must be a leaf that requires grad, got " +
                                  to_string(p.shape()) + (p.name().empty() ? "" : " '" + p.name() + "'"));
  std::size_t total = 0;
  for (const Tensor& p : params_) {
    offsets_.push_back(total);
    total += p.numel();
  }
  sums_.assign(total, 0);
}

double DataParallel::backward(std::size_t num_shards, const std::function<Tensor(std::size_t)>& shard_loss) {
  if (num_shards == 0) throw std::invalid_argument("DataParallel::backward: no shards");
  ProcessGroup& group = *group_;
  const std::size_t processes = group.size(), rank = group.rank();
  stats_ = DataParallelStats{.shards = num_shards};
  std::vector<std::size_t> mine;  // this process's shards, in shard order
  for (std::size_t s = 0; s < num_shards; ++s)
    if (shard_owner(s, processes) == rank) mine.push_back(s);
  stats_.local_shards = mine.size();
  while (shard_grads_.size() < mine.size()) {
    std::vector<Tensor> grads;
    for (const Tensor& p : params_) grads.push_back(Tensor::zeros(p.shape(), p.dtype()));
    shard_grads_.push_back(std::move(grads));
  }
  for (std::size_t j = 0; j < mine.size(); ++j)
    for (Tensor& g : shard_grads_[j]) g.fill_(0.0);

  // ---- the local shards, on this process's threads ----
  auto t = Clock::now();
  std::vector<double> losses(mine.size(), 0.0);
  {
    BlasThreadsGuard single_threaded_blas(1);
    auto run_shard = [&](std::size_t j) {
      GradSinks sinks;
      for (std::size_t p = 0; p < params_.size(); ++p) sinks[params_[p].impl()] = &shard_grads_[j][p];
      const Tensor loss = shard_loss(mine[j]);
      if (loss.numel() != 1)
        throw std::invalid_argument("DataParallel::backward: shard " + std::to_string(mine[j]) + "'s loss has shape " +
                                    to_string(loss.shape()) + ", not a scalar");
      losses[j] = loss.item();
      seqgrad::backward(loss, Tensor(), BackwardOptions{.grad_sinks = &sinks});
    };
    oneapi::tbb::this_task_arena::isolate([&] {
      oneapi::tbb::parallel_for(
          oneapi::tbb::blocked_range<std::size_t>(0, mine.size(), 1),
          [&](const oneapi::tbb::blocked_range<std::size_t>& r) {
            for (std::size_t j = r.begin(); j != r.end(); ++j) run_shard(j);
          },
          oneapi::tbb::simple_partitioner());
    });
  }
  stats_.compute_seconds = seconds_since(t);

  // ---- 1. each parameter's largest |element| over every shard (+inf when one is not finite) ----
  t = Clock::now();
  std::vector<double> largest(params_.size(), 0.0);
  parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p)
      dispatch_float(params_[p].dtype(), "DataParallel::backward", [&](auto tag) {
        using T = decltype(tag);
        T m = 0, finite = 0;  // finite stays 0 unless an element is inf or NaN (x - x)
        for (std::size_t j = 0; j < mine.size(); ++j) {
          const T* d = shard_grads_[j][p].data<T>();
          for (std::size_t i = 0, n = params_[p].numel(); i < n; ++i) {
            const T a = std::abs(d[i]);
            m = a > m ? a : m;
            finite += d[i] - d[i];
          }
        }
        largest[p] = finite == 0 ? static_cast<double>(m) : std::numeric_limits<double>::infinity();
      });
  });
  stats_.reduce_seconds += seconds_since(t);
  if (processes > 1) {
    t = Clock::now();
    group.allreduce_max(largest.data(), largest.size());
    stats_.communication_seconds += seconds_since(t);
    stats_.communication_bytes += largest.size() * sizeof(double);
  }

  // ---- 2. every shard rounded to int64 at 2^e and summed exactly ----
  // |q| <= 2^bits for each shard, so the sum of num_shards of them stays below 2^62.
  t = Clock::now();
  const int bits = 62 - ceil_log2(num_shards);
  std::vector<int> exponent(params_.size(), 0);
  for (std::size_t p = 0; p < params_.size(); ++p) {
    if (largest[p] > 0 && std::isfinite(largest[p])) {
      int k = 0;
      std::frexp(largest[p], &k);  // largest < 2^k
      exponent[p] = bits - k;
    }
  }
  parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p)
      dispatch_float(params_[p].dtype(), "DataParallel::backward", [&](auto tag) {
        using T = decltype(tag);
        const std::size_t n = params_[p].numel();
        std::int64_t* q = sums_.data() + offsets_[p];
        std::fill_n(q, n, 0);
        if (!(largest[p] > 0 && std::isfinite(largest[p]))) return;  // all zero, or not finite (step 4)
        const int e = exponent[p];
        const bool direct = e > -1000 && e < 1000;
        const double scale = direct ? std::ldexp(1.0, e) : 0.0;
        for (std::size_t j = 0; j < mine.size(); ++j) {
          const T* d = shard_grads_[j][p].data<T>();
          for (std::size_t i = 0; i < n; ++i) q[i] += std::llrint(times_pow2(static_cast<double>(d[i]), scale, e, direct));
        }
      });
  });
  stats_.reduce_seconds += seconds_since(t);

  // ---- 3. the integers of every process, summed (exact: any order gives the same) ----
  std::vector<double> gathered;
  const std::size_t per_process = (num_shards + processes - 1) / processes;  // shards per process, at most
  if (processes > 1) {
    t = Clock::now();
    group.allreduce_sum(sums_.data(), sums_.size());
    std::vector<double> send(per_process, 0.0);
    for (std::size_t j = 0; j < mine.size(); ++j) send[j] = losses[j];
    gathered.resize(per_process * processes);
    group.allgather(send.data(), per_process, gathered.data());
    stats_.communication_seconds += seconds_since(t);
    stats_.communication_bytes += sums_.size() * sizeof(std::int64_t) + per_process * sizeof(double);
  }

  // ---- 4. back to the parameters' dtype, added into .grad ----
  t = Clock::now();
  parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p) {
      Tensor& grad = params_[p].grad();
      if (!grad.defined()) grad = Tensor::zeros(params_[p].shape(), params_[p].dtype());
      dispatch_float(grad.dtype(), "DataParallel::backward", [&](auto tag) {
        using T = decltype(tag);
        T* g = grad.data<T>();
        const std::size_t n = grad.numel();
        if (largest[p] == 0) return;
        if (!std::isfinite(largest[p])) {
          for (std::size_t i = 0; i < n; ++i) g[i] += std::numeric_limits<T>::quiet_NaN();
          return;
        }
        const int e = -exponent[p];
        const bool direct = e > -1000 && e < 1000;
        const double scale = direct ? std::ldexp(1.0, e) : 0.0;
        const std::int64_t* q = sums_.data() + offsets_[p];
        for (std::size_t i = 0; i < n; ++i) g[i] += static_cast<T>(times_pow2(static_cast<double>(q[i]), scale, e, direct));
      });
    }
  });
  stats_.reduce_seconds += seconds_since(t);

  // The loss: shard losses in shard order, wherever they ran.
  double total = 0;
  for (std::size_t s = 0; s < num_shards; ++s)
    total += processes > 1 ? gathered[shard_owner(s, processes) * per_process + s / processes] : losses[s];
  return total;
}

}  // namespace seqgrad::nn
