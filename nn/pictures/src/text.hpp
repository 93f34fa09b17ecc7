#pragma once
// Text for the pictures through cairo's toy text API in a sans-serif face (DejaVu Sans on
// Debian, from fonts-dejavu-core). Layout needs text sizes before anything is drawn, so
// TextMetrics measures on a scratch surface with the same font settings the drawing uses.
#include <cairo.h>

#include <string>
#include <string_view>

#include "canvas.hpp"

namespace seqgrad::pictures::detail {

// Selects the font on cr. Metric hinting is off, so widths are the same on every surface (an
// image measured for layout, a PNG or an SVG drawn from it).
void use_font(cairo_t* cr, double size_px);

// s with every byte that is not part of valid UTF-8 replaced by '?': cairo refuses invalid
// UTF-8 by putting the whole context into an error state.
std::string valid_utf8(std::string_view s);

class TextMetrics {
 public:
  explicit TextMetrics(double size_px);
  double width(std::string_view s) const;  // advance of the whole string
  double size = 0;
  double ascent = 0, descent = 0;  // of the font, in pixels (the line box is their sum)
  double cap = 0;                  // height of a capital letter: centring on cap / 2 looks centred
  double line() const { return ascent + descent; }

 private:
  Surface surface_;
  Context cr_;
};

// Horizontal text with its baseline at `baseline`; `align` is the fraction of the text left of x
// (0 starts at x, 0.5 is centred on x, 1 ends at x).
void show_text(cairo_t* cr, std::string_view s, double x, double baseline, double align = 0);
// Text turned a quarter counter-clockwise, reading upwards with its baseline along column x (the
// letters' tops point left); `align` is the fraction of the text below y.
void show_text_up(cairo_t* cr, std::string_view s, double x, double y, double align = 0);

}  // namespace seqgrad::pictures::detail
