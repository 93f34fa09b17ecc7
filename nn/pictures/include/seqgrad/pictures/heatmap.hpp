#pragma once
// Attention heatmaps: one coloured cell per weight, output tokens down the side, input tokens
// along the bottom, a colour bar with the 0..1 scale. As an Image, or as a PNG or SVG file.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "seqgrad/pictures/image.hpp"

namespace seqgrad::pictures {

enum class ColorMap { viridis, grays };  // viridis: 0 dark violet, 1 yellow; grays: 0 white, 1 black

// The colour a heatmap cell of weight w in [0, 1] gets (w is clamped into [0, 1]).
Rgb colormap_colour(ColorMap map, double w);

struct HeatmapOptions {
  int cell_px = 24;        // each weight is a cell_px x cell_px square
  double font_size = 14;   // pixels (the em size of the sans-serif font)
  ColorMap colormap = ColorMap::viridis;
  std::string title{};             // above the grid; none when empty
  std::string x_title = "input";   // under the input tokens
  std::string y_title = "output";  // beside the output tokens
  bool colorbar = true;            // a 0..1 scale on the right
};

// Layout of a drawn heatmap, so callers (and tests) can find a cell: cell (i, j) covers the
// pixels [grid_x + j * cell_px, grid_x + (j + 1) * cell_px) x [grid_y + i * cell_px, ...).
struct HeatmapLayout {
  long grid_x = 0, grid_y = 0;  // top-left pixel of cell (0, 0)
  int cell_px = 0;
};

// weights: [out_len, in_len], row-major, each in [0, 1] (a softmax's float rounding up to 1e-6
// beyond is tolerated; anything else throws std::invalid_argument naming the cell). Row i (output
// token y_labels[i]) is drawn top to bottom, column j (input token x_labels[j]) left to right.
// Input labels too wide for their cell are written vertically (reading upwards). Labels are UTF-8;
// invalid bytes show as '?'. A heatmap wider or taller than kMaxPictureSide pixels (over 1,300
// tokens at the default cell_px) throws std::invalid_argument naming its cells, size and the limit.
Image attention_heatmap(const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
                        const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                        const HeatmapOptions& options = {}, HeatmapLayout* layout = nullptr);

// The same picture as a file: PNG or SVG by the extension (.png / .svg, any case; anything else
// throws std::invalid_argument naming the file). Written atomically, like write_png.
void write_attention_heatmap(const std::filesystem::path& file, const std::vector<double>& weights,
                             std::size_t out_len, std::size_t in_len, const std::vector<std::string>& x_labels,
                             const std::vector<std::string>& y_labels, const HeatmapOptions& options = {});

// The overloads taking a Tensor are in heatmap_tensor.hpp.

}  // namespace seqgrad::pictures
