#pragma once
// Basic layers, as their torch.nn namesakes: Embedding (token ids -> vectors), Dropout (inverted
// dropout in training mode only) and LayerNorm (normalisation over the last dimension).
#include <cstdint>
#include <optional>

#include "seqgrad/nn/module.hpp"

namespace seqgrad::nn {

struct EmbeddingOptions {
  // Index of the padding token: its row starts at zero and never receives a gradient, so it stays zero.
  std::optional<std::size_t> padding_idx = std::nullopt;
  DType dtype = DType::f32;
};

// weight [num_embeddings, embedding_dim] ~ N(0, 1), as torch.nn.Embedding.
class Embedding : public Module {
 public:
  Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen, EmbeddingOptions options = {});
  Tensor forward(const Tensor& indices) const;  // int64 indices of any shape -> [..., embedding_dim]
  Tensor operator()(const Tensor& indices) const { return forward(indices); }

  std::size_t num_embeddings() const { return weight.shape()[0]; }
  std::size_t embedding_dim() const { return weight.shape()[1]; }
  std::optional<std::size_t> padding_idx() const { return padding_idx_; }
  Tensor weight;

 private:
  std::optional<std::size_t> padding_idx_;
};

// Inverted dropout: in training mode each element is zeroed with probability p and the rest scaled
// by 1/(1-p); in eval mode the identity. The masks come from the layer's own generator, so a seed
// fixes them independently of every other random draw.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, std::uint64_t seed = 0);
  // Not const: each call in training mode advances the generator.
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  double p() const { return p_; }
  Generator& generator() { return gen_; }  // e.g. to reseed it when resuming training

 private:
  double p_;
  Generator gen_;
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;  // learnable weight (ones) and bias (zeros)
  DType dtype = DType::f32;
};

// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension (biased variance), as
// torch.nn.LayerNorm(normalized_shape) with one normalised dimension.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::size_t normalized_shape, LayerNormOptions options = {});
  Tensor forward(const Tensor& x) const;  // x [..., normalized_shape]
  Tensor operator()(const Tensor& x) const { return forward(x); }

  std::size_t normalized_shape() const { return size_; }
  double eps() const { return eps_; }
  Tensor weight;  // undefined without elementwise_affine
  Tensor bias;

 private:
  std::size_t size_;
  double eps_;
};

}  // namespace seqgrad::nn
