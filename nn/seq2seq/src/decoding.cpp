// Greedy decoding and beam search over Seq2Seq::step.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/seq2seq/decoding.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::nn::seq2seq {

namespace {

std::vector<std::int64_t> lengths_of(const Tensor& src_lengths) {
  const std::int64_t* d = src_lengths.data<std::int64_t>();
  return {d, d + src_lengths.numel()};
}

// The step's weights [B, Ts] that `options` asks for: the mean over heads, or one head's.
Tensor chosen(const StepOutput& s, const DecodeOptions& options) {
  if (!options.attention_head || !s.weights.defined()) return s.weights;
  if (!s.head_weights.defined())
    throw std::invalid_argument("decode: attention_head " + std::to_string(*options.attention_head) +
                                " asked of a model whose attention has no heads");
  const std::size_t heads = s.head_weights.shape()[1], steps = s.head_weights.shape()[2];
  if (*options.attention_head >= heads)
    throw std::invalid_argument("decode: attention_head " + std::to_string(*options.attention_head) +
                                " is not one of the model's " + std::to_string(heads) + " heads (0-based)");
  return reshape(narrow(s.head_weights, 1, *options.attention_head, 1), {s.head_weights.shape()[0], steps});
}

// One decoder step's attention [B, Ts] on the host, read once per step (not once per row).
struct StepAttention {
  std::vector<double> values;  // empty when the model has no attention
  std::size_t steps = 0;
  explicit StepAttention(const Tensor& weights)
      : values(weights.defined() ? weights.to_vector() : std::vector<double>{}),
        steps(weights.defined() ? weights.shape()[1] : 0) {}
  // The step's weights as `options` asks: the mean over heads, or one head's.
  StepAttention(const StepOutput& s, const DecodeOptions& options) : StepAttention(chosen(s, options)) {}
  // Row r's weights over its first `length` source positions (the real tokens).
  std::vector<double> row(std::size_t r, std::int64_t length) const {
    if (values.empty()) return {};
    const auto begin = values.begin() + static_cast<long>(r * steps);
    return {begin, begin + length};
  }
};

void check_options(const DecodeOptions& o) {
  if (o.max_length == 0 || o.beam_width == 0)
    throw std::invalid_argument("decode: max_length and beam_width must be positive, got " +
                                std::to_string(o.max_length) + " and " + std::to_string(o.beam_width));
  if (o.length_penalty < 0)
    throw std::invalid_argument("decode: length_penalty must be >= 0, got " + std::to_string(o.length_penalty));
}

}  // namespace

double length_penalty(std::size_t length, double alpha) { return std::pow((5.0 + double(length)) / 6.0, alpha); }

std::vector<Hypothesis> greedy_decode(const Seq2Seq& model, const Tensor& src, const Tensor& src_lengths,
                                      const DecodeOptions& options) {
  check_options(options);
  NoGradGuard no_grad;
  WeightTransposeScope transposed_weights;  // the decoder's weights serve every step: transpose them once
  const EncodedSource source = model.encode(src, src_lengths);
  const std::vector<std::int64_t> lengths = lengths_of(src_lengths);
  const std::size_t batch = source.batch();
  std::vector<Hypothesis> out(batch);
  DecoderState state = source.initial;
  state.recompute_prefix = !options.cache;
  Tensor prev = Tensor::from_indices(std::vector<std::int64_t>(batch, options.sos_id), {batch});
  std::size_t done = 0;
  for (std::size_t t = 0; t <= options.max_length && done < batch; ++t) {
    const StepOutput s = model.step(source, prev, state);
    const StepAttention attention(s, options);
    const Tensor logp = log_softmax(s.logits, -1).to(DType::f64);
    const Tensor best = argmax(logp, -1);
    const std::int64_t* b = best.data<std::int64_t>();
    const double* lp = logp.data<double>();
    const std::size_t vocab = logp.shape()[1];
    std::int64_t* next = prev.data<std::int64_t>();
    for (std::size_t r = 0; r < batch; ++r) {
      Hypothesis& h = out[r];
      if (h.finished || h.tokens.size() >= options.max_length) { next[r] = options.eos_id; continue; }
      h.log_prob += lp[r * vocab + static_cast<std::size_t>(b[r])];
      h.attention.push_back(attention.row(r, lengths[r]));
      if (b[r] == options.eos_id) {
        h.finished = true;
      } else {
        h.tokens.push_back(b[r]);
      }
      if (h.finished || h.tokens.size() >= options.max_length) ++done;
      next[r] = b[r];
    }
    state = s.state;
  }
  for (Hypothesis& h : out) h.score = h.log_prob;
  return out;
}

std::vector<std::vector<Hypothesis>> beam_search_nbest(const Seq2Seq& model, const Tensor& src, const Tensor& src_lengths,
                                                      const DecodeOptions& options, std::size_t n) {
  check_options(options);
  if (n == 0 || n > options.beam_width)
    throw std::invalid_argument("beam_search_nbest: n must be in [1, beam_width = " + std::to_string(options.beam_width) +
                                "], got " + std::to_string(n));
  NoGradGuard no_grad;
  WeightTransposeScope transposed_weights;  // the decoder's weights serve every step: transpose them once
  const std::size_t k = options.beam_width;
  const EncodedSource full = model.encode(src, src_lengths);
  const std::vector<std::int64_t> lengths = lengths_of(src_lengths);
  const std::size_t batch = full.batch();

  // Row b * k + j of every tensor is beam j of source b.
  std::vector<std::int64_t> rows(batch * k);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int64_t>(i / k);
  const EncodedSource source = full.select_rows(Tensor::from_indices(rows, {rows.size()}));
  DecoderState state = source.initial;
  state.recompute_prefix = !options.cache;

  struct Beam {
    Hypothesis h;
    std::int64_t last = 0;
  };
  // Only beam 0 starts alive: the k start beams are the same sequence.
  std::vector<std::vector<Beam>> alive(batch), finished(batch);
  for (std::size_t b = 0; b < batch; ++b) alive[b].push_back({Hypothesis{}, options.sos_id});

  // A source's search ends when its best continuation is <eos> (the best hypothesis is finished:
  // every alive one is already less probable) or at max_length. For n > 1 it goes on until n are
  // finished and no alive one is more probable than the n-th of them (log-probabilities only fall).
  const auto search_is_over = [](const std::vector<Beam>& done, bool best_is_eos, const std::vector<Beam>& next, std::size_t n) {
    if (n == 1) return best_is_eos;
    if (next.empty()) return true;
    if (done.size() < n) return false;
    std::vector<double> log_probs;
    for (const Beam& d : done) log_probs.push_back(d.h.log_prob);
    std::nth_element(log_probs.begin(), log_probs.begin() + static_cast<long>(n - 1), log_probs.end(), std::greater<>());
    return next.front().h.log_prob <= log_probs[n - 1];
  };
  for (std::size_t t = 0; t <= options.max_length; ++t) {
    bool any = false;
    for (std::size_t b = 0; b < batch; ++b) any = any || !alive[b].empty();
    if (!any) break;
    // Feed each alive beam's last token; dead rows get <eos> (their results are ignored).
    std::vector<std::int64_t> prev(batch * k, options.eos_id);
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < alive[b].size(); ++j) prev[b * k + j] = alive[b][j].last;
    const StepOutput s = model.step(source, Tensor::from_indices(prev, {prev.size()}), state);
    const StepAttention attention(s, options);
    const Tensor logp_t = log_softmax(s.logits, -1).to(DType::f64);
    const double* logp = logp_t.data<double>();
    const std::size_t vocab = logp_t.shape()[1];

    std::vector<std::int64_t> parent_rows(batch * k);
    for (std::size_t b = 0; b < batch; ++b) {
      std::vector<Beam> next;
      if (!alive[b].empty()) {
        // Candidates: (beam j, token v), best cumulative log-probability first; ties to the lower index.
        struct Candidate { double log_prob; std::size_t j; std::int64_t v; };
        std::vector<Candidate> cands;
        cands.reserve(alive[b].size() * vocab);
        for (std::size_t j = 0; j < alive[b].size(); ++j)
          for (std::size_t v = 0; v < vocab; ++v)
            cands.push_back({alive[b][j].h.log_prob + logp[(b * k + j) * vocab + v], j, static_cast<std::int64_t>(v)});
        const std::size_t keep = std::min(cands.size(), 2 * k);  // at most k of them end with <eos>
        std::partial_sort(cands.begin(), cands.begin() + static_cast<long>(keep), cands.end(),
                          [](const Candidate& x, const Candidate& y) {
                            if (x.log_prob != y.log_prob) return x.log_prob > y.log_prob;
                            return x.j != y.j ? x.j < y.j : x.v < y.v;
                          });
        for (std::size_t c = 0; c < keep && next.size() < k; ++c) {
          const Beam& parent = alive[b][cands[c].j];
          Beam child{parent.h, cands[c].v};
          child.h.log_prob = cands[c].log_prob;
          child.h.attention.push_back(attention.row(b * k + cands[c].j, lengths[b]));
          if (cands[c].v == options.eos_id) {
            child.h.finished = true;
            finished[b].push_back(std::move(child));
            continue;
          }
          child.h.tokens.push_back(cands[c].v);
          if (child.h.tokens.size() >= options.max_length) {
            finished[b].push_back(std::move(child));
            continue;
          }
          parent_rows[b * k + next.size()] = static_cast<std::int64_t>(b * k + cands[c].j);
          next.push_back(std::move(child));
        }
        if (search_is_over(finished[b], cands.front().v == options.eos_id, next, n)) next.clear();
      }
      for (std::size_t j = next.size(); j < k; ++j) parent_rows[b * k + j] = static_cast<std::int64_t>(b * k);
      alive[b] = std::move(next);
    }
    // Each new beam continues from its parent's decoder state.
    state = s.state.select_rows(Tensor::from_indices(parent_rows, {parent_rows.size()}));
  }

  std::vector<std::vector<Hypothesis>> out(batch);
  for (std::size_t b = 0; b < batch; ++b) {
    std::vector<Beam>& pool = finished[b].empty() ? alive[b] : finished[b];
    for (Beam& beam : pool) beam.h.score = beam.h.log_prob / length_penalty(beam.h.tokens.size() + (beam.h.finished ? 1 : 0), options.length_penalty);
    // Best score first; equal scores keep the order in which the search found them.
    std::stable_sort(pool.begin(), pool.end(), [](const Beam& x, const Beam& y) { return x.h.score > y.h.score; });
    for (std::size_t i = 0; i < pool.size() && i < n; ++i) out[b].push_back(std::move(pool[i].h));
  }
  return out;
}

std::vector<Hypothesis> beam_search(const Seq2Seq& model, const Tensor& src, const Tensor& src_lengths,
                                    const DecodeOptions& options) {
  std::vector<std::vector<Hypothesis>> nbest = beam_search_nbest(model, src, src_lengths, options, 1);
  std::vector<Hypothesis> out(nbest.size());
  for (std::size_t b = 0; b < nbest.size(); ++b)
    if (!nbest[b].empty()) out[b] = std::move(nbest[b][0]);
  return out;
}

}  // namespace seqgrad::nn::seq2seq
