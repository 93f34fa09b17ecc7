#include "seqgrad/nn/seq2seq/evaluation.hpp"

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/losses.hpp"
#include "seqgrad/nn/seq2seq/batcher.hpp"

namespace seqgrad::nn::seq2seq {

Evaluation evaluate(Seq2Seq& model, const std::vector<Example>& examples, std::size_t batch_size,
                    std::size_t max_decode_length, std::size_t beam_width) {
  Evaluation out;
  if (examples.empty()) return out;
  const bool was_training = model.is_training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<std::size_t> lengths;
  for (const Example& e : examples) lengths.push_back(encoder_length(e));
  // Sorted by length (no shuffling), so batches carry little padding; outputs go back to example order.
  Batcher batcher(lengths, {.batch_size = batch_size, .chunk_batches = 0, .shuffle = false});
  out.outputs.resize(examples.size());
  double loss_sum = 0;
  std::size_t tokens = 0;
  for (const auto& indices : batcher.epoch_batches(0)) {
    const Batch b = make_batch(examples, indices);
    const Tensor logits = model.forward(b.src, b.src_lengths, b.tgt_in).logits;
    loss_sum += sequence_cross_entropy(logits, b.tgt_out, kPad).item() * double(b.num_target_tokens);
    tokens += b.num_target_tokens;
    const DecodeOptions decode{.max_length = max_decode_length, .beam_width = beam_width};
    const std::vector<Hypothesis> hyps = beam_width > 1 ? beam_search(model, b.src, b.src_lengths, decode)
                                                        : greedy_decode(model, b.src, b.src_lengths, decode);
    for (std::size_t r = 0; r < indices.size(); ++r) out.outputs[indices[r]] = hyps[r];
  }
  SequenceScorer scorer;
  for (std::size_t i = 0; i < examples.size(); ++i) scorer.add(out.outputs[i].tokens, references(examples[i]));
  out.scores = scorer.scores();
  out.loss = tokens > 0 ? loss_sum / double(tokens) : 0.0;
  model.train(was_training);
  return out;
}

}  // namespace seqgrad::nn::seq2seq
