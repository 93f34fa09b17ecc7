#pragma once
// Tiny data the seq2seq model tests share: a padded batch of two pairs, and four short sequences to
// reverse (the task that shows a model can fit a few pairs exactly: each output step must find the
// right source position, so it needs working attention).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"

namespace seqgrad::seq2seq_test {

// Two sources of lengths 4 and 2 (padded), targets <sos> y.. (tgt_in) and y.. <eos> (tgt_out).
struct TinyBatch {
  Tensor src = Tensor::from_indices({4, 5, 6, 2, 7, 2, 0, 0}, {2, 4});
  Tensor lengths = Tensor::from_indices({4, 2}, {2});
  Tensor tgt_in = Tensor::from_indices({1, 6, 5, 4, 1, 7, 0, 0}, {2, 4});
  Tensor tgt_out = Tensor::from_indices({6, 5, 4, 2, 7, 2, 0, 0}, {2, 4});
};

struct FourReversals {
  Tensor src = Tensor::from_indices({4, 5, 6, 2, 7, 4, 2, 0, 6, 6, 5, 2, 5, 7, 2, 0}, {4, 4});
  Tensor lengths = Tensor::from_indices({4, 3, 4, 3}, {4});
  Tensor tgt_in = Tensor::from_indices({1, 6, 5, 4, 1, 4, 7, 0, 1, 5, 6, 6, 1, 7, 5, 0}, {4, 4});
  Tensor tgt_out = Tensor::from_indices({6, 5, 4, 2, 4, 7, 2, 0, 5, 6, 6, 2, 7, 5, 2, 0}, {4, 4});
  std::vector<std::vector<std::int64_t>> want = {{6, 5, 4}, {4, 7}, {5, 6, 6}, {7, 5}};

  // `steps` of Adam at `lr` on the four pairs; expects the last loss below 0.05.
  void fit(nn::seq2seq::Seq2Seq& model, double lr, int steps) const {
    nn::Adam adam(model.parameters(), {.lr = lr});
    double last = 0;
    for (int step = 0; step < steps; ++step) {
      adam.zero_grad();
      Tensor loss = nn::sequence_cross_entropy(model.forward(src, lengths, tgt_in).logits, tgt_out, 0);
      backward(loss);
      adam.step();
      last = loss.item();
    }
    EXPECT_LT(last, 0.05);
  }
};

}  // namespace seqgrad::seq2seq_test
