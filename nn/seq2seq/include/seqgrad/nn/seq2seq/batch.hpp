#pragma once
// Examples and padded batches.
//
// An Example is one (source, target) pair of token ids, without special tokens, plus the other
// targets that also count as correct (a word's alternate pronunciations) for the metrics. A Batch
// holds the tensors a sequence-to-sequence model consumes, B examples padded with <pad>:
//
//   src          int64 [B, Ts]  source ids, then <eos> (BatchOptions::source_eos), then <pad>
//   src_lengths  int64 [B]      real source tokens per row (the <eos> included)
//   tgt_in       int64 [B, Tt]  <sos> y1 .. yn, then <pad>   (teacher-forced decoder input)
//   tgt_out      int64 [B, Tt]  y1 .. yn <eos>, then <pad>   (what the decoder must predict; the
//                               loss skips <pad>)
//
// Ts and Tt are the longest row's lengths, so at least one row of each has no padding. The source
// mask is the encoder's to make, once, from src_lengths (Seq2Seq::encode).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "seqgrad/graph/tensor.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"

namespace seqgrad::nn::seq2seq {

struct Example {
  TokenIds source{};
  TokenIds target{};
  std::vector<TokenIds> alternatives{};  // other correct targets (may be empty)
};

// The target and its alternatives: every sequence the metrics accept for this example.
std::vector<TokenIds> references(const Example& example);

struct BatchOptions {
  // The encoder reads up to its end-of-sequence symbol, so by default every source ends with <eos>.
  bool source_eos = true;
};

struct Batch {
  Tensor src, src_lengths;
  Tensor tgt_in, tgt_out;
  std::size_t num_target_tokens = 0;         // real tokens of tgt_out (<eos> included): the loss's token count
  std::vector<std::size_t> example_indices;  // row b is examples[example_indices[b]]

  std::size_t size() const { return example_indices.size(); }
};

// Builds the batch of examples[i] for i in `indices` (rows in that order). Throws
// std::invalid_argument for no indices, an index out of range, a negative or special id inside a
// sequence, or a source that would be empty (no tokens and source_eos off).
Batch make_batch(const std::vector<Example>& examples, std::span<const std::size_t> indices,
                 const BatchOptions& options = {});

// The length of examples[i].source as the encoder sees it (the bucketing key).
std::size_t encoder_length(const Example& example, const BatchOptions& options = {});

}  // namespace seqgrad::nn::seq2seq
