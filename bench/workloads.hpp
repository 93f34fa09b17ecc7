#pragma once
// The three workloads of the benchmark suite against PyTorch (bench/pytorch_reference.py builds the
// same models on the same kind of data). Each is one full training step on fixed random data:
// forward, backward, Adam update. Throughput is counted in target tokens:
//   seq2seq_b64_h256   GRU encoder, GRU decoder with additive attention, batch 64, 12 source and 12
//                      target tokens, vocabularies 32 / 48, embedding 64, hidden 256, attention 256,
//                      teacher forcing, cross-entropy. 64 * 12 target tokens a step.
//   seq2seq_b1_h64     the same model at batch 1, embedding 32, hidden 64, attention 64: the regime
//                      where the cost per op, not the arithmetic, decides. 12 target tokens a step.
//   mhsa_b16_t64_d256  one post-LN transformer encoder layer (4 heads, MLP 1024, ReLU, dropout 0),
//                      batch 16, 64 tokens, d 256, loss = mean of the squared output. 16 * 64 tokens.
// Every source is full length (no padding), but the lengths and the padding mask still go through
// the model, so the masking code path is the one a padded batch takes. workload_memory also runs
// gru_penalty_b16_t8_h64 (GradientPenaltyWorkload below: second order, no PyTorch counterpart).
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/nn/data_parallel.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/losses.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::bench {

// ---- threads ----
//
// The number of threads seqgrad may use: `--threads N` (taken out of argv) or else the environment
// variable SEQGRAD_THREADS; 0 when neither is given (leave every library at its default).
inline int thread_setting(int& argc, char** argv) {
  int threads = 0;
  if (const char* env = std::getenv("SEQGRAD_THREADS")) threads = std::atoi(env);
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (arg.rfind("--threads=", 0) == 0) threads = std::atoi(arg.c_str() + 10);
    else argv[kept++] = argv[i];
  }
  argc = kept;
  return threads;
}

// Applies the setting through seqgrad::set_num_threads (oneTBB's parallelism, which the matrix products use too).
inline void apply_thread_setting(int threads) {
  if (threads > 0) set_num_threads(static_cast<std::size_t>(threads));
}

// ---- workloads ----

class Workload {
 public:
  virtual ~Workload() = default;
  // One training step: zero the gradients, forward, backward, Adam. Returns the loss.
  virtual double step() = 0;
  // Target tokens one step trains on (the unit of throughput).
  virtual std::int64_t tokens_per_step() const = 0;
  // Trainable parameters: the same count as the PyTorch model's, a check that the two models match.
  virtual std::int64_t parameter_count() const = 0;
  // The data-parallel reduction's figures of the last step (null when the step does not shard).
  virtual const nn::DataParallelStats* parallel_stats() const { return nullptr; }
};

inline std::int64_t count_parameters(const nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& [name, p] : m.named_parameters()) n += static_cast<std::int64_t>(p.numel());
  return n;
}

struct Seq2SeqSizes {
  std::size_t batch, embedding, hidden, attention;
  std::size_t src_vocab = 32, tgt_vocab = 48, src_len = 12, tgt_len = 12;
};

// Token ids in [1, vocab): 0 is the padding id, so every target token counts in the loss.
inline Tensor random_tokens(std::size_t batch, std::size_t steps, std::size_t vocab, Generator& gen) {
  std::vector<std::int64_t> ids(batch * steps);
  for (auto& id : ids) id = 1 + static_cast<std::int64_t>(gen.below(vocab - 1));
  return Tensor::from_indices(ids, {batch, steps});
}

class Seq2SeqWorkload : public Workload {
 public:
  // group: the processes that share the shards (null: this one alone; see seqgrad::distributed)
  explicit Seq2SeqWorkload(const Seq2SeqSizes& s, std::shared_ptr<nn::ProcessGroup> group = nullptr)
      : sizes_(s), gen_(1234), model_(config(s), gen_), adam_(model_.named_parameters(), {.lr = 1e-3}),
        parallel_(model_.parameters(), std::move(group)) {
    src_ = random_tokens(s.batch, s.src_len, s.src_vocab, gen_);
    tgt_in_ = random_tokens(s.batch, s.tgt_len, s.tgt_vocab, gen_);    // <sos> y_1 .. y_{T-1}, as ids
    tgt_out_ = random_tokens(s.batch, s.tgt_len, s.tgt_vocab, gen_);   // y_1 .. y_T
    src_lengths_ = Tensor::from_indices(std::vector<std::int64_t>(s.batch, static_cast<std::int64_t>(s.src_len)),
                                        {s.batch});
    for (std::size_t begin = 0; begin < s.batch; begin += kShard) {
      const std::size_t n = std::min(kShard, s.batch - begin);
      shards_.push_back({narrow(src_, 0, begin, n).clone(), narrow(src_lengths_, 0, begin, n).clone(),
                         narrow(tgt_in_, 0, begin, n).clone(), narrow(tgt_out_, 0, begin, n).clone()});
    }
  }

  // Data-parallel: the batch in fixed shards of kShard examples (2 shards at batch 64), one graph per
  // shard on oneTBB workers, gradients summed in shard order: the same numbers at any thread count.
  // Batch 1 is one shard, differentiated directly.
  double step() override {
    adam_.zero_grad();
    if (shards_.size() == 1) {
      const Tensor loss = shard_loss(shards_[0]);
      backward(loss);
      adam_.step();
      return loss.item();
    }
    const double weight = 1.0 / static_cast<double>(shards_.size());  // equal shards, every token counts
    const double loss = parallel_.backward(shards_.size(), [&](std::size_t k) { return affine(shard_loss(shards_[k]), weight, 0.0); });
    adam_.step();
    return loss;
  }
  std::int64_t tokens_per_step() const override { return static_cast<std::int64_t>(sizes_.batch * sizes_.tgt_len); }
  std::int64_t parameter_count() const override { return count_parameters(model_); }
  const nn::DataParallelStats* parallel_stats() const override { return shards_.size() > 1 ? &parallel_.last_step() : nullptr; }

 private:
  static nn::seq2seq::ModelConfig config(const Seq2SeqSizes& s) {
    nn::seq2seq::ModelConfig c;
    c.src_vocab = s.src_vocab;
    c.tgt_vocab = s.tgt_vocab;
    c.embedding_dim = s.embedding;
    c.hidden_dim = s.hidden;
    c.attention_dim = s.attention;
    c.encoder = nn::seq2seq::EncoderKind::gru;
    c.decoder = nn::seq2seq::DecoderCell::gru;
    c.context = nn::seq2seq::ContextKind::additive;
    c.pad_id = 0;
    return c;
  }

  static constexpr std::size_t kShard = 32;
  struct Shard {
    Tensor src, src_lengths, tgt_in, tgt_out;
  };
  Tensor shard_loss(const Shard& b) const {
    const Tensor logits = model_.forward(b.src, b.src_lengths, b.tgt_in).logits;  // teacher forcing
    return nn::sequence_cross_entropy(logits, b.tgt_out, /*pad_id=*/0);
  }

  Seq2SeqSizes sizes_;
  Generator gen_;
  nn::seq2seq::Seq2Seq model_;
  nn::Adam adam_;
  nn::DataParallel parallel_;
  Tensor src_, src_lengths_, tgt_in_, tgt_out_;
  std::vector<Shard> shards_;
};

class SelfAttentionWorkload : public Workload {
 public:
  static constexpr std::size_t kBatch = 16, kTokens = 64, kModel = 256, kHeads = 4, kFeedforward = 1024;

  // Alone, one graph over the whole batch (OpenBLAS and the blocked ops use the threads). With
  // several processes, the batch in shards of kShard, one per process at 2.
  explicit SelfAttentionWorkload(std::shared_ptr<nn::ProcessGroup> group = nullptr)
      : gen_(1234),
        layer_(kModel, kHeads, gen_, {.dim_feedforward = kFeedforward, .dropout = 0.0}),
        adam_(layer_.named_parameters(), {.lr = 1e-3}) {
    x_ = rand_uniform({kBatch, kTokens, kModel}, -1, 1, DType::f32, gen_);
    if (group && group->size() > 1) {
      parallel_ = std::make_unique<nn::DataParallel>(layer_.parameters(), std::move(group));
      for (std::size_t begin = 0; begin < kBatch; begin += kShard) shards_.push_back(narrow(x_, 0, begin, kShard).clone());
    }
  }

  double step() override {
    adam_.zero_grad();
    if (parallel_) {
      const double weight = 1.0 / static_cast<double>(shards_.size());
      const double loss = parallel_->backward(shards_.size(), [&](std::size_t k) {
        const Tensor y = layer_(shards_[k]);
        return affine(mean(y * y), weight, 0.0);
      });
      adam_.step();
      return loss;
    }
    const Tensor y = layer_(x_);
    const Tensor loss = mean(y * y);
    backward(loss);
    adam_.step();
    return loss.item();
  }
  std::int64_t tokens_per_step() const override { return static_cast<std::int64_t>(kBatch * kTokens); }
  std::int64_t parameter_count() const override { return count_parameters(layer_); }
  const nn::DataParallelStats* parallel_stats() const override { return parallel_ ? &parallel_->last_step() : nullptr; }

 private:
  static constexpr std::size_t kShard = 8;
  Generator gen_;
  nn::TransformerEncoderLayer layer_;
  nn::Adam adam_;
  Tensor x_;
  std::unique_ptr<nn::DataParallel> parallel_;  // several processes only
  std::vector<Tensor> shards_;
};

// A GRU cell over 8 steps of a batch of 16 (input 16, hidden 64), a linear readout of the last state,
// and a loss of the squared error plus a gradient penalty: the squared gradient of the readout with
// respect to the input sequence, taken with grad(create_graph), so every step records a gradient's
// computation and differentiates through it. Float32, Adam. For workload_memory only (no PyTorch
// counterpart in the comparison): the graphs of recorded gradients must be freed step after step.
class GradientPenaltyWorkload : public Workload {
 public:
  static constexpr std::size_t kBatch = 16, kSteps = 8, kInput = 16, kHidden = 64;
  static constexpr double kPenalty = 0.1;

  GradientPenaltyWorkload()
      : gen_(4321), cell_(kInput, kHidden, gen_), readout_(kHidden, 1, gen_),
        adam_(parameters(), {.lr = 1e-3}) {
    x_ = rand_uniform({kSteps, kBatch, kInput}, -1, 1, DType::f32, gen_);
    target_ = rand_uniform({kBatch, 1}, -1, 1, DType::f32, gen_);
  }

  double step() override {
    adam_.zero_grad();
    const Tensor x = x_.clone().requires_grad_();  // a leaf of this step: its graph goes with it
    Tensor h;
    for (std::size_t t = 0; t < kSteps; ++t) h = cell_(reshape(narrow(x, 0, t, 1), {kBatch, kInput}), h);
    const Tensor y = readout_(h);
    const Tensor dy_dx = grad({y}, {x}, {.grad_outputs = {Tensor::ones(y.shape(), DType::f32)}, .create_graph = true})[0];
    const Tensor error = y - target_;
    const Tensor loss = mean(error * error) + mean(dy_dx * dy_dx) * kPenalty;
    backward(loss);
    adam_.step();
    return loss.item();
  }
  std::int64_t tokens_per_step() const override { return static_cast<std::int64_t>(kBatch * kSteps); }
  std::int64_t parameter_count() const override { return count_parameters(cell_) + count_parameters(readout_); }

 private:
  std::vector<Tensor> parameters() const {
    std::vector<Tensor> all = cell_.parameters();
    for (const Tensor& p : readout_.parameters()) all.push_back(p);
    return all;
  }
  Generator gen_;
  nn::GRUCell cell_;
  nn::Linear readout_;
  nn::Adam adam_;
  Tensor x_, target_;
};

// The workloads of the comparison with PyTorch (bench_workloads, scripts/compare.sh).
inline const std::vector<std::string>& workload_names() {
  static const std::vector<std::string> names = {"seq2seq_b64_h256", "seq2seq_b1_h64", "mhsa_b16_t64_d256"};
  return names;
}

// Workloads without a PyTorch counterpart, for workload_memory.
inline const std::vector<std::string>& memory_workload_names() {
  static const std::vector<std::string> names = {"gru_penalty_b16_t8_h64"};
  return names;
}

// group: the processes of an MPI run (null: this one alone).
inline std::unique_ptr<Workload> make_workload(const std::string& name, std::shared_ptr<nn::ProcessGroup> group = nullptr) {
  if (name == "seq2seq_b64_h256")
    return std::make_unique<Seq2SeqWorkload>(Seq2SeqSizes{.batch = 64, .embedding = 64, .hidden = 256, .attention = 256}, group);
  if (name == "seq2seq_b1_h64")
    return std::make_unique<Seq2SeqWorkload>(Seq2SeqSizes{.batch = 1, .embedding = 32, .hidden = 64, .attention = 64}, group);
  if (name == "mhsa_b16_t64_d256") return std::make_unique<SelfAttentionWorkload>(group);
  if (name == "gru_penalty_b16_t8_h64") {
    if (group && group->size() > 1) throw std::invalid_argument("workload 'gru_penalty_b16_t8_h64' runs on one process only");
    return std::make_unique<GradientPenaltyWorkload>();
  }
  std::string known;
  for (const auto& n : workload_names()) known += (known.empty() ? "" : ", ") + n;
  for (const auto& n : memory_workload_names()) known += ", " + n;
  throw std::invalid_argument("unknown workload '" + name + "' (known: " + known + ")");
}

}  // namespace seqgrad::bench
