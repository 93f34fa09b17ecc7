#pragma once
// Fused ops of neural networks: one forward and one backward each, for speed and numerical care.
// Each supports second order (grad with create_graph), as the ops they fuse do.
#include <cstdint>

#include "seqgrad/graph/node.hpp"
#include "seqgrad/graph/random.hpp"

namespace seqgrad {

// Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1-p);
// identity otherwise. The mask comes from gen.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

// Normalises over the last dimension: (x - mean) / sqrt(var + eps) * weight + bias (weight and bias
// [D] or undefined), as torch.nn.functional.layer_norm.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

struct CrossEntropyOptions {
  long ignore_index = -100;      // targets equal to this add nothing and are not counted
  double label_smoothing = 0.0;  // as torch: target distribution (1-s) one-hot + s/V
};
// Mean over non-ignored targets of -log softmax(logits)[target] (with smoothing). logits [N, V],
// targets int64 [N]. A target outside [0, V) that is not ignore_index is an error.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, CrossEntropyOptions options = {});

// The gate arithmetic of one GRU step (torch's gate order r, z, n) as one op, after the two matmuls:
// xp = x W_ih^T + b_ih and hp = h W_hh^T + b_hh, each [B, 3H]; h [B, H]:
//   r = sigmoid(xp_r + hp_r)    z = sigmoid(xp_z + hp_z)    n = tanh(xp_n + r * hp_n)
//   h' = (1 - z) * n + z * h
// Composed from primitives this is about fifteen graph nodes and as many [B, H] temporaries per step;
// fused, one node that saves r, z, n for its backward.
Tensor gru_cell_gates(const Tensor& xp, const Tensor& hp, const Tensor& h);

// The scores of additive (Bahdanau) attention from keys already projected, keys [B, T, A] (W_h h_t),
// query [B, A] (W_s s + b_s) and v [A]:  scores[b, t] = v . tanh(keys[b, t] + query[b]),  [B, T].
// One node, saving tanh(.) for the backward, instead of a broadcast add, a tanh over [B, T, A] and B
// matrix-vector products (forward and twice that backward) at every decoder step.
Tensor additive_attention_scores(const Tensor& keys, const Tensor& query, const Tensor& v);

}  // namespace seqgrad
