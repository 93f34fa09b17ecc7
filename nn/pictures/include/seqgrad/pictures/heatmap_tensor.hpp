#pragma once
// attention_heatmap and write_attention_heatmap for a 2-D float tensor [out_len, in_len] (one
// example's attention weights). Apart from heatmap.hpp, so that a picture of plain numbers needs
// no tensor header (seqgrad::pictures links seqgrad::graph, which holds Tensor).
#include <stdexcept>
#include <string>
#include <vector>

#include "seqgrad/graph/tensor.hpp"
#include "seqgrad/pictures/heatmap.hpp"

namespace seqgrad::pictures {

namespace detail {
// The tensor's weights, after checking that it is a 2-D float tensor; `who` names the caller.
inline std::vector<double> heatmap_weights(const Tensor& weights, const char* who) {
  if (!weights.defined() || weights.dim() != 2 || !is_floating(weights.dtype()))
    throw std::invalid_argument(
        std::string(who) + ": expected a 2-D float tensor [out_len, in_len], got " +
        (weights.defined() ? to_string(weights.shape()) + " " + dtype_name(weights.dtype()) : std::string("none")));
  return weights.to_vector();
}
}  // namespace detail

inline Image attention_heatmap(const Tensor& weights, const std::vector<std::string>& x_labels,
                               const std::vector<std::string>& y_labels, const HeatmapOptions& options = {},
                               HeatmapLayout* layout = nullptr) {
  return attention_heatmap(detail::heatmap_weights(weights, "attention_heatmap"), weights.size(0), weights.size(1),
                           x_labels, y_labels, options, layout);
}

inline void write_attention_heatmap(const std::filesystem::path& file, const Tensor& weights,
                                    const std::vector<std::string>& x_labels,
                                    const std::vector<std::string>& y_labels, const HeatmapOptions& options = {}) {
  write_attention_heatmap(file, detail::heatmap_weights(weights, "write_attention_heatmap"), weights.size(0),
                          weights.size(1), x_labels, y_labels, options);
}

}  // namespace seqgrad::pictures
