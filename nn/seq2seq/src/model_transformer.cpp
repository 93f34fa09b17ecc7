// The Seq2Seq model's transformer decoder (DecoderCell::transformer): built, run over a whole
// target at once for training, and stepped one position at a time for decoding.
//
// Its inputs follow Vaswani et al.: embedding * sqrt(d) + positions, the embedding drawn from
// N(0, d^-1/2) so that the scaled input starts at std 1 (the scale of the sinusoids) and, tied to
// the output layer, gives logits of std ~1 over a unit-variance state (fairseq does the same).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/ops/ops.hpp"
#include "model_internal.hpp"

namespace seqgrad::nn::seq2seq {

namespace {

// weight *= factor, in place and outside the graph (an initialisation).
void scale_in_place(Tensor& weight, double factor) {
  NoGradGuard no_grad;
  weight.copy_from_(weight * factor);
}

// ids [B, T] of the tokens fed so far followed by next [B].
Tensor appended_ids(const Tensor& prefix, const Tensor& next) {
  const std::size_t batch = next.numel(), t = prefix.defined() ? prefix.shape()[1] : 0;
  std::vector<std::int64_t> ids(batch * (t + 1));
  const std::int64_t* p = t ? prefix.data<std::int64_t>() : nullptr;
  const std::int64_t* n = next.data<std::int64_t>();
  for (std::size_t b = 0; b < batch; ++b) {
    std::copy(p + b * t, p + (b + 1) * t, ids.begin() + static_cast<long>(b * (t + 1)));
    ids[b * (t + 1) + t] = n[b];
  }
  return Tensor::from_indices(ids, {batch, t + 1});
}

}  // namespace

std::shared_ptr<Embedding> make_position_table(const ModelConfig& c, Generator& gen) {
  auto table = std::make_shared<Embedding>(c.max_positions, c.hidden_dim, gen, EmbeddingOptions{.dtype = c.dtype});
  scale_in_place(table->weight, 1.0 / std::sqrt(double(c.hidden_dim)));
  return table;
}

void Seq2Seq::build_transformer_decoder(Generator& gen) {
  const ModelConfig& c = config_;
  const std::size_t H = c.hidden_dim;
  if (encoder_dim_ != H)  // a bidirectional RNN's states: the decoder's cross-attention reads d_model
    memory_proj_ = register_module("memory_proj", std::make_shared<Linear>(encoder_dim_, H, gen, LinearOptions{.dtype = c.dtype}));
  tgt_embedding_ = register_module(
      "tgt_embedding",
      std::make_shared<Embedding>(c.tgt_vocab, H, gen,
                                  EmbeddingOptions{.padding_idx = static_cast<std::size_t>(c.pad_id), .dtype = c.dtype}));
  scale_in_place(tgt_embedding_->weight, 1.0 / std::sqrt(double(H)));
  if (c.positions == PositionKind::learned) tgt_positions_ = register_module("tgt_positions", make_position_table(c, gen));
  TransformerDecoderOptions options;
  options.layer = {.dim_feedforward = c.feedforward_dim, .dropout = c.dropout, .norm_first = c.norm_first, .dtype = c.dtype};
  options.final_norm = c.norm_first;
  transformer_decoder_ =
      register_module("decoder", std::make_shared<TransformerDecoder>(H, c.heads, c.decoder_layers, gen, options));
  if (c.tie_embeddings)
    output_bias_ = register_parameter("output_bias", Tensor::zeros({c.tgt_vocab}, c.dtype));
  else
    output_ = register_module("output", std::make_shared<Linear>(H, c.tgt_vocab, gen, LinearOptions{.dtype = c.dtype}));
}

Tensor Seq2Seq::positions_of(const std::shared_ptr<Embedding>& table, std::size_t first, std::size_t count) const {
  if (!table) return sinusoidal_positional_encoding(count, config_.hidden_dim, config_.dtype, first);
  if (first + count > config_.max_positions)
    throw std::invalid_argument("Seq2Seq: position " + std::to_string(first + count - 1) + " is beyond the " +
                                std::to_string(config_.max_positions) + " learned positions (max_positions)");
  std::vector<std::int64_t> ids(count);
  for (std::size_t i = 0; i < count; ++i) ids[i] = static_cast<std::int64_t>(first + i);
  return table->forward(Tensor::from_indices(ids, {count}));  // [count, H]
}

Tensor Seq2Seq::embed_target(const Tensor& ids, std::size_t first) const {
  const Tensor x = tgt_embedding_->forward(ids) * std::sqrt(double(config_.hidden_dim));  // [B, T, H]
  return maybe_dropout(x + positions_of(tgt_positions_, first, ids.shape()[1]));
}

Tensor Seq2Seq::project(const Tensor& features) const {
  return output_ ? output_->forward(features) : linear(features, tgt_embedding_->weight, output_bias_);
}

Tensor Seq2Seq::transformer_logits(const EncodedSource& source, const Tensor& tgt_in, Tensor* cross_attention) const {
  // No target padding mask: with causal attention a real position never sees the padding after it,
  // and the loss ignores the padded positions' outputs.
  const Tensor y = transformer_decoder_->forward(embed_target(tgt_in, 0), source.memory, Tensor(), source.mask,
                                                 /*causal=*/true, cross_attention);
  return project(y);  // [B, Tt, V]
}

TrainOutput Seq2Seq::transformer_forward(const EncodedSource& source, const Tensor& tgt_in, const FeedPolicy& policy) const {
  const std::size_t batch = tgt_in.shape()[0], steps = tgt_in.shape()[1];
  Tensor inputs = tgt_in;
  if (policy.teacher_forcing_ratio < 1.0) {
    // Scheduled sampling in two passes: the first, without gradients, on the true inputs; its
    // prediction at position t - 1 replaces the true input at t with probability 1 - ratio, drawn
    // per position and example in the recurrent decoder's order.
    Tensor first;
    {
      NoGradGuard no_grad;
      first = transformer_logits(source, tgt_in, nullptr);
    }
    inputs = tgt_in.clone();
    std::int64_t* in = inputs.data<std::int64_t>();
    for (std::size_t t = 1; t < steps; ++t) {
      const Tensor logits_before = reshape(narrow(first, 1, t - 1, 1), {batch, first.shape()[2]});
      const std::vector<std::int64_t> guess = detail::predictions(logits_before, policy.sample, *policy.gen);
      for (std::size_t b = 0; b < batch; ++b)
        if (policy.gen->uniform() >= policy.teacher_forcing_ratio) in[b * steps + t] = guess[b];
    }
  }
  TrainOutput out;
  Tensor cross;  // [B, heads, Tt, Ts]
  out.logits = transformer_logits(source, inputs, &cross);
  NoGradGuard no_grad;  // the weights are for looking at, not for a loss
  const Tensor mean_weights = mean(cross, {1});  // [B, Tt, Ts]
  for (std::size_t t = 0; t < steps; ++t)
    out.weights.push_back(reshape(narrow(mean_weights, 1, t, 1), {batch, mean_weights.shape()[2]}));
  return out;
}

StepOutput Seq2Seq::transformer_step(const EncodedSource& source, const Tensor& prev_tokens, const DecoderState& state) const {
  const std::size_t batch = source.batch(), H = config_.hidden_dim;
  StepOutput out;
  out.state = state;
  Tensor y, cross;  // [B, 1, H], [B, heads, 1, Ts]
  if (state.recompute_prefix) {
    out.state.prefix = appended_ids(state.prefix, prev_tokens);
    const std::size_t t = out.state.prefix.shape()[1];
    Tensor all_cross;
    const Tensor all = transformer_decoder_->forward(embed_target(out.state.prefix, 0), source.memory, Tensor(),
                                                     source.mask, /*causal=*/true, &all_cross);
    y = narrow(all, 1, t - 1, 1);
    cross = narrow(all_cross, 2, t - 1, 1);
  } else {
    if (out.state.cache.layers.empty()) out.state.cache = transformer_decoder_->start(source.memory, source.mask);
    const Tensor x = embed_target(reshape(prev_tokens, {batch, 1}), state.position());
    y = transformer_decoder_->step(out.state.cache, x, &cross);
  }
  out.logits = project(reshape(y, {batch, H}));
  out.head_weights = reshape(cross, {batch, config_.heads, cross.shape()[3]});
  out.weights = mean(out.head_weights, {1});
  return out;
}

}  // namespace seqgrad::nn::seq2seq
