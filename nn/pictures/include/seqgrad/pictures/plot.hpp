#pragma once
// Line plots (loss curves, accuracy against length, thread scaling): axes with ticks and labels,
// a title, one line per series, a legend where it hides the fewest points. As an Image, or as a
// PNG or SVG file.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "seqgrad/pictures/image.hpp"

namespace seqgrad::pictures {

struct Series {
  std::string name{};            // shown in the legend
  std::vector<double> x{}, y{};  // same length; points in order of x as given (lines join neighbours)
};

struct LinePlotOptions {
  int width = 800, height = 500;
  double font_size = 15;  // pixels (the em size of the sans-serif font)
  std::string title{}, x_label{}, y_label{};
  std::optional<double> x_min{}, x_max{}, y_min{}, y_max{};  // the data's range (plus a margin) when unset
  bool markers = false;  // a square on every point (for short series such as accuracy by length)
  bool legend = true;    // in the corner of the plot area where it hides the fewest line points
};

// Layout of a drawn plot: the data -> pixel mapping, for callers and tests.
struct PlotLayout {
  long left = 0, top = 0, right = 0, bottom = 0;  // the plot area's edges, inclusive pixels
  double x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // the data range they show
  double px(double x) const;                      // pixel column of data x (x_lo -> left, x_hi -> right)
  double py(double y) const;                      // pixel row of data y (y_lo -> bottom, y_hi -> top)
};

// Colour of the k-th series (a fixed palette of 10, then repeating).
Rgb series_colour(std::size_t k);

// Throws std::invalid_argument for no series, x and y of different lengths, non-finite values,
// an empty data range that options do not fix, a font size that is not positive, or a size too
// small for the axes.
Image line_plot(const std::vector<Series>& series, const LinePlotOptions& options = {}, PlotLayout* layout = nullptr);
// PNG or SVG by the file's extension (.png / .svg, any case; anything else throws
// std::invalid_argument naming the file). Written atomically, like write_png.
void write_line_plot(const std::filesystem::path& file, const std::vector<Series>& series,
                     const LinePlotOptions& options = {});

}  // namespace seqgrad::pictures
