#include "seqgrad/pictures/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>

#include "canvas.hpp"
#include "colour.hpp"
#include "plot_legend.hpp"
#include "text.hpp"
#include "ticks.hpp"

namespace seqgrad::pictures {

double PlotLayout::px(double x) const {
  return static_cast<double>(left) + (x - x_lo) / (x_hi - x_lo) * static_cast<double>(right - left);
}
double PlotLayout::py(double y) const {
  return static_cast<double>(bottom) - (y - y_lo) / (y_hi - y_lo) * static_cast<double>(bottom - top);
}

namespace {

using detail::kBlack;
using detail::kGridGray;
using detail::kWhite;
using detail::set_colour;

using detail::kPad;
constexpr long kTick = 6;

void check(const std::vector<Series>& series, const LinePlotOptions& o, const std::string& who) {
  if (series.empty()) throw std::invalid_argument(who + ": no series");
  if (!(o.font_size > 0) || !std::isfinite(o.font_size))
    throw std::invalid_argument(who + ": font_size " + std::to_string(o.font_size) + " is not positive");
  for (const auto& s : series) {
    if (s.x.size() != s.y.size())
      throw std::invalid_argument(who + ": series '" + s.name + "' has " + std::to_string(s.x.size()) +
                                  " x values and " + std::to_string(s.y.size()) + " y values");
    for (std::size_t k = 0; k < s.x.size(); ++k)
      if (!std::isfinite(s.x[k]) || !std::isfinite(s.y[k]))
        throw std::invalid_argument(who + ": series '" + s.name + "' point " + std::to_string(k) + " is not finite");
  }
}

// The range to show on one axis: the options' bounds where set, else the data's, with `margin`
// (a fraction of the span) added on the sides the data decides. A single value gets a unit span.
void axis_range(double data_lo, double data_hi, std::optional<double> lo_opt, std::optional<double> hi_opt,
                double margin, double& lo, double& hi, const std::string& axis, const std::string& who) {
  const bool have_data = data_lo <= data_hi;
  if (!have_data && (!lo_opt || !hi_opt))
    throw std::invalid_argument(who + ": no data points and no fixed " + axis + " range");
  if (have_data && data_lo == data_hi) {
    const double half = data_lo == 0 ? 1.0 : std::abs(data_lo) * 0.1;
    data_lo -= half;
    data_hi += half;
  }
  const auto shown = [](double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    return std::string(text);
  };
  const double span = data_hi - data_lo;
  if (have_data && !std::isfinite(span))
    throw std::invalid_argument(who + ": the " + axis + " values span [" + shown(data_lo) + ", " + shown(data_hi) +
                                "], more than a double can hold");
  lo = lo_opt ? *lo_opt : data_lo - margin * span;
  hi = hi_opt ? *hi_opt : data_hi + margin * span;
  if (!(lo < hi) || !std::isfinite(lo) || !std::isfinite(hi))
    throw std::invalid_argument(who + ": empty " + axis + " range [" + shown(lo) + ", " + shown(hi) + "]");
  if (!std::isfinite(hi - lo))
    throw std::invalid_argument(who + ": the " + axis + " range [" + shown(lo) + ", " + shown(hi) +
                                "] spans more than a double can hold");
}

struct Ticks {
  std::vector<double> at;
  double step = 1;
};

// Ticks whose labels fit side by side in `pixels` (fewer ticks until they do).
Ticks fitting_ticks(double lo, double hi, long pixels, bool horizontal, const detail::TextMetrics& m) {
  Ticks t;
  for (int target = 10; target >= 1; --target) {
    t.at = detail::nice_ticks(lo, hi, target, t.step);
    double needed = m.line();
    if (horizontal)
      for (double v : t.at) needed = std::max(needed, m.width(detail::tick_label(v, t.step)));
    if (t.at.size() <= 1 || needed + 3 * kPad <= static_cast<double>(pixels) * t.step / (hi - lo)) return t;
  }
  t.at = detail::nice_ticks(lo, hi, 1, t.step);
  return t;
}

struct PlotGeometry {
  PlotLayout L;
  Ticks x_ticks, y_ticks;
  detail::Legend legend;
};

PlotGeometry layout_of(const std::vector<Series>& series, const LinePlotOptions& o, const detail::TextMetrics& m,
                   const std::string& who) {
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const auto& s : series)
    for (std::size_t k = 0; k < s.x.size(); ++k) {
      x_min = std::min(x_min, s.x[k]), x_max = std::max(x_max, s.x[k]);
      y_min = std::min(y_min, s.y[k]), y_max = std::max(y_max, s.y[k]);
    }
  PlotGeometry g;
  PlotLayout& L = g.L;
  // Markers at the ends of the x range would be cut in half: give them a margin.
  axis_range(x_min, x_max, o.x_min, o.x_max, o.markers ? 0.03 : 0.0, L.x_lo, L.x_hi, "x", who);
  axis_range(y_min, y_max, o.y_min, o.y_max, 0.05, L.y_lo, L.y_hi, "y", who);

  const long line = std::lround(std::ceil(m.line())), half_cap = std::lround(std::ceil(m.cap / 2));
  const long title_h = o.title.empty() ? 0 : line + kPad;
  const long y_label_w = o.y_label.empty() ? 0 : line + kPad / 2;
  const long x_label_h = o.x_label.empty() ? 0 : line + kPad / 2;
  L.top = kPad + title_h + half_cap;  // room for the top tick label's upper half
  L.bottom = o.height - 1 - (kPad + x_label_h + line + kTick + kPad / 2);
  // The y tick labels' width decides the left margin, and they depend only on the y range.
  g.y_ticks = fitting_ticks(L.y_lo, L.y_hi, L.bottom - L.top, false, m);
  double y_ticks_w = 0;
  for (double t : g.y_ticks.at) y_ticks_w = std::max(y_ticks_w, m.width(detail::tick_label(t, g.y_ticks.step)));
  L.left = kPad + y_label_w + std::lround(std::ceil(y_ticks_w)) + kPad / 2 + kTick;
  // Room on the right for half of the last x tick label.
  L.right = o.width - 1 - (kPad + std::lround(std::ceil(m.width(detail::tick_label(L.x_hi, 1.0)) / 2)));
  if (L.right - L.left < 50 || L.bottom - L.top < 50)
    throw std::invalid_argument(who + ": " + std::to_string(o.width) + "x" + std::to_string(o.height) +
                                " leaves no room for the plot area");
  g.x_ticks = fitting_ticks(L.x_lo, L.x_hi, L.right - L.left, true, m);
  if (o.legend) g.legend = detail::place_legend(series, L, m);
  return g;
}

// Pixel (column or row) p covers [p, p + 1): its centre is p + 0.5, where a 1-pixel line is crisp.
double centre(double p) { return p + 0.5; }

void paint_axes(cairo_t* cr, const PlotGeometry& g, const LinePlotOptions& o, const detail::TextMetrics& m) {
  const PlotLayout& L = g.L;
  const auto left = static_cast<double>(L.left), right = static_cast<double>(L.right);
  const auto top = static_cast<double>(L.top), bottom = static_cast<double>(L.bottom);
  cairo_set_line_width(cr, 1);
  for (double t : g.y_ticks.at) {
    const double y = centre(std::round(L.py(t)));
    set_colour(cr, kGridGray);
    cairo_move_to(cr, left, y);
    cairo_line_to(cr, right + 1, y);
    cairo_stroke(cr);
    set_colour(cr, kBlack);
    cairo_move_to(cr, left - kTick - 1, y);
    cairo_line_to(cr, left - 1, y);
    cairo_stroke(cr);
    detail::show_text(cr, detail::tick_label(t, g.y_ticks.step), left - kTick - kPad / 2 - 1, y + m.cap / 2, 1.0);
  }
  for (double t : g.x_ticks.at) {
    const double x = centre(std::round(L.px(t)));
    set_colour(cr, kGridGray);
    cairo_move_to(cr, x, top);
    cairo_line_to(cr, x, bottom + 1);
    cairo_stroke(cr);
    set_colour(cr, kBlack);
    cairo_move_to(cr, x, bottom + 2);
    cairo_line_to(cr, x, bottom + 2 + kTick);
    cairo_stroke(cr);
    detail::show_text(cr, detail::tick_label(t, g.x_ticks.step), x, bottom + 2 + kTick + kPad / 2 + m.ascent, 0.5);
  }
  // The frame: one pixel just outside the plot area on every side.
  set_colour(cr, kBlack);
  cairo_rectangle(cr, left - 0.5, top - 0.5, right - left + 2, bottom - top + 2);
  cairo_stroke(cr);
  if (!o.title.empty()) detail::show_text(cr, o.title, o.width / 2.0, kPad + m.ascent, 0.5);
  if (!o.x_label.empty())
    detail::show_text(cr, o.x_label, (left + right + 1) / 2, o.height - kPad - m.descent, 0.5);
  if (!o.y_label.empty()) detail::show_text_up(cr, o.y_label, kPad + m.ascent, (top + bottom + 1) / 2, 0.5);
}

void paint_series(cairo_t* cr, const PlotGeometry& g, const std::vector<Series>& series, const LinePlotOptions& o) {
  const PlotLayout& L = g.L;
  cairo_save(cr);
  cairo_rectangle(cr, static_cast<double>(L.left), static_cast<double>(L.top), static_cast<double>(L.right - L.left + 1),
                  static_cast<double>(L.bottom - L.top + 1));
  cairo_clip(cr);
  cairo_set_line_width(cr, 2);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    set_colour(cr, series_colour(k));
    for (std::size_t p = 0; p < s.x.size(); ++p)
      cairo_line_to(cr, centre(L.px(s.x[p])), centre(L.py(s.y[p])));  // the first is a move_to (no current point)
    cairo_stroke(cr);
    for (std::size_t p = 0; p < s.x.size(); ++p)  // markers, or a lone point that no line shows
      if (o.markers || s.x.size() == 1) detail::marker(cr, centre(L.px(s.x[p])), centre(L.py(s.y[p])));
  }
  cairo_restore(cr);
}

detail::Drawing drawing(const std::vector<Series>& series, const LinePlotOptions& o, const std::string& who,
                        PlotLayout* layout) {
  check(series, o, who);
  auto m = std::make_shared<detail::TextMetrics>(o.font_size);
  const PlotGeometry g = layout_of(series, o, *m, who);
  if (layout) *layout = g.L;
  // The reference to series stays valid: the Drawing is painted before the caller returns.
  return {o.width, o.height, [=, &series](cairo_t* cr) {
            set_colour(cr, kWhite);
            cairo_paint(cr);
            detail::use_font(cr, m->size);
            paint_axes(cr, g, o, *m);
            paint_series(cr, g, series, o);
            if (o.legend) detail::paint_legend(cr, g.legend, series, o.markers, *m);
          }};
}

}  // namespace

Image line_plot(const std::vector<Series>& series, const LinePlotOptions& options, PlotLayout* layout) {
  return detail::render(drawing(series, options, "line_plot", layout), "line_plot");
}

void write_line_plot(const std::filesystem::path& file, const std::vector<Series>& series,
                     const LinePlotOptions& options) {
  detail::write_drawing(file, drawing(series, options, "write_line_plot", nullptr), "write_line_plot");
}

}  // namespace seqgrad::pictures
