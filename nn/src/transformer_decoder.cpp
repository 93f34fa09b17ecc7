// Transformer decoder blocks (post-LN and pre-LN) and their stack.
//
// The attention goes through multi-head attention's steps rather than multi_head_attention itself,
// so that the two projections a step-by-step decoder keeps are separate values here: the memory's
// keys and values (projected once per source sequence, reused by every target position) and the
// self-attention's keys and values (those of the positions so far, which the cache extends by one
// position per step). TransformerDecoder::start / step / reorder keep both in a cache and run the
// same block on one position at a time.
#include "seqgrad/nn/transformer_decoder.hpp"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "seqgrad/ops/ops.hpp"
#include "transformer_internal.hpp"

namespace seqgrad::nn {

namespace {

const std::string kLayer = "TransformerDecoderLayer";
const std::string kSelfAttention = kLayer + " self_attn";
const std::string kCrossAttention = kLayer + " multihead_attn";

std::string shape_of(const Tensor& t) { return t.defined() ? to_string(t.shape()) : "(undefined)"; }

void check_inputs(const Tensor& x, const Tensor& memory, const TransformerDecoderLayerWeights& w) {
  const std::size_t D = w.self_attn.in_proj_weight.defined() ? w.self_attn.in_proj_weight.size(-1) : 0;
  const std::string d_model = " (d_model " + std::to_string(D) + ")";
  if (!x.defined() || x.dim() != 3 || x.size(2) != D)
    throw std::invalid_argument(kLayer + ": target " + shape_of(x) + " is not [B, T, " + std::to_string(D) + "]" + d_model);
  if (!memory.defined() || memory.dim() != 3 || memory.size(2) != D)
    throw std::invalid_argument(kLayer + ": memory " + shape_of(memory) + " is not [B, S, " + std::to_string(D) + "]" +
                                d_model);
  if (memory.size(0) != x.size(0))
    throw std::invalid_argument(kLayer + ": target " + shape_of(x) + " and memory " + shape_of(memory) +
                                " have different batch sizes");
}

// The earlier positions' keys and values [B, H, t, D/H] followed by the new ones' [B, H, 1, D/H].
MultiheadKeysValues appended(const MultiheadKeysValues& earlier, const MultiheadKeysValues& next) {
  if (!earlier.keys.defined()) return next;
  return {concat({earlier.keys, next.keys}, 2), concat({earlier.values, next.values}, 2)};
}

// The block, given the memory's keys and values already projected by multihead_attn. With
// `self_attention_cache`, x is the next position only: its keys and values are appended to the
// cache's and its query attends over all of them (unmasked: it is the last position).
Tensor decoder_block(const Tensor& x, const MultiheadKeysValues& memory_keys_values,
                     const TransformerDecoderLayerWeights& w, std::size_t num_heads,
                     const TransformerDecoderLayerOptions& o, bool training, const Tensor& target_padding_mask,
                     const Tensor& memory_padding_mask, bool causal,
                     MultiheadKeysValues* self_attention_cache = nullptr, Tensor* cross_attention_weights = nullptr) {
  auto norm = [&](const Tensor& t, const Tensor& weight, const Tensor& bias) {
    return layer_norm(t, weight, bias, o.layer_norm_eps);
  };
  auto norm1 = [&](const Tensor& t) { return norm(t, w.norm1_weight, w.norm1_bias); };
  auto norm2 = [&](const Tensor& t) { return norm(t, w.norm2_weight, w.norm2_bias); };
  auto norm3 = [&](const Tensor& t) { return norm(t, w.norm3_weight, w.norm3_bias); };
  auto self_attention = [&](const Tensor& t) {
    const MultiheadProjections p = multi_head_self_projections(t, w.self_attn, num_heads, kSelfAttention);
    if (self_attention_cache) *self_attention_cache = appended(*self_attention_cache, p.keys_values);
    const MultiheadKeysValues& keys_values = self_attention_cache ? *self_attention_cache : p.keys_values;
    const ScaledDotProductOptions attention{
        .causal = causal && !self_attention_cache, .dropout = o.dropout, .training = training};
    return detail::dropout_if(
        multi_head_attend(p.queries, keys_values, w.self_attn, target_padding_mask, attention, kSelfAttention).context,
        o, training);
  };
  auto cross_attention = [&](const Tensor& t) {
    const Tensor queries = multi_head_queries(t, w.multihead_attn, num_heads, kCrossAttention);
    const ScaledDotProductOptions attention{.dropout = o.dropout, .training = training};
    const AttentionOutput a =
        multi_head_attend(queries, memory_keys_values, w.multihead_attn, memory_padding_mask, attention, kCrossAttention);
    if (cross_attention_weights) *cross_attention_weights = a.weights;
    return detail::dropout_if(a.context, o, training);
  };
  auto feed_forward = [&](const Tensor& t) {
    return detail::feed_forward(t, w.linear1_weight, w.linear1_bias, w.linear2_weight, w.linear2_bias, o, training);
  };

  if (o.norm_first) {
    const Tensor h1 = x + self_attention(norm1(x));
    const Tensor h2 = h1 + cross_attention(norm2(h1));
    return h2 + feed_forward(norm3(h2));
  }
  const Tensor h1 = norm1(x + self_attention(x));
  const Tensor h2 = norm2(h1 + cross_attention(h1));
  return norm3(h2 + feed_forward(h2));
}

}  // namespace

Tensor transformer_decoder_layer(const Tensor& x, const Tensor& memory, const TransformerDecoderLayerWeights& w,
                                 std::size_t num_heads, const TransformerDecoderLayerOptions& o, bool training,
                                 const Tensor& target_padding_mask, const Tensor& memory_padding_mask, bool causal,
                                 Tensor* cross_attention_weights) {
  check_inputs(x, memory, w);
  const MultiheadKeysValues memory_keys_values =
      multi_head_keys_values(memory, memory, w.multihead_attn, num_heads, kCrossAttention);
  return decoder_block(x, memory_keys_values, w, num_heads, o, training, target_padding_mask, memory_padding_mask,
                       causal, nullptr, cross_attention_weights);
}

TransformerDecoderLayer::TransformerDecoderLayer(std::size_t d_model, std::size_t num_heads, Generator& gen,
                                                 TransformerDecoderLayerOptions options)
    : options_(options) {
  detail::check_layer_options(options, kLayer);
  // Registration order = torch's parameter order.
  self_attn = register_module("self_attn", detail::make_attention(d_model, num_heads, gen, options));
  multihead_attn = register_module("multihead_attn", detail::make_attention(d_model, num_heads, gen, options));
  linear1 = register_module("linear1", detail::make_linear(d_model, options.dim_feedforward, gen, options));
  linear2 = register_module("linear2", detail::make_linear(options.dim_feedforward, d_model, gen, options));
  norm1 = register_module("norm1", detail::make_norm(d_model, options));
  norm2 = register_module("norm2", detail::make_norm(d_model, options));
  norm3 = register_module("norm3", detail::make_norm(d_model, options));
}

TransformerDecoderLayerWeights TransformerDecoderLayer::weights() const {
  return {self_attn->weights(), multihead_attn->weights(), linear1->weight, linear1->bias, linear2->weight,
          linear2->bias,        norm1->weight,             norm1->bias,     norm2->weight,  norm2->bias,
          norm3->weight,        norm3->bias};
}

Tensor TransformerDecoderLayer::forward(const Tensor& x, const Tensor& memory, const Tensor& target_padding_mask,
                                        const Tensor& memory_padding_mask, bool causal,
                                        Tensor* cross_attention_weights) const {
  return transformer_decoder_layer(x, memory, weights(), self_attn->num_heads(), options_, is_training(),
                                   target_padding_mask, memory_padding_mask, causal, cross_attention_weights);
}

TransformerDecoder::TransformerDecoder(std::size_t d_model, std::size_t num_heads, std::size_t num_layers,
                                       Generator& gen, TransformerDecoderOptions options) {
  layers = detail::make_layers<TransformerDecoderLayer>("TransformerDecoder", num_layers, d_model, num_heads, gen,
                                                        options.layer);
  register_module("layers", std::make_shared<detail::LayerStack>(layers));
  if (options.final_norm) norm = register_module("norm", detail::make_norm(d_model, options.layer));
}

Tensor TransformerDecoder::forward(const Tensor& x, const Tensor& memory, const Tensor& target_padding_mask,
                                   const Tensor& memory_padding_mask, bool causal,
                                   Tensor* last_cross_attention_weights) const {
  Tensor h = x;
  for (std::size_t i = 0; i < layers.size(); ++i)
    h = layers[i]->forward(h, memory, target_padding_mask, memory_padding_mask, causal,
                           i + 1 == layers.size() ? last_cross_attention_weights : nullptr);
  return norm ? norm->forward(h) : h;
}

}  // namespace seqgrad::nn

// ---- incremental decoding ----

namespace seqgrad::nn {

namespace {

const std::string kStack = "TransformerDecoder";

}  // namespace

TransformerDecoderCache TransformerDecoder::start(const Tensor& memory, const Tensor& memory_padding_mask) const {
  const std::size_t D = layers.front()->self_attn->weights().in_proj_weight.size(-1);
  if (!memory.defined() || memory.dim() != 3 || memory.size(2) != D)
    throw std::invalid_argument(kStack + "::start: memory " + shape_of(memory) + " is not [B, S, " +
                                std::to_string(D) + "] (d_model " + std::to_string(D) + ")");
  if (memory_padding_mask.defined() && memory_padding_mask.shape() != Shape{memory.size(0), memory.size(1)})
    throw std::invalid_argument(kStack + "::start: memory_padding_mask " + shape_of(memory_padding_mask) +
                                " is not [B, S] of memory " + shape_of(memory));
  TransformerDecoderCache cache;
  cache.memory_padding_mask = memory_padding_mask;
  for (const auto& layer : layers) {
    TransformerDecoderCache::Layer& cached = cache.layers.emplace_back();
    cached.memory = multi_head_keys_values(memory, memory, layer->multihead_attn->weights(),
                                           layer->multihead_attn->num_heads(), kCrossAttention);
  }
  return cache;
}

Tensor TransformerDecoder::step(TransformerDecoderCache& cache, const Tensor& x_t,
                                Tensor* last_cross_attention_weights) const {
  if (cache.layers.size() != layers.size())
    throw std::invalid_argument(kStack + "::step: the cache holds " + std::to_string(cache.layers.size()) +
                                " layers, the decoder " + std::to_string(layers.size()) + " (not started by it?)");
  const std::size_t B = cache.layers.front().memory.keys.size(0);
  const std::size_t D = layers.front()->self_attn->weights().in_proj_weight.size(-1);
  if (!x_t.defined() || x_t.shape() != Shape{B, 1, D})
    throw std::invalid_argument(kStack + "::step: x_t " + shape_of(x_t) + " is not [B, 1, D] = [" +
                                std::to_string(B) + ", 1, " + std::to_string(D) + "] (the cache's batch, d_model)");
  // The layers extend a copy of the cache (handles, not data), so that a step that throws leaves it whole.
  std::vector<TransformerDecoderCache::Layer> extended = cache.layers;
  Tensor h = x_t;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const TransformerDecoderLayer& layer = *layers[i];
    h = decoder_block(h, extended[i].memory, layer.weights(), layer.self_attn->num_heads(), layer.options(),
                      is_training(), Tensor(), cache.memory_padding_mask, true, &extended[i].self_attention,
                       i + 1 == layers.size() ? last_cross_attention_weights : nullptr);
  }
  const Tensor y_t = norm ? norm->forward(h) : h;
  cache.layers = std::move(extended);
  ++cache.positions;
  return y_t;
}

void TransformerDecoder::reorder(TransformerDecoderCache& cache, const Tensor& indices) {
  if (!indices.defined() || indices.dim() != 1 || indices.dtype() != DType::i64)
    throw std::invalid_argument(kStack + "::reorder: indices " + shape_of(indices) +
                                " are not a 1-D int64 tensor of batch rows");
  auto pick = [&](Tensor& t) {
    if (t.defined()) t = index_select(t, 0, indices);
  };
  // Into a copy, so that an index out of range leaves the cache whole.
  TransformerDecoderCache reordered = cache;
  for (auto& layer : reordered.layers)
    for (Tensor* t : {&layer.self_attention.keys, &layer.self_attention.values, &layer.memory.keys, &layer.memory.values})
      pick(*t);
  pick(reordered.memory_padding_mask);
  cache = std::move(reordered);
}

}  // namespace seqgrad::nn
