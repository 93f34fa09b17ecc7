#pragma once
// Decoding: greedy and beam search, both batched, both returning each output step's attention.
// The answer is the most probable output sequence: greedy takes the best token at every step; beam
// search keeps the k best partial sequences and ranks finished ones by log-probability divided by
// Wu et al.'s (2016) length penalty lp(Y) = ((5 + |Y|) / 6)^alpha.
#include <cstdint>
#include <optional>
#include <vector>

#include "seqgrad/nn/seq2seq/model.hpp"

namespace seqgrad::nn::seq2seq {

struct DecodeOptions {
  std::size_t max_length = 100;  // output tokens, <eos> excluded
  std::int64_t sos_id = 1, eos_id = 2;
  std::size_t beam_width = 4;
  double length_penalty = 0.6;   // alpha; 0 ranks by raw log-probability
  // Transformer decoder: extend each layer's cached keys and values by one position per step (true),
  // or re-run the decoder over the whole prefix at every step (false: the cache's reference).
  bool cache = true;
  // Hypothesis::attention of a multi-head model: the mean over heads, or this head's weights.
  std::optional<std::size_t> attention_head = std::nullopt;
};

struct Hypothesis {
  std::vector<std::int64_t> tokens;            // without <sos> and <eos>
  double log_prob = 0;                         // sum of log p(y_t), <eos> included when emitted
  double score = 0;                            // log_prob / lp(|Y|) (greedy: log_prob)
  bool finished = false;                       // emitted <eos> before max_length
  std::vector<std::vector<double>> attention;  // per output step (<eos> included), weights over the real source tokens
};

// One hypothesis per source row. src int64 [B, Ts], src_lengths int64 [B]. Runs without gradients.
std::vector<Hypothesis> greedy_decode(const Seq2Seq& model, const Tensor& src, const Tensor& src_lengths,
                                      const DecodeOptions& options = {});
std::vector<Hypothesis> beam_search(const Seq2Seq& model, const Tensor& src, const Tensor& src_lengths,
                                    const DecodeOptions& options = {});
// The n best hypotheses of each source row (n in [1, beam_width], else std::invalid_argument), best
// score first: the finished ones the search kept (the alive ones when none finished). For n = 1 the
// search and its answer are beam_search's; for n > 1 it goes on until n hypotheses are finished and
// no alive one is more probable than the n-th, so its first scores at least as well as
// beam_search's. Fewer than n when max_length or the beam ran out first.
std::vector<std::vector<Hypothesis>> beam_search_nbest(const Seq2Seq& model, const Tensor& src, const Tensor& src_lengths,
                                                      const DecodeOptions& options, std::size_t n);

double length_penalty(std::size_t length, double alpha);

}  // namespace seqgrad::nn::seq2seq
