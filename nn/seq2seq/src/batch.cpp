#include "seqgrad/nn/seq2seq/batch.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqgrad::nn::seq2seq {

namespace {

// The sequences of a batch must hold data symbols only: the batch adds the specials itself, and a
// <pad> inside a sequence would be masked out as if it were padding. <unk> is data: what a symbol
// outside the vocabulary is read as (evaluating on new data meets them).
void check_symbols(const TokenIds& ids, std::size_t example, const char* which) {
  for (std::size_t t = 0; t < ids.size(); ++t)
    if (ids[t] < kNumSpecials && ids[t] != kUnk)
      throw std::invalid_argument("make_batch: example " + std::to_string(example) + " has id " +
                                  std::to_string(ids[t]) + " at " + which + " position " + std::to_string(t) +
                                  " (ids 0-2 are special tokens the batch adds itself)");
}

}  // namespace

std::vector<TokenIds> references(const Example& example) {
  std::vector<TokenIds> refs{example.target};
  refs.insert(refs.end(), example.alternatives.begin(), example.alternatives.end());
  return refs;
}

std::size_t encoder_length(const Example& example, const BatchOptions& options) {
  return example.source.size() + (options.source_eos ? 1 : 0);
}

Batch make_batch(const std::vector<Example>& examples, std::span<const std::size_t> indices,
                 const BatchOptions& options) {
  if (indices.empty()) throw std::invalid_argument("make_batch: no examples");
  std::size_t src_width = 0, tgt_width = 0;
  for (std::size_t i : indices) {
    if (i >= examples.size())
      throw std::invalid_argument("make_batch: example index " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(examples.size()) + ")");
    const Example& ex = examples[i];
    check_symbols(ex.source, i, "source");
    check_symbols(ex.target, i, "target");
    const std::size_t src_len = encoder_length(ex, options);
    if (src_len == 0)
      throw std::invalid_argument("make_batch: example " + std::to_string(i) +
                                  " has an empty source (and source_eos is off): the encoder would read nothing");
    src_width = std::max(src_width, src_len);
    tgt_width = std::max(tgt_width, ex.target.size() + 1);
  }

  const std::size_t rows = indices.size();
  Batch batch;
  batch.src = Tensor::full({rows, src_width}, static_cast<double>(kPad), DType::i64);
  batch.src_lengths = Tensor::empty({rows}, DType::i64);
  batch.tgt_in = Tensor::full({rows, tgt_width}, static_cast<double>(kPad), DType::i64);
  batch.tgt_out = Tensor::full({rows, tgt_width}, static_cast<double>(kPad), DType::i64);
  batch.example_indices.assign(indices.begin(), indices.end());

  auto* src = batch.src.data<std::int64_t>();
  auto* src_lengths = batch.src_lengths.data<std::int64_t>();
  auto* tgt_in = batch.tgt_in.data<std::int64_t>();
  auto* tgt_out = batch.tgt_out.data<std::int64_t>();

  for (std::size_t b = 0; b < rows; ++b) {
    const Example& ex = examples[indices[b]];
    std::copy(ex.source.begin(), ex.source.end(), src + b * src_width);
    std::size_t src_len = ex.source.size();
    if (options.source_eos) src[b * src_width + src_len++] = kEos;
    src_lengths[b] = static_cast<std::int64_t>(src_len);

    const std::size_t n = ex.target.size();
    tgt_in[b * tgt_width] = kSos;
    std::copy(ex.target.begin(), ex.target.end(), tgt_in + b * tgt_width + 1);
    std::copy(ex.target.begin(), ex.target.end(), tgt_out + b * tgt_width);
    tgt_out[b * tgt_width + n] = kEos;
    batch.num_target_tokens += n + 1;
  }
  return batch;
}

}  // namespace seqgrad::nn::seq2seq
