#pragma once
// Length-bucketed batches for training and evaluation.
//
// One epoch's batches, for a seed and an epoch number:
//   1. shuffle the example indices (skipped when shuffle is off);
//   2. cut that order into chunks of chunk_batches * batch_size examples and sort each chunk by
//      length (a stable sort, so equal lengths keep their shuffled order), so examples of similar
//      length meet in a batch and padding stays small;
//   3. cut each chunk into batches of batch_size (a chunk's last batch may be smaller);
//   4. shuffle the order of all the epoch's batches (skipped when shuffle is off), so training does
//      not walk from short to long within each chunk.
// The shuffles draw from a Generator seeded by mixing (seed, epoch): the order of epoch e is a pure
// function of (seed, e, lengths, options). Resuming therefore needs only State{epoch, position}:
// restore() recomputes that epoch's order and continues at `position`, giving the same batches as
// an uninterrupted run. Every example is in exactly one batch of every epoch.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace seqgrad::nn::seq2seq {

struct BatcherOptions {
  std::size_t batch_size = 64;      // examples per batch
  std::size_t chunk_batches = 100;  // batches per sorting chunk; 0: the whole data is one chunk
  bool shuffle = true;              // off: the data's own order, sorted within chunks (evaluation)
  std::uint64_t seed = 0;
};

class Batcher {
 public:
  using Batches = std::vector<std::vector<std::size_t>>;  // each batch: example indices

  // lengths[i]: the bucketing key of example i (its encoder length, see encoder_length()).
  // Throws std::invalid_argument for no examples or a batch size of 0.
  Batcher(std::vector<std::size_t> lengths, BatcherOptions options);

  // The batches of `epoch` (a pure function of the seed, the epoch, the lengths and the options).
  Batches epoch_batches(std::uint64_t epoch) const;
  std::size_t batches_per_epoch() const { return batches_per_epoch_; }
  const BatcherOptions& options() const { return options_; }

  // Where iteration stands: the next batch is batch `position` of epoch `epoch`.
  struct State {
    std::uint64_t epoch = 0;
    std::size_t position = 0;
    bool operator==(const State&) const = default;
  };
  State state() const { return state_; }
  // Continues at `state`. Throws std::invalid_argument when position > batches_per_epoch()
  // (position == batches_per_epoch() is the end of that epoch: next() moves on to the next one).
  void restore(State state);

  // The next batch's example indices; after an epoch's last batch, the first of the next epoch.
  // The reference stays valid until the next call of next() or restore().
  const std::vector<std::size_t>& next();
  // True after an epoch's last batch (until next() starts the following epoch).
  bool epoch_finished() const { return state_.position == batches_per_epoch_; }

 private:
  std::vector<std::size_t> lengths_;
  BatcherOptions options_;
  std::size_t batches_per_epoch_ = 0;
  State state_;
  Batches current_;                    // the batches of current_epoch_, once computed
  std::uint64_t current_epoch_ = ~std::uint64_t{0};  // none computed yet
};

// A 64-bit seed for the stream of `epoch` under `seed` (splitmix64 of both): neighbouring seeds and
// epochs give unrelated streams.
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t epoch);

}  // namespace seqgrad::nn::seq2seq
