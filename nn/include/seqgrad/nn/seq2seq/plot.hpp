#pragma once
// Pictures as PNG files: attention heatmaps and line plots (loss curves, accuracy against length,
// thread scaling). Text uses a built-in 5x8 bitmap font (printable ASCII; other characters show
// as '?'), so nothing beyond libpng is needed.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "seqgrad/graph/tensor.hpp"
#include "seqgrad/nn/seq2seq/image.hpp"

namespace seqgrad::nn::seq2seq {

enum class ColorMap { viridis, grays };  // viridis: 0 dark violet, 1 yellow; grays: 0 white, 1 black

// The colour a heatmap cell of weight w in [0, 1] gets.
Rgb colormap_colour(ColorMap map, double w);

// ---- attention heatmap ----

struct HeatmapOptions {
  int cell_px = 24;    // each weight is a cell_px x cell_px square
  int font_scale = 2;  // 10x16-pixel characters
  ColorMap colormap = ColorMap::viridis;
  std::string title{};                // above the grid; none when empty
  std::string x_title = "input";      // under the input tokens
  std::string y_title = "output";     // beside the output tokens
  bool colorbar = true;               // a 0..1 scale on the right
};

// Layout of a drawn heatmap, so callers (and tests) can find a cell.
struct HeatmapLayout {
  long grid_x = 0, grid_y = 0;  // top-left pixel of cell (0, 0)
  int cell_px = 0;
};

// weights: [out_len, in_len], row-major, each in [0, 1] (a softmax's float rounding up to 1e-6
// beyond is tolerated; anything else throws std::invalid_argument naming the cell). Row i (output
// token y_labels[i]) is drawn top to bottom, column j (input token x_labels[j]) left to right.
// Input labels wider than a cell are written vertically (reading upwards).
Image attention_heatmap(const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
                        const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                        const HeatmapOptions& options = {}, HeatmapLayout* layout = nullptr);
// From a 2-D float tensor [out_len, in_len] (one example's attention weights).
Image attention_heatmap(const Tensor& weights, const std::vector<std::string>& x_labels,
                        const std::vector<std::string>& y_labels, const HeatmapOptions& options = {},
                        HeatmapLayout* layout = nullptr);
void write_attention_heatmap(const std::filesystem::path& file, const Tensor& weights,
                             const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                             const HeatmapOptions& options = {});

// ---- line plot ----

struct Series {
  std::string name{};  // shown in the legend
  std::vector<double> x{}, y{};  // same length; points in order of x as given (lines join neighbours)
};

struct LinePlotOptions {
  int width = 800, height = 500;
  int font_scale = 2;
  std::string title{}, x_label{}, y_label{};
  std::optional<double> x_min{}, x_max{}, y_min{}, y_max{};  // the data's range (plus a margin) when unset
  bool markers = false;  // a square on every point (for short series such as accuracy by length)
  bool legend = true;  // in the corner of the plot area where it hides the fewest line points
};

// Layout of a drawn plot: the data -> pixel mapping, for callers and tests.
struct PlotLayout {
  long left = 0, top = 0, right = 0, bottom = 0;  // the plot area's edges, inclusive pixels
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // the data range they show
  double px(double x) const;                      // pixel column of data x
  double py(double y) const;                      // pixel row of data y
};

// Colour of the k-th series (a fixed palette of 10, then repeating).
Rgb series_colour(std::size_t k);

// Throws std::invalid_argument for no series, x and y of different lengths, non-finite values,
// an empty data range that options do not fix, or a size too small for the axes.
Image line_plot(const std::vector<Series>& series, const LinePlotOptions& options = {}, PlotLayout* layout = nullptr);
void write_line_plot(const std::filesystem::path& file, const std::vector<Series>& series,
                     const LinePlotOptions& options = {});

}  // namespace seqgrad::nn::seq2seq
