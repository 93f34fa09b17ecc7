#pragma once
// Colours for cairo (internal to seqgrad_pictures).
#include <cairo.h>

#include "seqgrad/pictures/image.hpp"

namespace seqgrad::pictures::detail {

// cairo takes channels in [0, 1]; c / 255 comes back as exactly c in an 8-bit surface.
inline void set_colour(cairo_t* cr, Rgb c) { cairo_set_source_rgb(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0); }

inline constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0};
inline constexpr Rgb kGridGray{225, 225, 225}, kFrameGray{120, 120, 120};

}  // namespace seqgrad::pictures::detail
