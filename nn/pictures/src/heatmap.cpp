#include "seqgrad/pictures/heatmap.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "canvas.hpp"
#include "colour.hpp"
#include "text.hpp"
#include "ticks.hpp"

namespace seqgrad::pictures {

namespace {

using detail::kBlack;
using detail::kFrameGray;
using detail::kWhite;
using detail::set_colour;

using detail::kPad;
constexpr long kBarGap = 16, kBarWidth = 16, kBarTick = 4;
// Tolerance for attention weights a little outside [0, 1] from float rounding.
constexpr double kWeightSlack = 1e-6;

void check(const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
           const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
           const HeatmapOptions& o, const std::string& who) {
  const std::string dims = std::string("[") + std::to_string(out_len) + ", " + std::to_string(in_len) + "]";
  if (out_len == 0 || in_len == 0 || weights.size() != out_len * in_len)
    throw std::invalid_argument(who + ": " + std::to_string(weights.size()) + " weights for a " + dims +
                                " matrix (it needs at least one row and column)");
  if (x_labels.size() != in_len || y_labels.size() != out_len)
    throw std::invalid_argument(who + ": " + std::to_string(x_labels.size()) + " input and " +
                                std::to_string(y_labels.size()) + " output labels for weights " + dims);
  if (o.cell_px < 1) throw std::invalid_argument(who + ": cell_px " + std::to_string(o.cell_px) + " is not positive");
  if (!(o.font_size > 0) || !std::isfinite(o.font_size))
    throw std::invalid_argument(who + ": font_size " + std::to_string(o.font_size) + " is not positive");
  for (std::size_t k = 0; k < weights.size(); ++k)
    if (!(weights[k] >= -kWeightSlack && weights[k] <= 1 + kWeightSlack))
      throw std::invalid_argument(who + ": weight " + std::to_string(weights[k]) + " at (" +
                                  std::to_string(k / in_len) + ", " + std::to_string(k % in_len) +
                                  ") is outside [0, 1]");
}

// Whether an input label is written vertically: when it would not fit its column with 2 pixels
// to spare on each side (so neighbouring labels never touch).
bool vertical(const detail::TextMetrics& m, const std::string& label, long cell_px) {
  return m.width(label) > static_cast<double>(cell_px - 4);
}

// The colour bar's ticks: as many of 0, 0.2, ..., 1 as fit beside a bar `height` pixels tall.
double colorbar_step(double height, const detail::TextMetrics& m) {
  for (double step : {0.2, 0.5})
    if (height * step >= m.line() + 4) return step;
  return 1.0;
}

// Where everything goes: computed from text sizes before anything is drawn.
struct HeatmapGeometry {
  long width = 0, height = 0;
  long grid_x = 0, grid_y = 0, grid_w = 0, grid_h = 0;
  long x_labels_y = 0, x_labels_h = 0;  // the band under the grid holding the input tokens
  long bar_x = 0, bar_h = 0;
  double bar_step = 1;
  long left = 0;  // the content's left edge (more than kPad when a long title centres it)
};

HeatmapGeometry layout_of(std::size_t out_len, std::size_t in_len, const std::vector<std::string>& x_labels,
                const std::vector<std::string>& y_labels, const HeatmapOptions& o, const detail::TextMetrics& m) {
  HeatmapGeometry g;
  const long c = o.cell_px, line = std::lround(std::ceil(m.line()));
  const auto w = [&](const std::string& s) { return std::lround(std::ceil(m.width(s))); };
  long y_labels_w = 0;
  for (const auto& s : y_labels) y_labels_w = std::max(y_labels_w, w(s));
  // Input labels go under their columns, turned vertical when wider than a cell (only those:
  // single letters stay upright and readable next to "<eos>").
  g.x_labels_h = line;
  for (const auto& s : x_labels)
    if (vertical(m, s, c)) g.x_labels_h = std::max(g.x_labels_h, w(s));
  const long y_title_w = o.y_title.empty() ? 0 : line + kPad / 2;
  const long title_h = o.title.empty() ? 0 : line + kPad;
  const long x_title_h = o.x_title.empty() ? 0 : kPad + line;

  g.grid_w = static_cast<long>(in_len) * c;
  g.grid_h = static_cast<long>(out_len) * c;
  g.grid_x = kPad + y_title_w + y_labels_w + kPad / 2;
  // The y title is centred beside the grid; one longer than the grid pushes the grid down.
  const long y_title_overhang = o.y_title.empty() ? 0 : std::max(0L, w(o.y_title) - g.grid_h) / 2 + 1;
  g.grid_y = kPad + title_h + y_title_overhang;
  // The bar is as tall as the grid, or tall enough for its two end labels.
  g.bar_h = std::max(g.grid_h, 2 * line + kPad);
  g.bar_step = colorbar_step(static_cast<double>(g.bar_h), m);
  g.bar_x = g.grid_x + g.grid_w + kBarGap;
  long bar_labels_w = 0;
  for (double v = 0; v <= 1 + 1e-9; v += g.bar_step) bar_labels_w = std::max(bar_labels_w, w(detail::tick_label(v, g.bar_step)));
  const long colorbar_w = o.colorbar ? kBarGap + kBarWidth + kBarTick + 3 + bar_labels_w : 0;

  const long content_w = g.grid_x + g.grid_w + colorbar_w + kPad;
  g.width = std::max(content_w, 2 * kPad + w(o.title));
  // A title wider than the rest: centre the rest under it.
  g.left = kPad + (g.width - content_w) / 2;
  const long shift = g.left - kPad;
  g.grid_x += shift;
  g.bar_x += shift;
  g.x_labels_y = g.grid_y + g.grid_h + kPad / 2;
  const long bar_bottom = o.colorbar ? g.grid_y + g.bar_h + std::lround(m.cap / 2) : 0;
  g.height = std::max({g.x_labels_y + g.x_labels_h + x_title_h, bar_bottom, g.grid_y + g.grid_h + y_title_overhang}) + kPad;
  return g;
}

void paint_colorbar(cairo_t* cr, const HeatmapGeometry& g, const HeatmapOptions& o, const detail::TextMetrics& m);

void paint(cairo_t* cr, const HeatmapGeometry& g, const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
           const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
           const HeatmapOptions& o, const detail::TextMetrics& m) {
  const long c = o.cell_px;
  set_colour(cr, kWhite);
  cairo_paint(cr);
  // Cells on whole pixels, so each is one flat colour edge to edge. No antialiasing: neighbouring
  // cells then meet without a blended seam (the SVG viewer's own rendering is unaffected).
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
  for (std::size_t i = 0; i < out_len; ++i)
    for (std::size_t j = 0; j < in_len; ++j) {
      set_colour(cr, colormap_colour(o.colormap, weights[i * in_len + j]));
      cairo_rectangle(cr, static_cast<double>(g.grid_x + static_cast<long>(j) * c),
                      static_cast<double>(g.grid_y + static_cast<long>(i) * c), static_cast<double>(c),
                      static_cast<double>(c));
      cairo_fill(cr);
    }
  cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);

  detail::use_font(cr, m.size);
  set_colour(cr, kBlack);
  for (std::size_t i = 0; i < out_len; ++i)  // right-aligned, capitals centred on the row
    detail::show_text(cr, y_labels[i], static_cast<double>(g.grid_x - kPad / 2),
                      static_cast<double>(g.grid_y + static_cast<long>(i) * c) + c / 2.0 + m.cap / 2, 1.0);
  for (std::size_t j = 0; j < in_len; ++j) {
    const double centre = static_cast<double>(g.grid_x + static_cast<long>(j) * c) + c / 2.0;
    if (vertical(m, x_labels[j], c))  // reads upwards, ends next to its column
      detail::show_text_up(cr, x_labels[j], centre + m.cap / 2, static_cast<double>(g.x_labels_y), 1.0);
    else
      detail::show_text(cr, x_labels[j], centre, static_cast<double>(g.x_labels_y) + m.ascent, 0.5);
  }
  if (!o.title.empty())
    detail::show_text(cr, o.title, g.width / 2.0, static_cast<double>(kPad) + m.ascent, 0.5);
  if (!o.x_title.empty())
    detail::show_text(cr, o.x_title, static_cast<double>(g.grid_x) + g.grid_w / 2.0,
                      static_cast<double>(g.x_labels_y + g.x_labels_h + kPad) + m.ascent, 0.5);
  if (!o.y_title.empty())
    detail::show_text_up(cr, o.y_title, static_cast<double>(g.left) + m.ascent,
                         static_cast<double>(g.grid_y) + g.grid_h / 2.0, 0.5);

  if (o.colorbar) paint_colorbar(cr, g, o, m);
}

void paint_colorbar(cairo_t* cr, const HeatmapGeometry& g, const HeatmapOptions& o, const detail::TextMetrics& m) {
  // The scale: 1 at the top. cairo's gradient interpolates linearly between stops, as the colour
  // map does, so stops at the map's own stops (every 1/8) reproduce it exactly.
  const double top = static_cast<double>(g.grid_y), bottom = top + static_cast<double>(g.bar_h);
  const double x0 = static_cast<double>(g.bar_x);
  cairo_pattern_t* gradient = cairo_pattern_create_linear(0, bottom, 0, top);
  for (int k = 0; k <= 64; ++k) {
    const Rgb s = colormap_colour(o.colormap, k / 64.0);
    cairo_pattern_add_color_stop_rgb(gradient, k / 64.0, s.r / 255.0, s.g / 255.0, s.b / 255.0);
  }
  cairo_rectangle(cr, x0, top, kBarWidth, bottom - top);
  cairo_set_source(cr, gradient);
  cairo_fill(cr);
  cairo_pattern_destroy(gradient);
  // Frame and ticks on half pixels: 1-pixel lines land on whole pixels, crisp.
  set_colour(cr, kFrameGray);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x0 - 0.5, top - 0.5, kBarWidth + 1, bottom - top + 1);
  cairo_stroke(cr);
  const int steps = static_cast<int>(std::lround(1.0 / g.bar_step));
  for (int k = 0; k <= steps; ++k) {
    const double value = k * g.bar_step;
    // The middle of the pixel row that shows `value` (the end rows for 0 and 1).
    const double y = std::clamp(std::floor(bottom - value * (bottom - top)), top, bottom - 1) + 0.5;
    set_colour(cr, kFrameGray);
    cairo_move_to(cr, x0 + kBarWidth, y);
    cairo_line_to(cr, x0 + kBarWidth + kBarTick, y);
    cairo_stroke(cr);
    set_colour(cr, kBlack);
    detail::show_text(cr, detail::tick_label(value, g.bar_step), x0 + kBarWidth + kBarTick + 3, y + m.cap / 2);
  }
}

detail::Drawing drawing(const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
                        const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                        const HeatmapOptions& o, const std::string& who, HeatmapLayout* layout) {
  check(weights, out_len, in_len, x_labels, y_labels, o, who);
  // shared_ptr: the Drawing's std::function must be copyable. The references stay valid: the
  // Drawing is painted before the caller returns.
  auto m = std::make_shared<detail::TextMetrics>(o.font_size);
  const HeatmapGeometry g = layout_of(out_len, in_len, x_labels, y_labels, o, *m);
  // Before the sizes become ints: a 2,000-token input is 48,000 pixels wide at 24 a cell.
  detail::check_picture_size(g.width, g.height, who,
                              "a heatmap of " + std::to_string(out_len) + "x" + std::to_string(in_len) + " cells of " +
                                  std::to_string(o.cell_px) + " pixels");
  if (layout) *layout = {g.grid_x, g.grid_y, o.cell_px};
  return {static_cast<int>(g.width), static_cast<int>(g.height), [=, &weights, &x_labels, &y_labels](cairo_t* cr) {
            paint(cr, g, weights, out_len, in_len, x_labels, y_labels, o, *m);
          }};
}

}  // namespace

Image attention_heatmap(const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
                        const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                        const HeatmapOptions& options, HeatmapLayout* layout) {
  return detail::render(drawing(weights, out_len, in_len, x_labels, y_labels, options, "attention_heatmap", layout),
                        "attention_heatmap");
}

void write_attention_heatmap(const std::filesystem::path& file, const std::vector<double>& weights,
                             std::size_t out_len, std::size_t in_len, const std::vector<std::string>& x_labels,
                             const std::vector<std::string>& y_labels, const HeatmapOptions& options) {
  const std::string who = "write_attention_heatmap";
  detail::write_drawing(file, drawing(weights, out_len, in_len, x_labels, y_labels, options, who, nullptr), who);
}

}  // namespace seqgrad::pictures
