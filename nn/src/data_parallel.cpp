#include "seqgrad/nn/data_parallel.hpp"

#include <bit>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/ops/backend.hpp"
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

// Conversions between doubles and integers of magnitude below 2^51 by adding 1.5 x 2^52 (the
// integer then sits in the mantissa): to_fixed rounds to nearest (even on ties), both are exact
// otherwise, and unlike a cast both vectorize on AVX2.
constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52
inline std::int64_t to_fixed(double x) { return std::bit_cast<std::int64_t>(x + kMagic) - std::bit_cast<std::int64_t>(kMagic); }
inline double from_fixed(std::int64_t q) { return std::bit_cast<double>(q + std::bit_cast<std::int64_t>(kMagic)) - kMagic; }

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
  // Zeroed in place (Tensor::zero_grad's rule would replace a recorded gradient): the shards' walks
  // never record (no create_graph; a shard loss's own grad() writes elsewhere), so these stay plain
  // buffers that no graph holds.
  for (std::size_t j = 0; j < mine.size(); ++j)
    for (Tensor& g : shard_grads_[j]) g.fill_(0.0);

  // ---- the local shards, on this process's threads ----
  auto t = Clock::now();
  std::vector<double> losses(mine.size(), 0.0);
  {
    const Precision precision = product_precision();  // the caller's, carried to the worker threads
    auto run_shard = [&](std::size_t j) {
      GemmThreadsScope single_threaded_gemm(1);  // per worker thread: the workers already use every core
      AutocastScope same_precision(precision);
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
            keep_stop_signals_off_this_worker();
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
        // On the bits with the sign cleared, the order of unsigned integers is the order of |x|,
        // and inf and NaN lie above every finite value: an integer max, which vectorizes.
        using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        constexpr U kAbs = ~U{0} >> 1, kInf = std::bit_cast<U>(std::numeric_limits<T>::infinity());
        U m = 0;
        for (std::size_t j = 0; j < mine.size(); ++j) {
          const U* d = reinterpret_cast<const U*>(shard_grads_[j][p].data<T>());
          for (std::size_t i = 0, n = params_[p].numel(); i < n; ++i) {
            const U a = d[i] & kAbs;
            m = a > m ? a : m;
          }
        }
        largest[p] = m >= kInf ? std::numeric_limits<double>::infinity() : static_cast<double>(std::bit_cast<T>(m));
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
  // |q| <= 2^bits for each shard, so the sum of num_shards of them stays within 2^50 (where
  // to_fixed and from_fixed are exact).
  t = Clock::now();
  const int bits = 50 - ceil_log2(num_shards);
  if (bits < 24)
    throw std::invalid_argument("DataParallel::backward: " + std::to_string(num_shards) +
                                " shards leave the fixed-point sum fewer than 24 bits; use at most 2^26 shards");
  std::vector<int> exponent(params_.size(), 0);
  for (std::size_t p = 0; p < params_.size(); ++p) {
    if (largest[p] > 0 && std::isfinite(largest[p])) {
      int k = 0;
      std::frexp(largest[p], &k);  // largest < 2^k
      exponent[p] = bits - k;
    }
  }
  // One parameter's elements [i0, i1): q[i - i0] = the sum over this process's shards of
  // to_fixed(gradient x 2^e); and the other way, .grad[i] += from_fixed(q[i - i0]) x 2^-e.
  const auto accumulate = [&](std::size_t p, std::size_t i0, std::size_t i1, std::int64_t* q) {
    std::fill_n(q, i1 - i0, 0);
    if (!(largest[p] > 0 && std::isfinite(largest[p]))) return;  // all zero, or not finite (see apply)
    dispatch_float(params_[p].dtype(), "DataParallel::backward", [&](auto tag) {
      using T = decltype(tag);
      const int e = exponent[p];
      const bool direct = e > -1000 && e < 1000;
      const double scale = direct ? std::ldexp(1.0, e) : 0.0;
      for (std::size_t j = 0; j < mine.size(); ++j) {
        const T* d = shard_grads_[j][p].data<T>() + i0;
        const std::size_t n = i1 - i0;
        if (direct)
          for (std::size_t i = 0; i < n; ++i) q[i] += to_fixed(static_cast<double>(d[i]) * scale);
        else  // 2^e itself would overflow a double
          for (std::size_t i = 0; i < n; ++i) q[i] += to_fixed(std::ldexp(static_cast<double>(d[i]), e));
      }
    });
  };
  const auto apply = [&](std::size_t p, std::size_t i0, std::size_t i1, const std::int64_t* q) {
    Tensor& grad = params_[p].grad();
    dispatch_float(grad.dtype(), "DataParallel::backward", [&](auto tag) {
      using T = decltype(tag);
      T* g = grad.data<T>() + i0;
      const std::size_t n = i1 - i0;
      if (largest[p] == 0) return;
      if (!std::isfinite(largest[p])) {
        for (std::size_t i = 0; i < n; ++i) g[i] += std::numeric_limits<T>::quiet_NaN();
        return;
      }
      const int e = -exponent[p];
      const bool direct = e > -1000 && e < 1000;
      const double scale = direct ? std::ldexp(1.0, e) : 0.0;
      if (direct)
        for (std::size_t i = 0; i < n; ++i) g[i] += static_cast<T>(from_fixed(q[i]) * scale);
      else
        for (std::size_t i = 0; i < n; ++i) g[i] += static_cast<T>(std::ldexp(from_fixed(q[i]), e));
    });
  };
  for (std::size_t p = 0; p < params_.size(); ++p)
    if (!params_[p].grad().defined()) params_[p].grad() = Tensor::zeros(params_[p].shape(), params_[p].dtype());

  std::vector<double> gathered;
  const std::size_t per_process = (num_shards + processes - 1) / processes;  // shards per process, at most
  if (processes == 1) {
    // Alone: the same integers, a cache-sized block at a time (no round trip through sums_).
    parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
      std::int64_t q[2048];
      for (std::size_t p = begin; p < end; ++p)
        for (std::size_t i0 = 0, n = params_[p].numel(); i0 < n; i0 += 2048) {
          const std::size_t i1 = std::min(n, i0 + 2048);
          accumulate(p, i0, i1, q);
          apply(p, i0, i1, q);
        }
    });
    stats_.reduce_seconds += seconds_since(t);
  } else {
    parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
      for (std::size_t p = begin; p < end; ++p) accumulate(p, 0, params_[p].numel(), sums_.data() + offsets_[p]);
    });
    stats_.reduce_seconds += seconds_since(t);

    // ---- 3. the integers of every process, summed (exact: any order gives the same) ----
    t = Clock::now();
    group.allreduce_sum(sums_.data(), sums_.size());
    std::vector<double> send(per_process, 0.0);
    for (std::size_t j = 0; j < mine.size(); ++j) send[j] = losses[j];
    gathered.resize(per_process * processes);
    group.allgather(send.data(), per_process, gathered.data());
    stats_.exchange_seconds = seconds_since(t);
    stats_.communication_seconds += stats_.exchange_seconds;
    stats_.communication_bytes += sums_.size() * sizeof(std::int64_t) + per_process * sizeof(double);

    // ---- 4. back to the parameters' dtype, added into .grad ----
    t = Clock::now();
    parallel_blocks(params_.size(), 1, [&](std::size_t begin, std::size_t end) {
      for (std::size_t p = begin; p < end; ++p) apply(p, 0, params_[p].numel(), sums_.data() + offsets_[p]);
    });
    stats_.reduce_seconds += seconds_since(t);
  }

  // The loss: shard losses in shard order, wherever they ran.
  double total = 0;
  for (std::size_t s = 0; s < num_shards; ++s)
    total += processes > 1 ? gathered[shard_owner(s, processes) * per_process + s / processes] : losses[s];
  return total;
}

}  // namespace seqgrad::nn
