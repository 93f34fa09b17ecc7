// Data-parallel training: losses and parameters after several steps are bitwise identical for 1, 2
// and 8 threads, and the shard-summed gradient equals the whole minibatch's.
#include <gtest/gtest.h>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/nn/data_parallel.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
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

RunResult train_with_threads(std::size_t threads) {
  set_num_threads(threads);
  Generator gen(11);
  Seq2Seq model(config(), gen);
  nn::Adam adam(model.parameters(), {.lr = 0.01});
  nn::DataParallel parallel(model.parameters());
  const std::size_t total_tokens = tokens(make_data(0, kBatch, 5).tgt_out);
  RunResult r;
  for (std::size_t step = 0; step < kSteps; ++step) {
    adam.zero_grad();
    r.losses.push_back(parallel.backward(kBatch / kShard, [&](std::size_t s) {
      const Data d = make_data(s * kShard, kShard, 5 + step);
      const Tensor mean_loss = nn::sequence_cross_entropy(model.forward(d.src, d.lengths, d.tgt_in).logits, d.tgt_out, 0);
      return affine(mean_loss, double(tokens(d.tgt_out)) / double(total_tokens), 0.0);  // this shard's share
    }));
    adam.step();
  }
  for (const Tensor& p : model.parameters()) r.params.push_back(p.to_vector());
  set_num_threads(0);
  return r;
}

}  // namespace

TEST(DataParallel, BitwiseIdenticalForOneTwoAndEightThreads) {
  const RunResult one = train_with_threads(1), two = train_with_threads(2), eight = train_with_threads(8);
  EXPECT_EQ(one.losses, two.losses);
  EXPECT_EQ(one.losses, eight.losses);
  EXPECT_EQ(one.params, two.params);
  EXPECT_EQ(one.params, eight.params);
  EXPECT_LT(one.losses.back(), one.losses.front());  // and it trains
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
