#include "text.hpp"

#include <cmath>
#include <numbers>

namespace seqgrad::pictures::detail {

void use_font(cairo_t* cr, double size_px) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size_px);
  cairo_font_options_t* options = cairo_font_options_create();
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_SLIGHT);
  cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);  // no colour fringes
  cairo_set_font_options(cr, options);
  cairo_font_options_destroy(options);
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    // Length of the sequence a lead byte starts, and the smallest code point it may carry
    // (anything below is an overlong encoding).
    const std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    char32_t code = n == 1 ? b : n == 2 ? b & 0x1F : n == 3 ? b & 0x0F : b & 0x07;
    for (std::size_t k = 1; ok && k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      ok = (c & 0xC0) == 0x80;
      code = (code << 6) | (c & 0x3F);
    }
    static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && code >= kMin[n] && code <= 0x10FFFF && !(code >= 0xD800 && code <= 0xDFFF) && code != 0;
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

TextMetrics::TextMetrics(double size_px)
    : size(size_px), surface_(image_surface(1, 1, "TextMetrics")), cr_(cairo_create(surface_.get())) {
  use_font(cr_.get(), size_px);
  cairo_font_extents_t font;
  cairo_font_extents(cr_.get(), &font);
  ascent = font.ascent;
  descent = font.descent;
  cairo_text_extents_t h;
  cairo_text_extents(cr_.get(), "H", &h);
  cap = -h.y_bearing;
}

double TextMetrics::width(std::string_view s) const {
  if (s.empty()) return 0;
  cairo_text_extents_t e;
  cairo_text_extents(cr_.get(), valid_utf8(s).c_str(), &e);
  return e.x_advance;
}

void show_text(cairo_t* cr, std::string_view s, double x, double baseline, double align) {
  if (s.empty()) return;
  const std::string text = valid_utf8(s);
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  cairo_move_to(cr, x - align * e.x_advance, baseline);
  cairo_show_text(cr, text.c_str());
}

void show_text_up(cairo_t* cr, std::string_view s, double x, double y, double align) {
  if (s.empty()) return;
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, -std::numbers::pi / 2);  // the text's x axis now points up the picture
  show_text(cr, s, 0, 0, align);
  cairo_restore(cr);
}

}  // namespace seqgrad::pictures::detail
