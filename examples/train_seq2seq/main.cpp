// Training a sequence-to-sequence model with attention on a toy task (reverse a short sequence of
// symbols), the parts of a training loop spelled out: scheduled sampling, gradient clipping, a
// learning-rate schedule, a checkpoint, and greedy and beam decoding with the attention weights;
// then the same task with a Transformer encoder-decoder.
#include <cstdio>
#include <filesystem>

#include "seqgrad/nn/seq2seq/seq2seq.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;

int main(int argc, char** argv) {
  if (argc > 1) return std::fprintf(stderr, "%s: takes no arguments (read its source)\n", argv[0]), 2;
  // Sources: symbols 4..9 then <eos> (2), padded with <pad> (0); targets: the symbols reversed.
  const Tensor src = Tensor::from_indices({4, 5, 6, 2, 0, 7, 8, 9, 4, 2, 9, 5, 2, 0, 0, 6, 6, 8, 2, 0}, {4, 5});
  const Tensor src_lengths = Tensor::from_indices({4, 5, 3, 4}, {4});
  const Tensor tgt_in = Tensor::from_indices({1, 6, 5, 4, 0, 1, 4, 9, 8, 7, 1, 5, 9, 0, 0, 1, 8, 6, 6, 0}, {4, 5});
  const Tensor tgt_out = Tensor::from_indices({6, 5, 4, 2, 0, 4, 9, 8, 7, 2, 5, 9, 2, 0, 0, 8, 6, 6, 2, 0}, {4, 5});

  // readme-begin: train
  ModelConfig config;
  config.src_vocab = config.tgt_vocab = 10;
  config.embedding_dim = 16;
  config.hidden_dim = 32;
  config.attention_dim = 16;
  config.encoder = EncoderKind::gru;
  config.context = ContextKind::additive;  // Bahdanau: v^T tanh(W_h h_i + W_s s_{t-1} + b)
  Generator gen(42);
  Seq2Seq model(config, gen);

  nn::Adam adam(model.named_parameters(), {.lr = 0.02});
  nn::WarmupInverseSqrt lr_schedule(0.02, /*warmup=*/20);
  const auto teacher_forcing = TeacherForcingSchedule::linear(1.0, 0.004, 0.5);  // eps_i = max(0.5, 1 - 0.004 i)
  Generator feed_gen(7);

  double loss_value = 0;
  for (long step = 0; step < 200; ++step) {
    lr_schedule.apply(adam);
    adam.zero_grad();
    const FeedPolicy feed{.teacher_forcing_ratio = teacher_forcing.at(step), .gen = &feed_gen};
    Tensor loss = nn::sequence_cross_entropy(model.forward(src, src_lengths, tgt_in, feed).logits, tgt_out, /*pad=*/0);
    backward(loss);
    nn::clip_grad_norm(model.parameters(), /*max_norm=*/1.0);
    adam.step();
    loss_value = loss.item();
    if (step % 50 == 0) std::printf("step %3ld  loss %.4f  teacher forcing %.2f\n", step, loss_value, feed.teacher_forcing_ratio);
  }
  // readme-end: train

  // readme-begin: decode
  const auto checkpoint = std::filesystem::temp_directory_path() / "train_seq2seq.ckpt";
  nn::save_checkpoint(checkpoint, model, &adam);  // atomic: a temporary file, then a rename
  model.eval();
  const std::vector<Hypothesis> greedy = greedy_decode(model, src, src_lengths, {.max_length = 8});
  const std::vector<Hypothesis> beam = beam_search(model, src, src_lengths, {.max_length = 8, .beam_width = 3});
  for (std::size_t i = 0; i < greedy.size(); ++i) {
    std::printf("example %zu: greedy", i);
    for (auto token : greedy[i].tokens) std::printf(" %ld", static_cast<long>(token));
    std::printf("  | beam");
    for (auto token : beam[i].tokens) std::printf(" %ld", static_cast<long>(token));
    std::printf("  | attention of the first output step:");
    for (double w : greedy[i].attention.front()) std::printf(" %.2f", w);
    std::printf("\n");
  }
  // readme-end: decode
  std::filesystem::remove(checkpoint);

  // readme-begin: transformer
  ModelConfig tconfig;
  tconfig.src_vocab = tconfig.tgt_vocab = 10;
  tconfig.hidden_dim = 32;  // d_model
  tconfig.encoder = EncoderKind::transformer;
  tconfig.decoder = DecoderCell::transformer;  // causal self-attention, cross-attention, MLP
  tconfig.encoder_layers = tconfig.decoder_layers = 2;
  tconfig.heads = 4;
  tconfig.feedforward_dim = 64;
  tconfig.tie_embeddings = true;  // the output layer is the target embedding
  Generator tgen(42);
  Seq2Seq transformer(tconfig, tgen);
  nn::Adam tadam(transformer.named_parameters(), {.lr = 0.01});
  for (long step = 0; step < 150; ++step) {
    tadam.zero_grad();  // the whole target in one pass: no loop over its positions
    Tensor loss = nn::sequence_cross_entropy(transformer.forward(src, src_lengths, tgt_in).logits, tgt_out, /*pad=*/0);
    backward(loss);
    tadam.step();
  }
  transformer.eval();  // each step extends every layer's cached keys and values by one position
  const std::vector<Hypothesis> tbeam = beam_search(transformer, src, src_lengths, {.max_length = 8, .beam_width = 3});
  // readme-end: transformer

  const std::vector<std::vector<std::int64_t>> want = {{6, 5, 4}, {4, 9, 8, 7}, {5, 9}, {8, 6, 6}};
  int wrong = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    wrong += greedy[i].tokens != want[i] || beam[i].tokens != want[i] || tbeam[i].tokens != want[i];
  std::printf("final loss %.4f, %d of %zu examples wrong\n", loss_value, wrong, want.size());
  return wrong == 0 ? 0 : 1;
}
