#pragma once
// The line plot's legend (internal to seqgrad_pictures): its size, the corner it hides the fewest
// points in, and its drawing.
#include <cairo.h>

#include <vector>

#include "seqgrad/pictures/plot.hpp"
#include "text.hpp"

namespace seqgrad::pictures::detail {

struct Legend {
  long x = 0, y = 0, width = 0, height = 0;  // the box, in whole pixels
};

// The legend box for these series, in the corner of the plot area (top right, top left, bottom
// right, bottom left, in that order of preference) where it covers the fewest points of the lines.
Legend place_legend(const std::vector<Series>& series, const PlotLayout& plot, const TextMetrics& m);
// Draws it: a white box with a gray frame, per series a sample of the line (and its marker when
// `markers`) and the series' name.
void paint_legend(cairo_t* cr, const Legend& legend, const std::vector<Series>& series, bool markers,
                  const TextMetrics& m);

// A filled square marker centred on (x, y); shared with the plot's points.
void marker(cairo_t* cr, double x, double y);

}  // namespace seqgrad::pictures::detail
