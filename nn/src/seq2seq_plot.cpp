#include "seqgrad/nn/seq2seq/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "seq2seq_draw.hpp"

namespace seqgrad::nn::seq2seq {

namespace {

constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGridGray{225, 225, 225}, kFrameGray{120, 120, 120};
constexpr int kPad = 8;

// Tolerance for attention weights a little outside [0, 1] from float rounding.
constexpr double kWeightSlack = 1e-6;

int widest(const std::vector<std::string>& labels, int scale) {
  int w = 0;
  for (const auto& s : labels) w = std::max(w, draw::text_width(s, scale));
  return w;
}

}  // namespace

Rgb colormap_colour(ColorMap map, double w) { return map == ColorMap::viridis ? draw::viridis(w) : draw::grays(w); }

// ---------------------------------------------------------------------------------------------
// Attention heatmap

Image attention_heatmap(const std::vector<double>& weights, std::size_t out_len, std::size_t in_len,
                        const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                        const HeatmapOptions& o, HeatmapLayout* layout) {
  const std::string dims = std::string("[") + std::to_string(out_len) + ", " + std::to_string(in_len) + "]";
  if (out_len == 0 || in_len == 0 || weights.size() != out_len * in_len)
    throw std::invalid_argument("attention_heatmap: " + std::to_string(weights.size()) + " weights for a " + dims +
                                " matrix (it needs at least one row and column)");
  if (x_labels.size() != in_len || y_labels.size() != out_len)
    throw std::invalid_argument("attention_heatmap: " + std::to_string(x_labels.size()) + " input and " +
                                std::to_string(y_labels.size()) + " output labels for weights " + dims);
  if (o.cell_px < 1 || o.font_scale < 1)
    throw std::invalid_argument("attention_heatmap: cell_px and font_scale must be positive");
  for (std::size_t k = 0; k < weights.size(); ++k)
    if (!(weights[k] >= -kWeightSlack && weights[k] <= 1 + kWeightSlack))
      throw std::invalid_argument("attention_heatmap: weight " + std::to_string(weights[k]) + " at (" +
                                  std::to_string(k / in_len) + ", " + std::to_string(k % in_len) +
                                  ") is outside [0, 1]");

  const int s = o.font_scale, c = o.cell_px, ch = draw::text_height(s);
  const long grid_w = static_cast<long>(in_len) * c, grid_h = static_cast<long>(out_len) * c;
  // Input labels go under their columns, turned vertical when wider than a cell
  // (only those: single letters stay upright and readable next to "<eos>").
  const auto vertical = [&](const std::string& label) { return draw::text_width(label, s) > c; };
  long x_labels_h = ch;
  for (const auto& label : x_labels)
    if (vertical(label)) x_labels_h = std::max<long>(x_labels_h, draw::text_width(label, s));
  const long y_title_w = o.y_title.empty() ? 0 : ch + kPad;
  const long title_h = o.title.empty() ? 0 : ch + kPad;
  const long x_title_h = o.x_title.empty() ? 0 : ch + kPad;

  const long grid_x = kPad + y_title_w + widest(y_labels, s) + kPad;
  const long grid_y = kPad + title_h;
  // Colour bar: a strip as tall as the grid (at least room for its two end labels), labels beside it.
  const long bar_gap = 2 * kPad, bar_w = 16;
  const long bar_h = std::max(grid_h, static_cast<long>(2 * ch + kPad));
  const long bar_x = grid_x + grid_w + bar_gap;
  const long colorbar_w = o.colorbar ? bar_gap + bar_w + kPad / 2 + draw::text_width("0.5", s) : 0;

  const long width = std::max({grid_x + grid_w + colorbar_w + kPad,
                               2L * kPad + draw::text_width(o.title, s)});
  const long height = std::max(grid_y + grid_h + kPad / 2 + x_labels_h + kPad + x_title_h,
                               grid_y + (o.colorbar ? bar_h : 0) + kPad);
  Image image(static_cast<std::size_t>(width), static_cast<std::size_t>(height), kWhite);

  for (std::size_t i = 0; i < out_len; ++i)
    for (std::size_t j = 0; j < in_len; ++j)
      draw::fill_rect(image, grid_x + static_cast<long>(j) * c, grid_y + static_cast<long>(i) * c, c, c,
                      colormap_colour(o.colormap, weights[i * in_len + j]));

  for (std::size_t i = 0; i < out_len; ++i)
    draw::text(image, grid_x - kPad / 2 - draw::text_width(y_labels[i], s),
               grid_y + static_cast<long>(i) * c + (c - ch) / 2, y_labels[i], kBlack, s);
  const long x_labels_y = grid_y + grid_h + kPad / 2;
  for (std::size_t j = 0; j < in_len; ++j) {
    const long column = grid_x + static_cast<long>(j) * c;
    if (vertical(x_labels[j]))  // reads upwards and ends next to its column
      draw::text_vertical(image, column + (c - ch) / 2, x_labels_y, x_labels[j], kBlack, s);
    else
      draw::text(image, column + (c - draw::text_width(x_labels[j], s)) / 2, x_labels_y, x_labels[j], kBlack, s);
  }
  if (!o.title.empty()) draw::text(image, (width - draw::text_width(o.title, s)) / 2, kPad, o.title, kBlack, s);
  if (!o.x_title.empty())
    draw::text(image, grid_x + (grid_w - draw::text_width(o.x_title, s)) / 2, x_labels_y + x_labels_h + kPad,
               o.x_title, kBlack, s);
  if (!o.y_title.empty())
    draw::text_vertical(image, kPad, grid_y + (grid_h - draw::text_width(o.y_title, s)) / 2, o.y_title, kBlack, s);

  if (o.colorbar) {
    for (long r = 0; r < bar_h; ++r)  // 1 at the top
      draw::fill_rect(image, bar_x, grid_y + r, bar_w, 1,
                      colormap_colour(o.colormap, 1.0 - static_cast<double>(r) / static_cast<double>(bar_h - 1)));
    draw::rect_outline(image, bar_x, grid_y, bar_w, bar_h, kFrameGray);
    const long label_x = bar_x + bar_w + kPad / 2;
    draw::text(image, label_x, grid_y, "1", kBlack, s);
    draw::text(image, label_x, grid_y + bar_h - ch, "0", kBlack, s);
    if (bar_h >= 4 * ch) draw::text(image, label_x, grid_y + (bar_h - ch) / 2, "0.5", kBlack, s);
  }
  if (layout) *layout = {grid_x, grid_y, c};
  return image;
}

Image attention_heatmap(const Tensor& weights, const std::vector<std::string>& x_labels,
                        const std::vector<std::string>& y_labels, const HeatmapOptions& options,
                        HeatmapLayout* layout) {
  if (!weights.defined() || weights.dim() != 2 || !is_floating(weights.dtype()))
    throw std::invalid_argument(
        "attention_heatmap: expected a 2-D float tensor [out_len, in_len], got " +
        (weights.defined() ? to_string(weights.shape()) + " " + dtype_name(weights.dtype()) : std::string("none")));
  return attention_heatmap(weights.to_vector(), weights.size(0), weights.size(1), x_labels, y_labels, options, layout);
}

void write_attention_heatmap(const std::filesystem::path& file, const Tensor& weights,
                             const std::vector<std::string>& x_labels, const std::vector<std::string>& y_labels,
                             const HeatmapOptions& options) {
  write_png(file, attention_heatmap(weights, x_labels, y_labels, options));
}

// ---------------------------------------------------------------------------------------------
// Line plot

double PlotLayout::px(double x) const {
  return static_cast<double>(left) + (x - x_lo) / (x_hi - x_lo) * static_cast<double>(right - left);
}
double PlotLayout::py(double y) const {
  return static_cast<double>(bottom) - (y - y_lo) / (y_hi - y_lo) * static_cast<double>(bottom - top);
}

Rgb series_colour(std::size_t k) {
  // Tableau's ten categorical colours (matplotlib's default cycle).
  static constexpr Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                     {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return kPalette[k % std::size(kPalette)];
}

namespace {

// The range to show on one axis: the options' bounds where set, else the data's, with `margin`
// (a fraction of the span) added on the sides the data decides. A single value gets a unit span.
void axis_range(double data_lo, double data_hi, std::optional<double> lo_opt, std::optional<double> hi_opt,
                double margin, double& lo, double& hi, const char* axis) {
  const bool have_data = data_lo <= data_hi;
  if (!have_data && (!lo_opt || !hi_opt))
    throw std::invalid_argument(std::string("line_plot: no data points and no fixed ") + axis + " range");
  if (have_data && data_lo == data_hi) {
    const double half = data_lo == 0 ? 1.0 : std::abs(data_lo) * 0.1;
    data_lo -= half;
    data_hi += half;
  }
  const double span = data_hi - data_lo;
  lo = lo_opt ? *lo_opt : data_lo - margin * span;
  hi = hi_opt ? *hi_opt : data_hi + margin * span;
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    throw std::invalid_argument(std::string("line_plot: empty ") + axis + " range [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "]");
}

// Ticks whose labels fit side by side in `pixels` (fewer ticks until they do).
std::vector<double> fitting_ticks(double lo, double hi, long pixels, int scale, bool horizontal, double& step) {
  for (int target = 10; target >= 1; --target) {
    auto ticks = draw::nice_ticks(lo, hi, target, step);
    int needed = 0;
    for (double t : ticks)
      needed = std::max(needed, horizontal ? draw::text_width(draw::tick_label(t, step), scale) : draw::text_height(scale));
    if (ticks.size() <= 1 ||
        static_cast<double>(needed + 3 * kPad) <= static_cast<double>(pixels) * step / (hi - lo))
      return ticks;
  }
  return draw::nice_ticks(lo, hi, 1, step);
}

}  // namespace

Image line_plot(const std::vector<Series>& series, const LinePlotOptions& o, PlotLayout* layout_out) {
  if (series.empty()) throw std::invalid_argument("line_plot: no series");
  if (o.font_scale < 1) throw std::invalid_argument("line_plot: font_scale must be positive");
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument("line_plot: series '" + s.name + "' has " + std::to_string(s.x.size()) +
                                  " x values and " + std::to_string(s.y.size()) + " y values");
    for (std::size_t k = 0; k < s.x.size(); ++k) {
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k]))
        throw std::invalid_argument("line_plot: series '" + s.name + "' point " + std::to_string(k) +
                                    " is not finite");
      x_min = std::min(x_min, s.x[k]), x_max = std::max(x_max, s.x[k]);
      y_min = std::min(y_min, s.y[k]), y_max = std::max(y_max, s.y[k]);
    }
  }
  PlotLayout L;
  // Markers at the ends of the x range would be cut in half: give them a margin.
  axis_range(x_min, x_max, o.x_min, o.x_max, o.markers ? 0.03 : 0.0, L.x_lo, L.x_hi, "x");
  axis_range(y_min, y_max, o.y_min, o.y_max, 0.05, L.y_lo, L.y_hi, "y");

  const int s = o.font_scale, ch = draw::text_height(s), tick = 6;
  const long title_h = o.title.empty() ? 0 : ch + kPad;
  const long y_label_w = o.y_label.empty() ? 0 : ch + kPad;
  const long x_label_h = o.x_label.empty() ? 0 : ch + kPad;
  L.top = kPad + title_h + ch / 2;  // room for the top tick label's upper half
  L.bottom = o.height - 1 - (kPad + x_label_h + ch + tick + kPad / 2);
  // The y tick labels' width decides the left margin, and they depend only on the y range.
  double y_step, x_step;
  const auto y_ticks = fitting_ticks(L.y_lo, L.y_hi, L.bottom - L.top, s, false, y_step);
  int y_ticks_w = 0;
  for (double t : y_ticks) y_ticks_w = std::max(y_ticks_w, draw::text_width(draw::tick_label(t, y_step), s));
  L.left = kPad + y_label_w + y_ticks_w + kPad / 2 + tick;
  L.right = o.width - 1 - (kPad + draw::text_width(draw::tick_label(L.x_hi, 1.0), s) / 2 + kPad);
  if (L.right - L.left < 50 || L.bottom - L.top < 50)
    throw std::invalid_argument("line_plot: " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                                " leaves no room for the plot area");
  const auto x_ticks = fitting_ticks(L.x_lo, L.x_hi, L.right - L.left, s, true, x_step);

  Image image(static_cast<std::size_t>(o.width), static_cast<std::size_t>(o.height), kWhite);
  for (double t : y_ticks) {
    const long y = std::lround(L.py(t));
    draw::fill_rect(image, L.left, y, L.right - L.left + 1, 1, kGridGray);
    draw::fill_rect(image, L.left - tick, y, tick, 1, kBlack);
    const auto label = draw::tick_label(t, y_step);
    draw::text(image, L.left - tick - kPad / 2 - draw::text_width(label, s), y - ch / 2, label, kBlack, s);
  }
  for (double t : x_ticks) {
    const long x = std::lround(L.px(t));
    draw::fill_rect(image, x, L.top, 1, L.bottom - L.top + 1, kGridGray);
    draw::fill_rect(image, x, L.bottom + 1, 1, tick, kBlack);
    const auto label = draw::tick_label(t, x_step);
    draw::text(image, x - draw::text_width(label, s) / 2, L.bottom + tick + kPad / 2, label, kBlack, s);
  }
  draw::rect_outline(image, L.left - 1, L.top - 1, L.right - L.left + 3, L.bottom - L.top + 3, kBlack);
  if (!o.title.empty()) draw::text(image, (o.width - draw::text_width(o.title, s)) / 2, kPad, o.title, kBlack, s);
  if (!o.x_label.empty())
    draw::text(image, (L.left + L.right - draw::text_width(o.x_label, s)) / 2, o.height - kPad - ch, o.x_label,
               kBlack, s);
  if (!o.y_label.empty())
    draw::text_vertical(image, kPad, (L.top + L.bottom - draw::text_width(o.y_label, s)) / 2, o.y_label, kBlack, s);

  const draw::Clip clip{L.left, L.top, L.right, L.bottom};
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& sr = series[k];
    const Rgb colour = series_colour(k);
    for (std::size_t p = 0; p + 1 < sr.x.size(); ++p)
      draw::line(image, L.px(sr.x[p]), L.py(sr.y[p]), L.px(sr.x[p + 1]), L.py(sr.y[p + 1]), colour, 2, &clip);
    for (std::size_t p = 0; p < sr.x.size(); ++p)  // markers, or a lone point that no line shows
      if (o.markers || sr.x.size() == 1)
        for (int d = -3; d <= 3; ++d)
          draw::line(image, L.px(sr.x[p]) - 3, L.py(sr.y[p]) + d, L.px(sr.x[p]) + 3, L.py(sr.y[p]) + d, colour, 1,
                     &clip);
  }

  if (o.legend) {
    const long row_h = ch + kPad / 2, sample_w = 28;
    long names_w = 0;
    for (const auto& sr : series) names_w = std::max<long>(names_w, draw::text_width(sr.name, s));
    const long box_w = kPad + sample_w + kPad + names_w + kPad;
    const long box_h = kPad + static_cast<long>(series.size()) * row_h - kPad / 2 + kPad;
    // The corner of the plot area where the legend hides the fewest points of the lines.
    const long corners[4][2] = {{L.right - kPad - box_w, L.top + kPad},
                                {L.left + kPad, L.top + kPad},
                                {L.right - kPad - box_w, L.bottom - kPad - box_h},
                                {L.left + kPad, L.bottom - kPad - box_h}};
    long box_x = corners[0][0], box_y = corners[0][1];
    std::size_t fewest = SIZE_MAX;
    for (const auto& corner : corners) {
      std::size_t hidden = 0;
      for (const auto& sr : series)
        for (std::size_t p = 0; p < sr.x.size(); ++p)
          for (int t = 0; t < 8; ++t) {  // points along the segment to the next point
            const std::size_t q = std::min(p + 1, sr.x.size() - 1);
            const double x = L.px(sr.x[p] + (sr.x[q] - sr.x[p]) * t / 8.0);
            const double y = L.py(sr.y[p] + (sr.y[q] - sr.y[p]) * t / 8.0);
            hidden += x >= corner[0] - 4 && x <= corner[0] + box_w + 4 && y >= corner[1] - 4 &&
                      y <= corner[1] + box_h + 4;
          }
      if (hidden < fewest) fewest = hidden, box_x = corner[0], box_y = corner[1];
    }
    draw::fill_rect(image, box_x, box_y, box_w, box_h, kWhite);
    draw::rect_outline(image, box_x, box_y, box_w, box_h, kFrameGray);
    for (std::size_t k = 0; k < series.size(); ++k) {
      const long y = box_y + kPad + static_cast<long>(k) * row_h;
      draw::fill_rect(image, box_x + kPad, y + ch / 2 - 1, sample_w, 3, series_colour(k));
      draw::text(image, box_x + kPad + sample_w + kPad, y, series[k].name, kBlack, s);
    }
  }
  if (layout_out) *layout_out = L;
  return image;
}

void write_line_plot(const std::filesystem::path& file, const std::vector<Series>& series,
                     const LinePlotOptions& options) {
  write_png(file, line_plot(series, options));
}

}  // namespace seqgrad::nn::seq2seq
