#pragma once
// What the trainer's tests share: a task small enough to learn in seconds (reversing short
// sequences), the model and options they train it with, and the comparisons of runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "seqgrad/nn/seq2seq/trainer.hpp"
#include "support/file_bytes.hpp"

namespace seqgrad::trainer_test {

using namespace seqgrad::nn::seq2seq;

// Reversing sequences of 2 to 5 symbols out of 6: a task small enough to learn in seconds.
struct ReverseTask {
  std::vector<Example> train, test;
};
inline ReverseTask reverse_task(std::size_t train_count, std::size_t test_count, std::uint64_t seed) {
  Generator gen(seed);
  const auto draw = [&] {
    Example ex;
    const std::size_t length = 2 + gen.below(4);
    for (std::size_t i = 0; i < length; ++i) ex.source.push_back(kNumSpecials + static_cast<TokenId>(gen.below(6)));
    ex.target.assign(ex.source.rbegin(), ex.source.rend());
    return ex;
  };
  ReverseTask task;
  for (std::size_t i = 0; i < train_count; ++i) task.train.push_back(draw());
  for (std::size_t i = 0; i < test_count; ++i) task.test.push_back(draw());
  return task;
}

struct Fixture {
  ReverseTask data = reverse_task(48, 12, 3);
  Vocabulary vocab = Vocabulary::build({{"a", "b", "c", "d", "e", "f"}});
  DecoderCell decoder = DecoderCell::gru;  // transformer: two blocks, tied embeddings

  std::unique_ptr<Seq2Seq> model(std::uint64_t seed, EncoderKind encoder = EncoderKind::gru, std::size_t layers = 1) const {
    ModelConfig c{.src_vocab = vocab.size(), .tgt_vocab = vocab.size(), .embedding_dim = 8, .hidden_dim = 16,
                  .attention_dim = 8, .encoder = encoder, .encoder_layers = layers, .feedforward_dim = 32,
                  .dropout = 0.1};  // dropout exercises the per-shard dropout generators
    if (decoder == DecoderCell::transformer) {
      c.decoder = decoder;
      c.decoder_layers = 2;
      c.tie_embeddings = true;
    }
    Generator gen(seed);
    return std::make_unique<Seq2Seq>(c, gen);
  }
  TrainerOptions options(const std::filesystem::path& dir) const {
    TrainerOptions o;
    o.batch_size = 12;
    o.shard_size = 4;
    o.max_epochs = 3;
    o.optimizer.lr = 0.01;
    o.teacher_forcing = TeacherForcingSchedule::linear(1.0, 0.05, 0.5);  // exercises scheduled sampling
    o.reporter = nullptr;
    o.seed = 17;
    o.checkpoint_dir = dir;
    return o;
  }
};

inline std::string file_bytes(const std::filesystem::path& f) { return test_support::read_file_bytes(f); }

inline std::vector<std::vector<double>> parameter_values(const Seq2Seq& model) {
  std::vector<std::vector<double>> out;
  for (const Tensor& p : model.parameters()) out.push_back(p.to_vector());
  return out;
}

// A run interrupted (`first`) and resumed (`rest`, into `resumed_model` and `resumed_dir`) took
// bitwise the steps of the uninterrupted `whole`: the same losses, step count, parameters and
// last.ckpt byte for byte (the optimizer's state and the trainer's with them).
inline void expect_resumed_run_equals(const TrainSummary& whole, const Seq2Seq& whole_model,
                                      const std::filesystem::path& whole_dir, const TrainSummary& first,
                                      const TrainSummary& rest, const Seq2Seq& resumed_model,
                                      const std::filesystem::path& resumed_dir) {
  std::vector<double> losses = first.step_losses;
  losses.insert(losses.end(), rest.step_losses.begin(), rest.step_losses.end());
  EXPECT_EQ(losses, whole.step_losses);
  EXPECT_EQ(rest.steps, whole.steps);
  EXPECT_EQ(parameter_values(resumed_model), parameter_values(whole_model));
  EXPECT_EQ(file_bytes(resumed_dir / "last.ckpt"), file_bytes(whole_dir / "last.ckpt"));
}

}  // namespace seqgrad::trainer_test
