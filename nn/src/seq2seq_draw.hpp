#pragma once
// Drawing primitives for the plots (internal to seqgrad_nn): rectangles, lines, bitmap text, colour
// maps and axis ticks, on an Image.
#include <string>
#include <string_view>
#include <vector>

#include "seqgrad/nn/seq2seq/image.hpp"

namespace seqgrad::nn::seq2seq::draw {

inline constexpr int kGlyphWidth = 5, kGlyphHeight = 8;
inline constexpr int kGlyphAdvance = 6;  // a blank column between characters

// Whether the pixel (row, column) of character c is set; characters outside printable ASCII
// show as '?'.
bool glyph_pixel(char c, int row, int column);

// Text is drawn at an integer scale (each font pixel a scale x scale square). A UTF-8 character
// counts (and shows) as one '?'.
int text_width(std::string_view text, int scale);
inline int text_height(int scale) { return kGlyphHeight * scale; }

// Horizontal text with its top-left corner at (x, y).
void text(Image& image, long x, long y, std::string_view s, Rgb colour, int scale);
// Text turned 90 degrees counter-clockwise (read from bottom to top), its bounding box's top-left
// corner at (x, y): text_height(scale) wide, text_width(s, scale) high.
void text_vertical(Image& image, long x, long y, std::string_view s, Rgb colour, int scale);

void fill_rect(Image& image, long x, long y, long width, long height, Rgb colour);
void rect_outline(Image& image, long x, long y, long width, long height, Rgb colour);
// Pixels outside it are left alone (a plot's series stay inside the axes).
struct Clip {
  long left, top, right, bottom;  // inclusive
};
// A line `thickness` pixels wide from (x0, y0) to (x1, y1).
void line(Image& image, double x0, double y0, double x1, double y1, Rgb colour, int thickness,
          const Clip* clip = nullptr);

// Colour maps over [0, 1]: viridis (dark violet -> yellow) and grays (white -> black).
Rgb viridis(double t);
Rgb grays(double t);

// "Nice" tick positions (1, 2 or 5 times a power of ten) covering [lo, hi] with about `target`
// ticks; returns the ticks and sets `step`.
std::vector<double> nice_ticks(double lo, double hi, int target, double& step);
// A tick label with as many decimals as the step needs ("0.25", "1500", "1e+06").
std::string tick_label(double value, double step);

}  // namespace seqgrad::nn::seq2seq::draw
