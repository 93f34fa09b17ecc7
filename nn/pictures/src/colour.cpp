// The colour map of the heatmaps and the palette of the line plots.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "seqgrad/pictures/heatmap.hpp"
#include "seqgrad/pictures/plot.hpp"

namespace seqgrad::pictures {

namespace {

Rgb lerp(Rgb a, Rgb b, double t) {
  const auto mix = [t](std::uint8_t u, std::uint8_t v) {
    return static_cast<std::uint8_t>(std::lround(u + (static_cast<double>(v) - u) * t));
  };
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

Rgb viridis(double t) {
  // matplotlib's viridis at 0, 1/8, ..., 1, interpolated linearly between.
  static constexpr Rgb kStops[] = {{68, 1, 84},    {72, 40, 120},  {62, 73, 137},  {49, 104, 142}, {38, 130, 142},
                                   {31, 158, 137}, {53, 183, 121}, {110, 206, 88}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * (std::size(kStops) - 1);
  const auto k = std::min(static_cast<std::size_t>(t), std::size(kStops) - 2);
  return lerp(kStops[k], kStops[k + 1], t - static_cast<double>(k));
}

}  // namespace

Rgb colormap_colour(ColorMap map, double w) {
  if (std::isnan(w)) w = 0;  // clamp would keep NaN; the heatmap refuses it before it gets here
  return map == ColorMap::viridis ? viridis(w) : lerp({255, 255, 255}, {0, 0, 0}, std::clamp(w, 0.0, 1.0));
}

Rgb series_colour(std::size_t k) {
  // Tableau's ten categorical colours (matplotlib's default cycle).
  static constexpr Rgb kPalette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                     {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
  return kPalette[k % std::size(kPalette)];
}

}  // namespace seqgrad::pictures
