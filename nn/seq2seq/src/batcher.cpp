#include "seqgrad/nn/seq2seq/batcher.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

#include "seqgrad/graph/random.hpp"

namespace seqgrad::nn::seq2seq {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Fisher-Yates with Generator::below: the same permutation on every machine (std::shuffle's
// algorithm is implementation-defined).
template <class T>
void shuffle(std::vector<T>& items, Generator& gen) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[gen.below(i)]);
}

std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

}  // namespace

std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t epoch) { return splitmix64(splitmix64(seed) ^ epoch); }

Batcher::Batcher(std::vector<std::size_t> lengths, BatcherOptions options)
    : lengths_(std::move(lengths)), options_(options) {
  if (lengths_.empty()) throw std::invalid_argument("Batcher: no examples");
  if (options_.batch_size == 0) throw std::invalid_argument("Batcher: batch_size must be positive");
  // Every chunk but the last is a whole number of batches, so only the last chunk adds a short batch.
  const std::size_t n = lengths_.size();
  const std::size_t chunk = options_.chunk_batches == 0 ? n : options_.chunk_batches * options_.batch_size;
  const std::size_t full_chunks = n / chunk, rest = n % chunk;
  batches_per_epoch_ = full_chunks * ceil_div(chunk, options_.batch_size) + ceil_div(rest, options_.batch_size);
}

Batcher::Batches Batcher::epoch_batches(std::uint64_t epoch) const {
  const std::size_t n = lengths_.size(), bs = options_.batch_size;
  Generator gen(mix_seed(options_.seed, epoch));
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (options_.shuffle) shuffle(order, gen);

  const std::size_t chunk = options_.chunk_batches == 0 ? n : options_.chunk_batches * bs;
  Batches batches;
  batches.reserve(batches_per_epoch_);
  for (std::size_t begin = 0; begin < n; begin += chunk) {
    const auto first = order.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(n, begin + chunk));
    std::stable_sort(first, last, [&](std::size_t a, std::size_t b) { return lengths_[a] < lengths_[b]; });
    for (auto it = first; it < last; it += static_cast<std::ptrdiff_t>(std::min<std::size_t>(bs, last - it)))
      batches.emplace_back(it, it + static_cast<std::ptrdiff_t>(std::min<std::size_t>(bs, last - it)));
  }
  if (options_.shuffle) shuffle(batches, gen);
  return batches;
}

void Batcher::restore(State state) {
  if (state.position > batches_per_epoch_)
    throw std::invalid_argument("Batcher::restore: position " + std::to_string(state.position) + " is past the " +
                                std::to_string(batches_per_epoch_) + " batches of an epoch");
  state_ = state;
}

const std::vector<std::size_t>& Batcher::next() {
  if (state_.position == batches_per_epoch_) {
    ++state_.epoch;
    state_.position = 0;
  }
  if (current_epoch_ != state_.epoch) {
    current_ = epoch_batches(state_.epoch);
    current_epoch_ = state_.epoch;
  }
  return current_[state_.position++];
}

}  // namespace seqgrad::nn::seq2seq
