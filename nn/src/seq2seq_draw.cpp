#include "seq2seq_draw.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace seqgrad::nn::seq2seq::draw {

namespace {

// The characters to draw: UTF-8 sequences collapse to one '?'.
std::string drawable(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte & 0xC0) == 0x80) continue;  // continuation byte
    out += byte < 0x80 ? c : '?';
  }
  return out;
}

// Draws the glyphs of s with font pixel (row, column) of character k at to_image(k, row, column).
template <class Place>
void glyphs(Image& image, std::string_view s, Rgb colour, int scale, Place to_image) {
  const std::string chars = drawable(s);
  for (std::size_t k = 0; k < chars.size(); ++k)
    for (int row = 0; row < kGlyphHeight; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (glyph_pixel(chars[k], row, col))
          for (int dy = 0; dy < scale; ++dy)
            for (int dx = 0; dx < scale; ++dx) {
              auto [x, y] = to_image(static_cast<long>(k), row * scale + dy, col * scale + dx);
              image.set(x, y, colour);
            }
}

Rgb lerp(Rgb a, Rgb b, double t) {
  const auto mix = [t](std::uint8_t u, std::uint8_t v) {
    return static_cast<std::uint8_t>(std::lround(u + (static_cast<double>(v) - u) * t));
  };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

}  // namespace

int text_width(std::string_view s, int scale) {
  const auto n = static_cast<int>(drawable(s).size());
  return n == 0 ? 0 : (n * kGlyphAdvance - (kGlyphAdvance - kGlyphWidth)) * scale;
}

void text(Image& image, long x, long y, std::string_view s, Rgb colour, int scale) {
  glyphs(image, s, colour, scale, [&](long k, int down, int right) {
    return std::pair{x + k * kGlyphAdvance * scale + right, y + down};
  });
}

void text_vertical(Image& image, long x, long y, std::string_view s, Rgb colour, int scale) {
  // Turning counter-clockwise maps "right along the text" to "up" and "down the glyph" to "right".
  const long bottom = y + text_width(s, scale) - 1;
  glyphs(image, s, colour, scale, [&](long k, int down, int right) {
    return std::pair{x + down, bottom - (k * kGlyphAdvance * scale + right)};
  });
}

void fill_rect(Image& image, long x, long y, long width, long height, Rgb colour) {
  for (long j = y; j < y + height; ++j)
    for (long i = x; i < x + width; ++i) image.set(i, j, colour);
}

void rect_outline(Image& image, long x, long y, long width, long height, Rgb colour) {
  fill_rect(image, x, y, width, 1, colour);
  fill_rect(image, x, y + height - 1, width, 1, colour);
  fill_rect(image, x, y, 1, height, colour);
  fill_rect(image, x + width - 1, y, 1, height, colour);
}

void line(Image& image, double x0, double y0, double x1, double y1, Rgb colour, int thickness, const Clip* clip) {
  // Stamps a thickness x thickness square every half pixel along the line.
  const double length = std::hypot(x1 - x0, y1 - y0);
  const int steps = std::max(1, static_cast<int>(std::ceil(length * 2)));
  const double half = (thickness - 1) / 2.0;
  for (int s = 0; s <= steps; ++s) {
    const double t = static_cast<double>(s) / steps;
    const long x = std::lround(x0 + (x1 - x0) * t - half), y = std::lround(y0 + (y1 - y0) * t - half);
    for (long j = y; j < y + thickness; ++j)
      for (long i = x; i < x + thickness; ++i)
        if (!clip || (i >= clip->left && i <= clip->right && j >= clip->top && j <= clip->bottom))
          image.set(i, j, colour);
  }
}

Rgb viridis(double t) {
  // matplotlib's viridis at 0, 1/8, ..., 1, interpolated linearly between.
  static constexpr Rgb kStops[] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142}, {38, 130, 142},
                                   {31, 158, 137}, {53, 183, 121}, {110, 206, 88}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * (std::size(kStops) - 1);
  const auto k = std::min(static_cast<std::size_t>(t), std::size(kStops) - 2);
  return lerp(kStops[k], kStops[k + 1], t - static_cast<double>(k));
}

Rgb grays(double t) { return lerp({255, 255, 255}, {0, 0, 0}, std::clamp(t, 0.0, 1.0)); }

std::vector<double> nice_ticks(double lo, double hi, int target, double& step) {
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  step = (fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0) * magnitude;
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1.0) {
    const double v = k * step;
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);  // no "-0"
  }
  return ticks;
}

std::string tick_label(double value, double step) {
  char buffer[32];
  if (std::abs(value) >= 1e6 || (value != 0 && std::abs(value) < 1e-4)) {
    std::snprintf(buffer, sizeof buffer, "%g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  }
  return buffer;
}

}  // namespace seqgrad::nn::seq2seq::draw
