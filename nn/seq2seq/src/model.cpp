// The encoder-decoder: encode once, then one decoder step per output token (see model.hpp for the
// equations).
#include <cmath>
#include <stdexcept>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/ops/ops.hpp"
#include "model_internal.hpp"

namespace seqgrad::nn::seq2seq {

using seqgrad::to_string;  // shapes, beside the kinds' to_string

namespace {

const char* const kEncoderNames[] = {"gru", "lstm", "transformer"};
const char* const kDecoderNames[] = {"gru", "lstm", "transformer"};
const char* const kContextNames[] = {"none", "mean", "dot", "scaled_dot", "general", "additive", "multi_head"};
const char* const kPositionNames[] = {"sinusoidal", "learned"};

template <class Enum, std::size_t N>
Enum parse_enum(const char* what, const std::string& name, const char* const (&names)[N]) {
  std::string known;
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<Enum>(i);
    known += (i ? ", " : "") + std::string(names[i]);
  }
  throw std::invalid_argument(std::string("seq2seq: unknown ") + what + " '" + name + "' (known: " + known + ")");
}

// bool [B, T], true where position < length.
Tensor length_mask(const std::vector<std::int64_t>& lengths, std::size_t steps) {
  Tensor mask = Tensor::empty({lengths.size(), steps}, DType::b8);
  bool* m = mask.data<bool>();
  for (std::size_t b = 0; b < lengths.size(); ++b)
    for (std::size_t t = 0; t < steps; ++t) m[b * steps + t] = static_cast<std::int64_t>(t) < lengths[b];
  return mask;
}

// Average of states [B, T, D] over the real positions: [B, D].
Tensor masked_mean(const Tensor& states, const Tensor& mask, const std::vector<std::int64_t>& lengths) {
  const std::size_t batch = lengths.size(), steps = mask.shape()[1];
  std::vector<double> w(batch * steps);
  const bool* m = mask.data<bool>();
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = m[i] ? 1.0 / double(lengths[i / steps]) : 0.0;
  return sum(states * Tensor::from(w, {batch, steps, 1}, states.dtype()), {1});
}

// Column t of an int64 [B, T] tensor as int64 [B].
Tensor column(const Tensor& ids, std::size_t t) {
  const std::size_t batch = ids.shape()[0], steps = ids.shape()[1];
  std::vector<std::int64_t> col(batch);
  const std::int64_t* d = ids.data<std::int64_t>();
  for (std::size_t b = 0; b < batch; ++b) col[b] = d[b * steps + t];
  return Tensor::from_indices(col, {batch});
}

// Rows `rows` of a [B, T] tensor of bools or int64 ids, copied on the host (index_select serves
// floating-point values); `what` names the caller in the error.
template <class T>
Tensor select_host_rows(const Tensor& t, const Tensor& rows, const char* what) {
  const std::size_t batch = t.shape()[0], steps = t.shape()[1], n = rows.numel();
  Tensor out = Tensor::empty({n, steps}, t.dtype());
  const T* src = t.data<T>();
  T* dst = out.data<T>();
  const std::int64_t* r = rows.data<std::int64_t>();
  for (std::size_t i = 0; i < n; ++i) {
    if (r[i] < 0 || static_cast<std::size_t>(r[i]) >= batch)
      throw std::out_of_range(std::string(what) + ": row " + std::to_string(r[i]) + " of " + std::to_string(batch));
    std::copy(src + r[i] * steps, src + (r[i] + 1) * steps, dst + i * steps);
  }
  return out;
}

std::vector<std::int64_t> checked_lengths(const Tensor& lengths, std::size_t batch, std::size_t steps) {
  if (lengths.dtype() != DType::i64 || lengths.shape() != Shape{batch})
    throw std::invalid_argument("Seq2Seq::encode: src_lengths must be int64 [" + std::to_string(batch) + "], got " +
                                dtype_name(lengths.dtype()) + " " + to_string(lengths.shape()));
  const std::int64_t* d = lengths.data<std::int64_t>();
  std::vector<std::int64_t> out(d, d + batch);
  for (std::size_t b = 0; b < batch; ++b)
    if (out[b] < 1 || out[b] > static_cast<std::int64_t>(steps))
      throw std::invalid_argument("Seq2Seq::encode: length " + std::to_string(out[b]) + " of sequence " +
                                  std::to_string(b) + " is outside [1, " + std::to_string(steps) + "]");
  return out;
}

}  // namespace

namespace detail {

// The model's own previous prediction per example: its argmax, or a draw from softmax(logits).
std::vector<std::int64_t> predictions(const Tensor& logits, bool sample, Generator& gen) {
  NoGradGuard no_grad;
  if (!sample) {
    const Tensor best = argmax(logits, -1);
    const std::int64_t* d = best.data<std::int64_t>();
    return {d, d + best.numel()};
  }
  const Tensor probs = softmax(logits.to(DType::f64), -1);
  const std::size_t batch = logits.shape()[0], vocab = logits.shape()[1];
  const double* p = probs.data<double>();
  std::vector<std::int64_t> out(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    double u = gen.uniform(), acc = 0;
    std::size_t k = 0;
    for (; k + 1 < vocab; ++k) {
      acc += p[b * vocab + k];
      if (u < acc) break;
    }
    out[b] = static_cast<std::int64_t>(k);
  }
  return out;
}

}  // namespace detail

EncoderKind parse_encoder_kind(const std::string& name) { return parse_enum<EncoderKind>("encoder", name, kEncoderNames); }
DecoderCell parse_decoder_cell(const std::string& name) { return parse_enum<DecoderCell>("decoder", name, kDecoderNames); }
ContextKind parse_context_kind(const std::string& name) { return parse_enum<ContextKind>("context", name, kContextNames); }
PositionKind parse_position_kind(const std::string& name) { return parse_enum<PositionKind>("positions", name, kPositionNames); }
std::string to_string(EncoderKind kind) { return kEncoderNames[static_cast<int>(kind)]; }
std::string to_string(DecoderCell cell) { return kDecoderNames[static_cast<int>(cell)]; }
std::string to_string(ContextKind kind) { return kContextNames[static_cast<int>(kind)]; }
std::string to_string(PositionKind kind) { return kPositionNames[static_cast<int>(kind)]; }

Seq2Seq::Seq2Seq(const ModelConfig& c, Generator& gen) : config_(c) {
  // One draw that once seeded a generator of the model's own: kept, so that a seed still gives the
  // initial weights it gave before (and the published runs can be repeated).
  (void)gen.next_u64();
  if (c.src_vocab == 0 || c.tgt_vocab == 0 || c.embedding_dim == 0 || c.hidden_dim == 0 || c.encoder_layers == 0)
    throw std::invalid_argument("Seq2Seq: vocabularies, embedding_dim, hidden_dim and encoder_layers must be positive");
  if (c.pad_id < 0 || static_cast<std::size_t>(c.pad_id) >= std::min(c.src_vocab, c.tgt_vocab))
    throw std::invalid_argument("Seq2Seq: pad_id " + std::to_string(c.pad_id) + " is outside both vocabularies");
  const bool transformer_decoder = c.decoder == DecoderCell::transformer;
  if (c.decoder_layers == 0 || (!transformer_decoder && c.decoder_layers != 1))
    throw std::invalid_argument("Seq2Seq: decoder_layers " + std::to_string(c.decoder_layers) + " with a " +
                                to_string(c.decoder) + " decoder (a recurrent decoder is one cell; a transformer needs >= 1)");
  if (c.tie_embeddings && !transformer_decoder)
    throw std::invalid_argument("Seq2Seq: tie_embeddings needs the transformer decoder (a " + to_string(c.decoder) +
                                " decoder's output layer reads [s_t; c_t], not an embedding-sized vector)");
  if (c.positions == PositionKind::learned && c.max_positions == 0)
    throw std::invalid_argument("Seq2Seq: learned positions need max_positions > 0");
  const bool uses_heads = c.encoder == EncoderKind::transformer || transformer_decoder ||
                          (!transformer_decoder && c.context == ContextKind::multi_head);
  if (uses_heads && (c.heads == 0 || c.hidden_dim % c.heads != 0))
    throw std::invalid_argument("Seq2Seq: hidden_dim " + std::to_string(c.hidden_dim) + " is not divisible by " +
                                std::to_string(c.heads) + " heads");
  const std::size_t H = c.hidden_dim;
  const EmbeddingOptions emb_options{.padding_idx = static_cast<std::size_t>(c.pad_id), .dtype = c.dtype};

  // Encoder. A transformer reads embeddings of size d_model = hidden_dim.
  const bool transformer = c.encoder == EncoderKind::transformer;
  src_embedding_ = register_module("src_embedding",
                                   std::make_shared<Embedding>(c.src_vocab, transformer ? H : c.embedding_dim, gen, emb_options));
  if (transformer && c.positions == PositionKind::learned)
    src_positions_ = register_module("src_positions", make_position_table(c, gen));
  std::size_t summary_dim = H;
  if (transformer) {
    TransformerEncoderOptions options;
    options.layer = {.dim_feedforward = c.feedforward_dim, .dropout = c.dropout, .norm_first = c.norm_first, .dtype = c.dtype};
    options.final_norm = c.norm_first;
    transformer_encoder_ = register_module(
        "encoder", std::make_shared<TransformerEncoder>(H, c.heads, c.encoder_layers, gen, options));
    encoder_dim_ = H;
  } else {
    const RecurrentOptions options{.num_layers = c.encoder_layers, .batch_first = true, .dropout = c.dropout,
                                   .bidirectional = c.bidirectional, .dtype = c.dtype};
    if (c.encoder == EncoderKind::gru)
      rnn_encoder_ = register_module("encoder", std::make_shared<GRU>(c.embedding_dim, H, gen, options));
    else
      rnn_encoder_ = register_module("encoder", std::make_shared<LSTM>(c.embedding_dim, H, gen, options));
    encoder_dim_ = c.bidirectional ? 2 * H : H;
    summary_dim = encoder_dim_;
  }
  if (transformer_decoder) {
    build_transformer_decoder(gen);
    return;
  }
  // s_0 is the encoder's final state itself when it fits; otherwise tanh(bridge(summary)).
  if (transformer || summary_dim != H)
    bridge_ = register_module("bridge", std::make_shared<Linear>(summary_dim, H, gen, LinearOptions{.dtype = c.dtype}));

  // Context.
  const AttentionOptions attention_options{.dtype = c.dtype};
  switch (c.context) {
    case ContextKind::none: context_dim_ = 0; break;
    case ContextKind::mean: context_dim_ = encoder_dim_; break;
    case ContextKind::dot:
    case ContextKind::scaled_dot:
      if (encoder_dim_ != H)
        throw std::invalid_argument("Seq2Seq: " + to_string(c.context) + " attention needs encoder states of the decoder's size " +
                                    std::to_string(H) + ", got " + std::to_string(encoder_dim_) +
                                    " (use general or additive attention)");
      if (c.context == ContextKind::dot) attention_ = register_module("attention", std::make_shared<DotAttention>());
      else attention_ = register_module("attention", std::make_shared<ScaledDotAttention>());
      context_dim_ = encoder_dim_;
      break;
    case ContextKind::general:
      attention_ = register_module("attention", std::make_shared<GeneralAttention>(H, encoder_dim_, gen, attention_options));
      context_dim_ = encoder_dim_;
      break;
    case ContextKind::additive:
      attention_ = register_module(
          "attention", std::make_shared<AdditiveAttention>(H, encoder_dim_, c.attention_dim, gen, attention_options));
      context_dim_ = encoder_dim_;
      break;
    case ContextKind::multi_head:
      if (encoder_dim_ != H)
        memory_proj_ = register_module("memory_proj", std::make_shared<Linear>(encoder_dim_, H, gen, LinearOptions{.dtype = c.dtype}));
      multi_head_ = register_module(
          "attention", std::make_shared<MultiheadAttention>(H, c.heads, gen, MultiheadAttentionOptions{.dtype = c.dtype}));
      context_dim_ = H;
      break;
  }

  // Decoder: the cell reads [embed(y_{t-1}); c_t], the output layer [s_t; c_t].
  tgt_embedding_ = register_module("tgt_embedding", std::make_shared<Embedding>(c.tgt_vocab, c.embedding_dim, gen, emb_options));
  const CellOptions cell_options{.dtype = c.dtype};
  if (c.decoder == DecoderCell::gru)
    cell_ = register_module("decoder", std::make_shared<GRUCell>(c.embedding_dim + context_dim_, H, gen, cell_options));
  else
    cell_ = register_module("decoder", std::make_shared<LSTMCell>(c.embedding_dim + context_dim_, H, gen, cell_options));
  output_ = register_module("output", std::make_shared<Linear>(H + context_dim_, c.tgt_vocab, gen, LinearOptions{.dtype = c.dtype}));
}

Tensor Seq2Seq::maybe_dropout(const Tensor& x) const {
  if (config_.dropout <= 0 || !is_training()) return x;
  return dropout(x, config_.dropout, true, default_generator());
}

Tensor Seq2Seq::embed_source(const Tensor& src) const {
  Tensor x = src_embedding_->forward(src);  // [B, Ts, E]
  if (transformer_encoder_) {
    // Plus positions. Not scaled by sqrt(d) as in Vaswani et al.: their embeddings start at std
    // d^-1/2, ours (as torch's nn.Embedding) at std 1, already the scale of the encodings; scaled,
    // they would drown the positions, and a task such as copying depends on nothing else.
    x = x + positions_of(src_positions_, 0, src.shape()[1]);
  }
  return maybe_dropout(x);
}

EncodedSource Seq2Seq::encode(const Tensor& src, const Tensor& src_lengths) const {
  if (src.dtype() != DType::i64 || src.dim() != 2 || src.shape()[1] == 0)
    throw std::invalid_argument(std::string("Seq2Seq::encode: src must be int64 [B, Ts] with Ts > 0, got ") +
                                dtype_name(src.dtype()) + " " + to_string(src.shape()));
  const std::size_t batch = src.shape()[0], steps = src.shape()[1], H = config_.hidden_dim;
  const std::vector<std::int64_t> lengths = checked_lengths(src_lengths, batch, steps);
  EncodedSource out;
  out.mask = length_mask(lengths, steps);
  const Tensor x = embed_source(src);

  Tensor summary, final_cell;
  if (rnn_encoder_) {
    SequenceOutput seq;
    if (auto* gru = dynamic_cast<GRU*>(rnn_encoder_.get())) seq = gru->forward(x, src_lengths);
    else seq = static_cast<LSTM*>(rnn_encoder_.get())->forward(x, src_lengths);
    out.states = seq.output;  // [B, Ts, D*H], zero at padding
    // The last layer's final states (each direction's own last real step), as [B, D*H].
    const std::size_t dirs = rnn_encoder_->num_directions(), top = (config_.encoder_layers - 1) * dirs;
    summary = reshape(permute(narrow(seq.h_n, 0, top, dirs), {1, 0, 2}), {batch, dirs * H});
    if (seq.c_n.defined() && dirs == 1) final_cell = reshape(narrow(seq.c_n, 0, top, 1), {batch, H});
  } else {
    out.states = transformer_encoder_->forward(x, out.mask);  // [B, Ts, H]
    if (!transformer_decoder_) summary = masked_mean(out.states, out.mask, lengths);
  }
  if (transformer_decoder_) {  // its cross-attention's keys and values; its cache starts at the first step
    out.memory = memory_proj_ ? memory_proj_->forward(out.states) : out.states;
    return out;
  }

  out.initial.h = bridge_ ? tanh(bridge_->forward(summary)) : summary;
  if (config_.decoder == DecoderCell::lstm)
    out.initial.c = final_cell.defined() && !bridge_ ? final_cell : Tensor::zeros({batch, H}, config_.dtype);

  switch (config_.context) {
    case ContextKind::none: break;
    case ContextKind::mean: out.mean = masked_mean(out.states, out.mask, lengths); break;
    case ContextKind::multi_head: out.memory = memory_proj_ ? memory_proj_->forward(out.states) : out.states; break;
    default: out.keys = attention_->precompute_keys(out.states); break;
  }
  return out;
}

Tensor Seq2Seq::context(const EncodedSource& source, const DecoderState& state, StepOutput& out) const {
  switch (config_.context) {
    case ContextKind::none: return Tensor();
    case ContextKind::mean: return source.mean;
    case ContextKind::multi_head: {  // the query is s_{t-1} as a one-token sequence
      const std::size_t batch = state.h.shape()[0], H = config_.hidden_dim;
      const AttentionOutput a = multi_head_->forward(unsqueeze(state.h, 1), source.memory, source.memory, source.mask);
      // weights [B, heads, 1, Ts] -> [B, heads, Ts] and their mean over heads, [B, Ts], for pictures
      out.head_weights = reshape(a.weights, {batch, config_.heads, a.weights.shape()[3]});
      out.weights = mean(out.head_weights, {1});
      return reshape(a.context, {batch, H});
    }
    default: {
      const AttentionOutput a = attention_->forward(state.h, source.keys, source.states, source.mask);
      out.weights = a.weights;
      return a.context;
    }
  }
}

StepOutput Seq2Seq::step(const EncodedSource& source, const Tensor& prev_tokens, const DecoderState& state) const {
  if (prev_tokens.dtype() != DType::i64 || prev_tokens.shape() != Shape{source.batch()})
    throw std::invalid_argument("Seq2Seq::step: prev_tokens must be int64 [" + std::to_string(source.batch()) +
                                "], got " + dtype_name(prev_tokens.dtype()) + " " + to_string(prev_tokens.shape()));
  if (transformer_decoder_) return transformer_step(source, prev_tokens, state);
  StepOutput out;
  const Tensor emb = maybe_dropout(tgt_embedding_->forward(prev_tokens));  // [B, E]
  const Tensor c = context(source, state, out);                          // c_t from s_{t-1}
  const Tensor input = c.defined() ? concat({emb, c}, 1) : emb;
  if (auto* gru = dynamic_cast<GRUCell*>(cell_.get())) {
    out.state.h = gru->forward(input, state.h);
  } else {
    const LSTMState s = static_cast<LSTMCell*>(cell_.get())->forward(input, {state.h, state.c});
    out.state.h = s.h;
    out.state.c = s.c;
  }
  const Tensor features = c.defined() ? concat({out.state.h, c}, 1) : out.state.h;
  out.logits = output_->forward(maybe_dropout(features));
  return out;
}

TrainOutput Seq2Seq::forward(const Tensor& src, const Tensor& src_lengths, const Tensor& tgt_in,
                             const FeedPolicy& policy) const {
  if (tgt_in.dtype() != DType::i64 || tgt_in.dim() != 2 || tgt_in.shape()[0] != src.shape()[0] || tgt_in.shape()[1] == 0)
    throw std::invalid_argument("Seq2Seq::forward: tgt_in must be int64 [B, Tt] with B = " +
                                std::to_string(src.shape()[0]) + ", got " + dtype_name(tgt_in.dtype()) + " " +
                                to_string(tgt_in.shape()));
  const bool always_truth = policy.teacher_forcing_ratio >= 1.0;
  if (!(policy.teacher_forcing_ratio >= 0.0 && policy.teacher_forcing_ratio <= 1.0))
    throw std::invalid_argument("Seq2Seq::forward: teacher_forcing_ratio must be in [0, 1], got " +
                                std::to_string(policy.teacher_forcing_ratio));
  if (!always_truth && policy.gen == nullptr)
    throw std::invalid_argument("Seq2Seq::forward: scheduled sampling needs a generator (FeedPolicy::gen)");

  if (transformer_decoder_) return transformer_forward(encode(src, src_lengths), tgt_in, policy);
  WeightTransposeScope transposed_weights;  // the decoder's weights serve every step: transpose them once
  const EncodedSource source = encode(src, src_lengths);
  const std::size_t batch = tgt_in.shape()[0], steps = tgt_in.shape()[1];
  TrainOutput out;
  std::vector<Tensor> logits;
  DecoderState state = source.initial;
  Tensor prev = column(tgt_in, 0);  // <sos>
  for (std::size_t t = 0; t < steps; ++t) {
    if (t > 0) {
      prev = column(tgt_in, t);
      if (!always_truth) {  // scheduled sampling: per example, the truth with probability eps, else our guess
        const std::vector<std::int64_t> guess = detail::predictions(logits.back(), policy.sample, *policy.gen);
        std::int64_t* p = prev.data<std::int64_t>();
        for (std::size_t b = 0; b < batch; ++b)
          if (policy.gen->uniform() >= policy.teacher_forcing_ratio) p[b] = guess[b];
      }
    }
    StepOutput s = step(source, prev, state);
    logits.push_back(s.logits);
    if (s.weights.defined()) out.weights.push_back(s.weights);
    state = s.state;
  }
  out.logits = stack(logits, 1);  // [B, Tt, V]
  return out;
}

EncodedSource EncodedSource::select_rows(const Tensor& rows) const {
  auto pick = [&](const Tensor& t) { return t.defined() ? index_select(t, 0, rows) : t; };
  EncodedSource out;
  out.states = pick(states);
  out.keys = {pick(keys.keys), keys.made_by};
  out.mean = pick(mean);
  out.memory = pick(memory);
  out.mask = select_host_rows<bool>(mask, rows, "EncodedSource::select_rows");
  out.initial = initial.select_rows(rows);
  return out;
}

DecoderState DecoderState::select_rows(const Tensor& rows) const {
  DecoderState out = *this;
  if (h.defined()) out.h = index_select(h, 0, rows);
  if (c.defined()) out.c = index_select(c, 0, rows);
  if (!cache.layers.empty()) TransformerDecoder::reorder(out.cache, rows);
  if (prefix.defined()) out.prefix = select_host_rows<std::int64_t>(prefix, rows, "DecoderState::select_rows");
  return out;
}

}  // namespace seqgrad::nn::seq2seq
