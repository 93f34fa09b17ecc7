#include "seqgrad/nn/layers.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "seqgrad/ops/index_ops.hpp"
#include "seqgrad/ops/nn_ops.hpp"

namespace seqgrad::nn {

Embedding::Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen, EmbeddingOptions options)
    : padding_idx_(options.padding_idx) {
  if (num_embeddings == 0 || embedding_dim == 0)
    throw std::invalid_argument("Embedding: needs at least one row and one column, got [" +
                                std::to_string(num_embeddings) + "," + std::to_string(embedding_dim) + "]");
  if (padding_idx_ && *padding_idx_ >= num_embeddings)
    throw std::invalid_argument("Embedding: padding_idx " + std::to_string(*padding_idx_) + " is out of range for " +
                                std::to_string(num_embeddings) + " rows");
  if (!is_floating(options.dtype))
    throw std::invalid_argument(std::string("Embedding: weight must be float32 or float64, not ") +
                                dtype_name(options.dtype));
  weight = Tensor::empty({num_embeddings, embedding_dim}, options.dtype);
  init::normal_(weight, 0.0, 1.0, gen);
  if (padding_idx_) {  // torch zeroes the padding row after drawing the whole matrix
    dispatch_float(weight.dtype(), "Embedding", [&](auto tag) {
      using T = decltype(tag);
      T* row = weight.data<T>() + *padding_idx_ * embedding_dim;
      std::fill(row, row + embedding_dim, T(0));
    });
  }
  register_parameter("weight", weight);
}

Tensor Embedding::forward(const Tensor& indices) const {
  if (indices.dtype() != DType::i64)
    throw std::invalid_argument("Embedding: indices must be int64, got " + std::string(dtype_name(indices.dtype())) +
                                " " + to_string(indices.shape()));
  return embedding(weight, indices, padding_idx_ ? static_cast<long>(*padding_idx_) : -1);
}

Dropout::Dropout(double p, std::uint64_t seed) : p_(p), gen_(seed) {
  if (!(p >= 0.0 && p <= 1.0))  // also rejects NaN
    throw std::invalid_argument("Dropout: p must be in [0, 1], got " + std::to_string(p));
}

Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, is_training(), gen_); }

LayerNorm::LayerNorm(std::size_t normalized_shape, LayerNormOptions options)
    : size_(normalized_shape), eps_(options.eps) {
  if (normalized_shape == 0) throw std::invalid_argument("LayerNorm: normalized_shape must be positive, got 0");
  if (!(options.eps > 0.0) || !std::isfinite(options.eps))
    throw std::invalid_argument("LayerNorm: eps must be positive and finite, got " + std::to_string(options.eps));
  if (options.elementwise_affine) {
    weight = register_parameter("weight", Tensor::ones({normalized_shape}, options.dtype));
    bias = register_parameter("bias", Tensor::zeros({normalized_shape}, options.dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const {
  if (x.dim() == 0 || x.shape().back() != size_)
    throw std::invalid_argument("LayerNorm: input " + to_string(x.shape()) + " does not end in the normalized size " +
                                std::to_string(size_));
  return layer_norm(x, weight, bias, eps_);
}

}  // namespace seqgrad::nn
