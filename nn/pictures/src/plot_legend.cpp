#include "plot_legend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "canvas.hpp"
#include "colour.hpp"

namespace seqgrad::pictures::detail {

namespace {

constexpr long kSampleWidth = 28, kRowGap = 3;

// Points sampled along the lines (8 per segment): how many fall inside the box (plus a margin).
std::size_t points_hidden(const std::vector<Series>& series, const PlotLayout& L, const Legend& box) {
  std::size_t hidden = 0;
  for (const auto& s : series)
    for (std::size_t p = 0; p < s.x.size(); ++p)
      for (int t = 0; t < 8; ++t) {
        const std::size_t q = std::min(p + 1, s.x.size() - 1);
        const double x = L.px(s.x[p] + (s.x[q] - s.x[p]) * t / 8.0);
        const double y = L.py(s.y[p] + (s.y[q] - s.y[p]) * t / 8.0);
        hidden += x >= static_cast<double>(box.x - 4) && x <= static_cast<double>(box.x + box.width + 4) &&
                  y >= static_cast<double>(box.y - 4) && y <= static_cast<double>(box.y + box.height + 4);
      }
  return hidden;
}

}  // namespace

void marker(cairo_t* cr, double x, double y) {
  cairo_rectangle(cr, x - 3.5, y - 3.5, 7, 7);
  cairo_fill(cr);
}

Legend place_legend(const std::vector<Series>& series, const PlotLayout& L, const TextMetrics& m) {
  double names_w = 0;
  for (const auto& s : series) names_w = std::max(names_w, m.width(s.name));
  const long row_h = std::lround(std::ceil(m.line())) + kRowGap;
  Legend box;
  box.width = kPad + kSampleWidth + kPad + std::lround(std::ceil(names_w)) + kPad;
  box.height = kPad + static_cast<long>(series.size()) * row_h - kRowGap + kPad;
  const long corners[4][2] = {{L.right - kPad - box.width, L.top + kPad},
                              {L.left + kPad, L.top + kPad},
                              {L.right - kPad - box.width, L.bottom - kPad - box.height},
                              {L.left + kPad, L.bottom - kPad - box.height}};
  std::size_t fewest = SIZE_MAX;
  Legend best = box;
  for (const auto& corner : corners) {
    Legend candidate = box;
    candidate.x = corner[0];
    candidate.y = corner[1];
    if (const std::size_t hidden = points_hidden(series, L, candidate); hidden < fewest) fewest = hidden, best = candidate;
  }
  return best;
}

void paint_legend(cairo_t* cr, const Legend& box, const std::vector<Series>& series, bool markers,
                  const TextMetrics& m) {
  const auto x = static_cast<double>(box.x), y = static_cast<double>(box.y);
  set_colour(cr, kWhite);
  cairo_rectangle(cr, x, y, static_cast<double>(box.width), static_cast<double>(box.height));
  cairo_fill(cr);
  set_colour(cr, kFrameGray);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x + 0.5, y + 0.5, static_cast<double>(box.width - 1), static_cast<double>(box.height - 1));
  cairo_stroke(cr);
  const double row_h = std::ceil(m.line()) + kRowGap;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const double top = y + kPad + static_cast<double>(k) * row_h;
    // The sample: a 3-pixel band on whole pixels, centred on the text's capitals.
    const double middle = std::round(top + m.ascent - m.cap / 2);
    set_colour(cr, series_colour(k));
    cairo_rectangle(cr, x + kPad, middle - 1, kSampleWidth, 3);
    cairo_fill(cr);
    if (markers) marker(cr, x + kPad + kSampleWidth / 2.0, middle + 0.5);
    set_colour(cr, kBlack);
    show_text(cr, series[k].name, x + kPad + kSampleWidth + kPad, top + m.ascent);
  }
}

}  // namespace seqgrad::pictures::detail
