#pragma once
// The encoder-decoder of the classic attention story, assembled from nn layers.
//
//   encoder:  h_1..h_T = Encoder(embed(x_1..x_T <eos>))        GRU / LSTM (multi-layer, bidirectional)
//                                                              or self-attention blocks (no recurrence)
//   decoder:  s_0       = bridge(encoder's final state)
//             c_t       = context(s_{t-1}, h_1..h_T)           none | mean | dot | scaled dot | general |
//                                                              additive (Bahdanau) | multi-head
//             s_t       = Cell([embed(y_{t-1}); c_t], s_{t-1})
//             p(y_t)    = softmax(W_out [s_t; c_t] + b_out)
//
// The transformer decoder (DecoderCell::transformer) has no recurrence and no s_t: position t of the
// target attends to positions <= t (causal self-attention) and to h_1..h_T (cross-attention, its
// context), through decoder_layers blocks; p(y_t) = softmax(W_out y_t + b_out), W_out optionally the
// target embedding itself (tie_embeddings). Training runs every target position in one pass.
//
// With context `none` the decoder sees the input only through s_0: the single-vector bottleneck.
// With `mean` it sees the plain average of h_1..h_T at every step (every input the same weight).
// The encoder states are the keys and the values; the decoder state is the query. Keys are
// projected once per sequence (precompute_keys) and reused at every decoder step.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "seqgrad/nn/attention.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/losses.hpp"
#include "seqgrad/nn/rnn.hpp"
#include "seqgrad/nn/transformer.hpp"
#include "seqgrad/nn/transformer_decoder.hpp"

namespace seqgrad::nn::seq2seq {

enum class EncoderKind { gru, lstm, transformer };
enum class DecoderCell { gru, lstm, transformer };
// Where a transformer stack gets the order of its inputs from.
enum class PositionKind { sinusoidal, learned };
enum class ContextKind { none, mean, dot, scaled_dot, general, additive, multi_head };

// Each kind by the name the programs and config.json use; parse throws std::invalid_argument naming
// the known names.
EncoderKind parse_encoder_kind(const std::string& name);  // "gru", "lstm", "transformer"
DecoderCell parse_decoder_cell(const std::string& name);  // "gru", "lstm", "transformer"
ContextKind parse_context_kind(const std::string& name);  // "none", "mean", "dot", ..., "multi_head"
PositionKind parse_position_kind(const std::string& name);  // "sinusoidal", "learned"
std::string to_string(EncoderKind kind);
std::string to_string(DecoderCell cell);
std::string to_string(ContextKind kind);
std::string to_string(PositionKind kind);

struct ModelConfig {
  std::size_t src_vocab = 0, tgt_vocab = 0;
  std::size_t embedding_dim = 64;
  std::size_t hidden_dim = 256;     // decoder state; per direction for an RNN encoder; d_model of a transformer
  std::size_t attention_dim = 256;  // additive attention's hidden size
  EncoderKind encoder = EncoderKind::gru;
  std::size_t encoder_layers = 1;
  bool bidirectional = false;
  DecoderCell decoder = DecoderCell::gru;
  ContextKind context = ContextKind::additive;  // recurrent decoders only (a transformer's is its cross-attention)
  std::size_t heads = 4;                // multi-head context and transformer encoder and decoder
  std::size_t feedforward_dim = 512;    // transformer encoder's and decoder's MLP
  double dropout = 0.0;                 // on embeddings and on [s_t; c_t] (inside the transformer blocks), in training only
  // Transformer decoder only:
  std::size_t decoder_layers = 1;       // its blocks (a recurrent decoder is one cell)
  bool tie_embeddings = false;          // W_out is the target embedding (Press & Wolf 2017)
  // Both transformer stacks:
  bool norm_first = false;              // pre-LN blocks (and a final LayerNorm) instead of post-LN
  PositionKind positions = PositionKind::sinusoidal;
  std::size_t max_positions = 256;      // learned positions: the longest sequence the tables cover
  std::int64_t pad_id = 0;
  DType dtype = DType::f32;
};

// What decoding carries from one step to the next.
struct DecoderState {
  Tensor h;  // [B, H], recurrent decoders
  Tensor c;  // [B, H], LSTM decoder only
  // Transformer decoder: each layer's keys and values of the positions fed so far and of the
  // memory, so that a step costs one position (TransformerDecoder::start / step).
  TransformerDecoderCache cache;
  // Transformer decoder without the cache (recompute_prefix): the tokens fed so far, int64 [B, t];
  // every step re-runs the decoder over all of them. Slower; kept as the cache's reference.
  bool recompute_prefix = false;
  Tensor prefix;
  std::size_t position() const { return recompute_prefix ? (prefix.defined() ? prefix.shape()[1] : 0) : cache.positions; }
  // Row i of the result continues row rows[i] of this state (beam search).
  DecoderState select_rows(const Tensor& rows) const;
};

// The encoder's work for one batch, reused by every decoder step.
struct EncodedSource {
  Tensor states;       // [B, Ts, De]: keys and values
  Tensor mask;         // bool [B, Ts], true at real tokens
  ProjectedKeys keys;  // the scorer's projection of `states`, computed once
  Tensor mean;         // [B, De]: the mean context (ContextKind::mean only)
  Tensor memory;       // [B, Ts, H]: keys and values of the multi-head context or transformer decoder (states,
                       // projected if sizes differ)
  DecoderState initial;
  std::size_t batch() const { return states.shape()[0]; }
  // The same source repeated for beam search: row i of the result is row rows[i] of this one.
  EncodedSource select_rows(const Tensor& rows) const;
};

struct StepOutput {
  Tensor logits;   // [B, V]
  DecoderState state;
  Tensor weights;  // [B, Ts] attention of this step (undefined for none/mean); multi-head: the mean over heads
  Tensor head_weights;  // [B, heads, Ts]: each head's (multi-head context and transformer decoder only)
};

// How the decoder's next input is chosen during training (scheduled sampling, Bengio et al. 2015):
// with probability `teacher_forcing_ratio` the true previous token, else the model's own previous
// prediction (its argmax, or a sample from its distribution when `sample` is set). Decided per
// example and per step from `gen`. A ratio of 1 is plain teacher forcing. The transformer decoder,
// which reads all positions at once, does it in two passes (Mihaylova & Martins 2019): a first pass
// without gradients on the true inputs gives its predictions, which then replace the true inputs
// position by position with probability 1 - ratio for the trained pass.
struct FeedPolicy {
  double teacher_forcing_ratio = 1.0;
  bool sample = false;
  Generator* gen = nullptr;  // needed when teacher_forcing_ratio < 1
};

struct TrainOutput {
  Tensor logits;                // [B, Tt, V]
  std::vector<Tensor> weights;  // per target step [B, Ts] (empty for none/mean); multi-head: mean over heads
};

// A learned position table [max_positions, hidden_dim], drawn from N(0, hidden_dim^-1/2) (fairseq's).
std::shared_ptr<Embedding> make_position_table(const ModelConfig& config, Generator& gen);

class Seq2Seq : public Module {
 public:
  Seq2Seq(const ModelConfig& config, Generator& gen);

  // src int64 [B, Ts] (padded with pad_id), src_lengths int64 [B].
  // Dropout (training mode, dropout > 0) draws its masks from this thread's default_generator(), like
  // every layer's: a data-parallel shard makes its own seeded generator the default for its forward
  // pass (DefaultGeneratorScope), so masks never depend on the thread that runs the shard.
  EncodedSource encode(const Tensor& src, const Tensor& src_lengths) const;
  // One decoder step from the previous tokens (int64 [B]) and state.
  StepOutput step(const EncodedSource& source, const Tensor& prev_tokens, const DecoderState& state) const;
  // Every step over tgt_in (int64 [B, Tt], starting with <sos>), feeding tokens as `policy` says
  // (a transformer decoder: all positions at once).
  TrainOutput forward(const Tensor& src, const Tensor& src_lengths, const Tensor& tgt_in,
                      const FeedPolicy& policy = {}) const;

  const ModelConfig& config() const { return config_; }
  std::size_t context_dim() const { return context_dim_; }

 private:
  void build_transformer_decoder(Generator& gen);
  Tensor embed_source(const Tensor& src) const;
  Tensor context(const EncodedSource& source, const DecoderState& state, StepOutput& out) const;
  Tensor maybe_dropout(const Tensor& x) const;
  // Transformer decoder: token ids [B, T] at positions first.. -> scaled embeddings plus positions.
  Tensor embed_target(const Tensor& ids, std::size_t first) const;
  Tensor positions_of(const std::shared_ptr<Embedding>& table, std::size_t first, std::size_t count) const;
  Tensor project(const Tensor& features) const;  // -> logits
  Tensor transformer_logits(const EncodedSource& source, const Tensor& tgt_in, Tensor* cross_attention) const;
  StepOutput transformer_step(const EncodedSource& source, const Tensor& prev_tokens, const DecoderState& state) const;
  TrainOutput transformer_forward(const EncodedSource& source, const Tensor& tgt_in, const FeedPolicy& policy) const;

  ModelConfig config_;
  std::size_t encoder_dim_ = 0, context_dim_ = 0;
  std::shared_ptr<Embedding> src_embedding_, tgt_embedding_;
  std::shared_ptr<RecurrentLayers> rnn_encoder_;
  std::shared_ptr<TransformerEncoder> transformer_encoder_;
  std::shared_ptr<Linear> bridge_;       // encoder summary -> s_0, when their sizes differ or no RNN state
  std::shared_ptr<Linear> memory_proj_;  // encoder states -> hidden_dim for multi-head context, when sizes differ
  std::shared_ptr<Attention> attention_;
  std::shared_ptr<MultiheadAttention> multi_head_;
  std::shared_ptr<RecurrentCell> cell_;
  std::shared_ptr<TransformerDecoder> transformer_decoder_;
  std::shared_ptr<Embedding> src_positions_, tgt_positions_;  // learned positions only
  std::shared_ptr<Linear> output_;  // untied
  Tensor output_bias_;              // tied: the output layer is (tgt_embedding's weight, this bias)
};

}  // namespace seqgrad::nn::seq2seq
