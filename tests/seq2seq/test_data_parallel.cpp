// Data-parallel training: losses and parameters after several steps are bitwise identical for 1, 2
// and 8 threads, whatever order the shards finish in, and for several processes (simulated here by
// threads with a group of their own: tests/distributed runs the real thing through mpirun); the
// shard-summed gradient equals the whole minibatch's. Trainers on several processes refuse to train
// when their options differ, also in settings that matter only late in the run, and stop together
// when one of them is asked to.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <functional>
#include <string>
#include <thread>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/nn/data_parallel.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/nn/seq2seq/trainer.hpp"
#include "seqgrad/ops/ops.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;

namespace {

constexpr std::size_t kBatch = 24, kShard = 4, kSteps = 3;

struct Data {
  Tensor src, lengths, tgt_in, tgt_out;
};

// Random sequences of lengths 2..6 over symbols 4..11, targets = sources reversed.
Data make_data(std::size_t begin, std::size_t count, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<std::vector<std::int64_t>> seqs;
  for (std::size_t i = 0; i < kBatch; ++i) {
    std::vector<std::int64_t> s(2 + gen.below(5));
    for (auto& v : s) v = 4 + static_cast<std::int64_t>(gen.below(8));
    seqs.push_back(s);
  }
  const std::size_t ts = 7, tt = 7;
  std::vector<std::int64_t> src(count * ts, 0), len(count), in(count * tt, 0), out(count * tt, 0);
  for (std::size_t r = 0; r < count; ++r) {
    const auto& s = seqs[begin + r];
    for (std::size_t t = 0; t < s.size(); ++t) src[r * ts + t] = s[t];
    src[r * ts + s.size()] = 2;
    len[r] = static_cast<std::int64_t>(s.size() + 1);
    in[r * tt] = 1;
    for (std::size_t t = 0; t < s.size(); ++t) {
      in[r * tt + t + 1] = s[s.size() - 1 - t];
      out[r * tt + t] = s[s.size() - 1 - t];
    }
    out[r * tt + s.size()] = 2;
  }
  return {Tensor::from_indices(src, {count, ts}), Tensor::from_indices(len, {count}),
          Tensor::from_indices(in, {count, tt}), Tensor::from_indices(out, {count, tt})};
}

std::size_t tokens(const Tensor& tgt_out) {
  std::size_t n = 0;
  for (double v : tgt_out.to_vector()) n += v != 0;
  return n;
}

ModelConfig config() {
  ModelConfig c;
  c.src_vocab = c.tgt_vocab = 12;
  c.embedding_dim = 8;
  c.hidden_dim = 16;
  c.attention_dim = 8;
  return c;
}

struct RunResult {
  std::vector<double> losses;
  std::vector<std::vector<double>> params;
};

// How long shard s waits before it returns its loss: makes the shards finish in a chosen order.
enum class Finish { as_scheduled, shard_order, reverse_order };

// K steps of Adam on one process of `group` (null: alone); the caller sets the thread count.
RunResult train(std::shared_ptr<nn::ProcessGroup> group = nullptr, Finish finish = Finish::as_scheduled,
               const ModelConfig& model_config = config()) {
  Generator gen(11);
  Seq2Seq model(model_config, gen);
  nn::Adam adam(model.parameters(), {.lr = 0.01});
  nn::DataParallel parallel(model.parameters(), std::move(group));
  const std::size_t total_tokens = tokens(make_data(0, kBatch, 5).tgt_out);
  const std::size_t shards = kBatch / kShard;
  RunResult r;
  for (std::size_t step = 0; step < kSteps; ++step) {
    adam.zero_grad();
    r.losses.push_back(parallel.backward(shards, [&](std::size_t s) {
      const Data d = make_data(s * kShard, kShard, 5 + step);
      const Tensor mean_loss = nn::sequence_cross_entropy(model.forward(d.src, d.lengths, d.tgt_in).logits, d.tgt_out, 0);
      if (finish != Finish::as_scheduled)
        std::this_thread::sleep_for(std::chrono::milliseconds(3 * (finish == Finish::shard_order ? s : shards - 1 - s)));
      return affine(mean_loss, double(tokens(d.tgt_out)) / double(total_tokens), 0.0);  // this shard's share
    }));
    adam.step();
  }
  for (const Tensor& p : model.parameters()) r.params.push_back(p.to_vector());
  return r;
}

RunResult train_with_threads(std::size_t threads, Finish finish = Finish::as_scheduled,
                             const ModelConfig& model_config = config()) {
  set_num_threads(threads);
  RunResult r = train(nullptr, finish, model_config);
  set_num_threads(0);
  return r;
}

// P "processes" inside this one: threads, each with its own model, optimizer and DataParallel,
// meeting in collectives through shared memory, as MPI ranks meet through messages.
class ThreadGroup {
 public:
  explicit ThreadGroup(std::size_t size) : size_(size), sync_(static_cast<std::ptrdiff_t>(size)), slots_(size) {}

  class Member final : public nn::ProcessGroup {
   public:
    Member(ThreadGroup& g, std::size_t rank) : g_(g), rank_(rank) {}
    std::size_t rank() const override { return rank_; }
    std::size_t size() const override { return g_.size_; }
    std::string describe() const override { return "thread-process " + std::to_string(rank_); }
    void allreduce_max(double* data, std::size_t count) override {
      combine(data, count, [](double a, double b) { return std::max(a, b); });
    }
    void allreduce_sum(std::int64_t* data, std::size_t count) override {
      combine(data, count, [](std::int64_t a, std::int64_t b) { return a + b; });
    }
    void allgather(const double* send, std::size_t count, double* recv) override { gather(send, count, recv); }
    void allgather(const std::uint64_t* send, std::size_t count, std::uint64_t* recv) override { gather(send, count, recv); }
    void broadcast(std::vector<std::uint8_t>& bytes, std::size_t root) override {
      g_.slots_[rank_] = &bytes;
      g_.sync_.arrive_and_wait();
      std::vector<std::uint8_t> copy = *static_cast<std::vector<std::uint8_t>*>(g_.slots_[root]);
      g_.sync_.arrive_and_wait();
      bytes = std::move(copy);
    }
    void barrier() override { g_.sync_.arrive_and_wait(); }
    [[noreturn]] void abort(const std::string& message) override { throw std::runtime_error(message); }

   private:
    // Publish, wait for all, read all in rank order into a copy, wait until everyone has read, write.
    template <class T, class F>
    void combine(T* data, std::size_t count, F f) {
      g_.slots_[rank_] = data;
      g_.sync_.arrive_and_wait();
      std::vector<T> out(static_cast<const T*>(g_.slots_[0]), static_cast<const T*>(g_.slots_[0]) + count);
      for (std::size_t r = 1; r < g_.size_; ++r)
        for (std::size_t i = 0; i < count; ++i) out[i] = f(out[i], static_cast<const T*>(g_.slots_[r])[i]);
      g_.sync_.arrive_and_wait();
      std::copy(out.begin(), out.end(), data);
    }
    template <class T>
    void gather(const T* send, std::size_t count, T* recv) {
      g_.slots_[rank_] = const_cast<T*>(send);
      g_.sync_.arrive_and_wait();
      for (std::size_t r = 0; r < g_.size_; ++r)
        std::copy_n(static_cast<const T*>(g_.slots_[r]), count, recv + r * count);
      g_.sync_.arrive_and_wait();
    }
    ThreadGroup& g_;
    std::size_t rank_;
  };

  // Runs body(group member) on `size` threads; returns rank 0's result after checking every rank
  // ended with the same.
  RunResult run(const std::function<RunResult(std::shared_ptr<nn::ProcessGroup>)>& body) {
    std::vector<RunResult> results(size_);
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < size_; ++r)
      threads.emplace_back([&, r] { results[r] = body(std::make_shared<Member>(*this, r)); });
    for (auto& t : threads) t.join();
    for (std::size_t r = 1; r < size_; ++r) {
      EXPECT_EQ(results[r].losses, results[0].losses) << "rank " << r;
      EXPECT_EQ(results[r].params, results[0].params) << "rank " << r;
    }
    return results[0];
  }

 private:
  std::size_t size_;
  std::barrier<> sync_;
  std::vector<void*> slots_;
};

}  // namespace

TEST(DataParallel, BitwiseIdenticalForOneTwoAndEightThreads) {
  const RunResult one = train_with_threads(1), two = train_with_threads(2), eight = train_with_threads(8);
  EXPECT_EQ(one.losses, two.losses);
  EXPECT_EQ(one.losses, eight.losses);
  EXPECT_EQ(one.params, two.params);
  EXPECT_EQ(one.params, eight.params);
  EXPECT_LT(one.losses.back(), one.losses.front());  // and it trains
}

// The same holds whatever the model: a Transformer encoder-decoder, whose training pass runs every
// target position at once through blocked products and softmax rows.
TEST(DataParallel, TransformerDecoderBitwiseIdenticalForOneTwoAndEightThreads) {
  ModelConfig c = config();
  c.encoder = EncoderKind::transformer;
  c.decoder = DecoderCell::transformer;
  c.decoder_layers = 2;
  c.feedforward_dim = 32;
  c.tie_embeddings = true;
  const RunResult one = train_with_threads(1, Finish::as_scheduled, c), two = train_with_threads(2, Finish::as_scheduled, c),
                  eight = train_with_threads(8, Finish::reverse_order, c);
  EXPECT_EQ(one.losses, two.losses);
  EXPECT_EQ(one.losses, eight.losses);
  EXPECT_EQ(one.params, two.params);
  EXPECT_EQ(one.params, eight.params);
  EXPECT_LT(one.losses.back(), one.losses.front());
}

// The reduction follows shard indices, not finishing times: shards made to finish in shard order
// and in reverse order give the same bits (a reduction in finishing order fails this).
TEST(DataParallel, BitwiseIdenticalWhicheverOrderTheShardsFinishIn) {
  const RunResult forward = train_with_threads(6, Finish::shard_order), reverse = train_with_threads(6, Finish::reverse_order);
  const RunResult two = train_with_threads(2, Finish::reverse_order), one = train_with_threads(1);
  EXPECT_EQ(forward.losses, reverse.losses);
  EXPECT_EQ(forward.params, reverse.params);
  EXPECT_EQ(forward.params, two.params);
  EXPECT_EQ(forward.params, one.params);
}

// Shards spread over several processes (shard s on process s mod P) give the same bits as one
// process: 1x1 = 2x1 = 2x2 = 3x1 = 6x1 (processes x threads), and every process ends the same.
TEST(DataParallel, BitwiseIdenticalForAnyNumberOfProcessesAndThreads) {
  const RunResult alone = train_with_threads(1);
  for (const auto& [processes, threads] : std::vector<std::pair<std::size_t, std::size_t>>{{2, 1}, {2, 2}, {3, 1}, {6, 1}, {7, 1}}) {
    set_num_threads(threads);
    ThreadGroup group(processes);
    const RunResult r = group.run([](std::shared_ptr<nn::ProcessGroup> g) { return train(std::move(g)); });
    set_num_threads(0);
    EXPECT_EQ(r.losses, alone.losses) << processes << "x" << threads;
    EXPECT_EQ(r.params, alone.params) << processes << "x" << threads;
  }
}

// The fixed-point sum is exact to a tiny fraction of each tensor's largest element, keeps zeros
// zero, and turns a non-finite shard gradient into NaN rather than a wrong finite number.
TEST(DataParallel, FixedPointSumIsCloseToTheExactSumAndPropagatesNonFinite) {
  // Shard s's gradient of w is c[s] (the loss is sum(w * c[s])).
  const std::vector<std::vector<double>> c = {{0.25, -1e-3, 0.0, 3e-9, 1.0 / 3}, {-0.5, 2e-3, 0.0, -1e-9, 1.0 / 7}, {4.0, 1e-12, 0.0, 5e-9, -2.0 / 9}};
  Tensor w = Tensor::from({1, 2, 3, 4, 5}, {5}, DType::f64).requires_grad_();
  nn::DataParallel parallel({w});
  parallel.backward(3, [&](std::size_t s) { return sum(w * Tensor::from(c[s], {5}, DType::f64)); });
  const std::vector<double> g = w.grad().to_vector();
  const double largest = 4.0, bound = 3 * largest * std::ldexp(1.0, -48);  // 3 shards: at most 2^-(50-2) of the largest each
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], c[0][i] + c[1][i] + c[2][i], bound) << "element " << i;
  EXPECT_EQ(g[0], 3.75);  // representable: exact
  EXPECT_EQ(g[2], 0.0);

  Tensor v = Tensor::from({1.0, 2.0}, {2}).requires_grad_();
  nn::DataParallel p2({v});
  p2.backward(2, [&](std::size_t s) { return sum(v * Tensor::from({s == 1 ? INFINITY : 1.0, 1.0}, {2})); });
  for (double x : v.grad().to_vector()) EXPECT_TRUE(std::isnan(x));
}

TEST(DataParallel, ShardGradientsSumToTheMinibatchGradient) {
  Generator gen(12);
  ModelConfig c = config();
  c.dtype = DType::f64;
  Seq2Seq model(c, gen);
  const Data all = make_data(0, kBatch, 5);
  const std::size_t total_tokens = tokens(all.tgt_out);

  backward(nn::sequence_cross_entropy(model.forward(all.src, all.lengths, all.tgt_in).logits, all.tgt_out, 0));
  std::vector<std::vector<double>> whole;
  for (Tensor& p : model.parameters()) {
    whole.push_back(p.grad().to_vector());
    p.zero_grad();
  }
  nn::DataParallel parallel(model.parameters());
  parallel.backward(kBatch / kShard, [&](std::size_t s) {
    const Data d = make_data(s * kShard, kShard, 5);
    const Tensor mean_loss = nn::sequence_cross_entropy(model.forward(d.src, d.lengths, d.tgt_in).logits, d.tgt_out, 0);
    return affine(mean_loss, double(tokens(d.tgt_out)) / double(total_tokens), 0.0);
  });
  const auto params = model.parameters();
  for (std::size_t p = 0; p < params.size(); ++p) {
    const std::vector<double> g = params[p].grad().to_vector();
    for (std::size_t i = 0; i < g.size(); ++i) ASSERT_NEAR(g[i], whole[p][i], 1e-12) << "parameter " << p << " element " << i;
  }
}

TEST(DataParallel, RefusesNonLeavesAndNoShards) {
  Tensor leaf = Tensor::ones({2}).requires_grad_();
  EXPECT_THROW(nn::DataParallel({Tensor::ones({2})}), std::invalid_argument);
  nn::DataParallel parallel({leaf});
  EXPECT_THROW(parallel.backward(0, [&](std::size_t) { return sum(leaf); }), std::invalid_argument);
}

// The processes compare a hash of their training options before the first step. Two processes
// whose options differ only in a setting that shows late (a teacher-forcing schedule equal for the
// first 11 steps; the optimizer's momentum, which the first step does not use) are refused, each
// process naming the training options.
namespace {

// 16 sequences of 2 to 4 symbols to reverse: enough for two processes' trainers to step on.
std::vector<Example> reversal_examples() {
  std::vector<Example> examples;
  Generator gen(4);
  for (int i = 0; i < 16; ++i) {
    Example e;
    for (std::size_t k = 0, n = 2 + gen.below(3); k < n; ++k) e.source.push_back(4 + static_cast<TokenId>(gen.below(8)));
    e.target.assign(e.source.rbegin(), e.source.rend());
    examples.push_back(e);
  }
  return examples;
}

TrainerOptions two_process_options(std::shared_ptr<nn::ProcessGroup> group) {
  TrainerOptions o;
  o.batch_size = 8;
  o.shard_size = 4;
  o.threads = 1;
  o.max_epochs = 1;
  o.reporter = nullptr;
  o.group = std::move(group);
  return o;
}

// Rank 0's reporter sets rank 1's stop request after step `stop`: a signal that reached one process only.
class StopOtherRank : public TrainingReporter {
 public:
  StopOtherRank(std::atomic<bool>& other, std::size_t stop) : other_(other), stop_(stop) {}
  void progress(const ProgressUpdate& u) override {
    if (u.step == stop_) other_.store(true);
  }
  void message(const std::string&) override {}
  bool wants_every_step() const override { return true; }

 private:
  std::atomic<bool>& other_;
  std::size_t stop_;
};

}  // namespace

// A stop request that reaches one process stops every process at the same step (else the others
// would wait forever in the next step's collectives).
TEST(DataParallel, AStopRequestOnOneProcessStopsAllAtTheSameStep) {
  const std::vector<Example> examples = reversal_examples();
  std::atomic<bool> rank1_stop{false};
  std::vector<TrainSummary> summaries(2);
  ThreadGroup group(2);
  group.run([&](std::shared_ptr<nn::ProcessGroup> g) {
    Generator init(1);
    Seq2Seq model(config(), init);
    const std::size_t rank = g->rank();
    TrainerOptions o = two_process_options(g);
    o.max_epochs = 4;  // 2 steps an epoch: the stop comes well before the end
    if (rank == 0) o.reporter = std::make_shared<StopOtherRank>(rank1_stop, 3);
    if (rank == 1) o.stop_request = &rank1_stop;
    summaries[rank] = Trainer(model, examples, {}, o).run();
    return RunResult{};
  });
  set_num_threads(0);
  for (const TrainSummary& s : summaries) EXPECT_EQ(s.stop_reason, StopReason::interrupted);
  EXPECT_EQ(summaries[0].steps, summaries[1].steps);
  // Rank 1 sees the request before step 4 or, when it got there before rank 0's report, before step 5.
  EXPECT_GE(summaries[0].steps, 3u);
  EXPECT_LE(summaries[0].steps, 4u);
}

TEST(DataParallel, TrainersWithOptionsThatDifferLateAreRefused) {
  const std::vector<Example> examples = reversal_examples();
  // linear:1,0.01,0.5 and linear:1,0.01,0.9 agree on eps_0..eps_10 (1, 0.99, ..., 0.9), then part.
  const auto a = TeacherForcingSchedule::linear(1, 0.01, 0.5), b = TeacherForcingSchedule::linear(1, 0.01, 0.9);
  for (long i = 0; i <= 10; ++i) ASSERT_EQ(a.at(i), b.at(i)) << "step " << i;
  ASSERT_NE(a.at(11), b.at(11));
  const auto refused = [&](const std::function<void(TrainerOptions&, std::size_t rank)>& differ) {
    std::vector<std::string> errors(2);
    ThreadGroup group(2);
    group.run([&](std::shared_ptr<nn::ProcessGroup> g) {
      Generator init(1);
      Seq2Seq model(config(), init);
      TrainerOptions o = two_process_options(g);
      differ(o, g->rank());
      try {
        Trainer(model, examples, {}, o).run();
      } catch (const std::runtime_error& e) {
        errors[g->rank()] = e.what();
      }
      return RunResult{};
    });
    set_num_threads(0);
    for (const std::string& e : errors) EXPECT_NE(e.find("differ in: training options"), std::string::npos) << e;
  };
  refused([&](TrainerOptions& o, std::size_t rank) { o.teacher_forcing = rank == 0 ? a : b; });
  refused([&](TrainerOptions& o, std::size_t rank) {
    o.optimizer = {.kind = nn::OptimizerKind::sgd, .lr = 0.1, .momentum = rank == 0 ? 0.9 : 0.5};
  });
}

// With bfloat16 products too: DataParallel carries the caller's precision to its worker threads,
// and each product is cut by its shape alone, so the bits do not depend on the thread count.
TEST(DataParallel, Bf16BitwiseIdenticalForOneTwoAndEightThreads) {
  if (const std::string why = bf16_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const auto bf16_run = [](std::size_t threads) {
    AutocastScope bf16_products;
    return train_with_threads(threads);
  };
  const RunResult one = bf16_run(1), two = bf16_run(2), eight = bf16_run(8), f32 = train_with_threads(1);
  EXPECT_EQ(one.losses, two.losses);
  EXPECT_EQ(one.losses, eight.losses);
  EXPECT_EQ(one.params, two.params);
  EXPECT_EQ(one.params, eight.params);
  EXPECT_NE(one.losses, f32.losses);  // the products did run in bfloat16
  for (std::size_t k = 0; k < f32.losses.size(); ++k) EXPECT_NEAR(one.losses[k], f32.losses[k], 0.01 * f32.losses[k]);
}
