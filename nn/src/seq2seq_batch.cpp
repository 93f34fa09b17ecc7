#include "seqgrad/nn/seq2seq/batch.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqgrad::nn::seq2seq {

namespace {

// The sequences of a batch must hold data symbols only: the batch adds the specials itself, and a
// <pad> inside a sequence would be masked out as if it were padding.
void check_symbols(const TokenIds& ids, std::size_t example, const char* which) {
  for (std::size_t t = 0; t < ids.size(); ++t)
    if (ids[t] < kNumSpecials)
      throw std::invalid_argument("make_batch: example " + std::to_string(example) + " has id " +
                                  std::to_string(ids[t]) + " at " + which + " position " + std::to_string(t) +
                                  " (ids below 4 are special tokens the batch adds itself)");
}

// Copies `ids` into row `row` of a [rows, width] int64 tensor at offset `offset`, sets the mask
// over the real tokens; the rest of the row stays <pad> / false.
void put_row(std::int64_t* out, bool* mask, std::size_t width, std::size_t row, std::size_t offset,
             const TokenIds& ids) {
  std::copy(ids.begin(), ids.end(), out + row * width + offset);
  std::fill_n(mask + row * width + offset, ids.size(), true);
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
  batch.src_mask = Tensor::zeros({rows, src_width}, DType::b8);
  batch.tgt_in = Tensor::full({rows, tgt_width}, static_cast<double>(kPad), DType::i64);
  batch.tgt_out = Tensor::full({rows, tgt_width}, static_cast<double>(kPad), DType::i64);
  batch.tgt_lengths = Tensor::empty({rows}, DType::i64);
  batch.tgt_mask = Tensor::zeros({rows, tgt_width}, DType::b8);
  batch.example_indices.assign(indices.begin(), indices.end());

  auto* src = batch.src.data<std::int64_t>();
  auto* src_lengths = batch.src_lengths.data<std::int64_t>();
  auto* src_mask = batch.src_mask.data<bool>();
  auto* tgt_in = batch.tgt_in.data<std::int64_t>();
  auto* tgt_out = batch.tgt_out.data<std::int64_t>();
  auto* tgt_lengths = batch.tgt_lengths.data<std::int64_t>();
  auto* tgt_mask = batch.tgt_mask.data<bool>();

  for (std::size_t b = 0; b < rows; ++b) {
    const Example& ex = examples[indices[b]];
    put_row(src, src_mask, src_width, b, 0, ex.source);
    std::size_t src_len = ex.source.size();
    if (options.source_eos) {
      src[b * src_width + src_len] = kEos;
      src_mask[b * src_width + src_len] = true;
      ++src_len;
    }
    src_lengths[b] = static_cast<std::int64_t>(src_len);

    const std::size_t n = ex.target.size();
    tgt_in[b * tgt_width] = kSos;
    std::copy(ex.target.begin(), ex.target.end(), tgt_in + b * tgt_width + 1);
    put_row(tgt_out, tgt_mask, tgt_width, b, 0, ex.target);
    tgt_out[b * tgt_width + n] = kEos;
    tgt_mask[b * tgt_width + n] = true;
    tgt_lengths[b] = static_cast<std::int64_t>(n + 1);
    batch.num_target_tokens += n + 1;
  }
  return batch;
}

}  // namespace seqgrad::nn::seq2seq
