#include "canvas.hpp"

#include <cairo-svg.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "seqgrad/graph/atomic_file.hpp"

namespace seqgrad::pictures::detail {

namespace {

enum class Format { png, svg };

Format format_of(const std::filesystem::path& file, const std::string& who) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".png") return Format::png;
  if (ext == ".svg") return Format::svg;
  throw std::invalid_argument(who + ": " + file.string() + ": unknown picture format '" + ext +
                              "' (the name must end in .png or .svg)");
}

// cairo's stream writers call this with each piece of the file.
cairo_status_t write_callback(void* closure, const unsigned char* data, unsigned int length) {
  return static_cast<AtomicFile*>(closure)->write_noexcept(data, length) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

void paint_on(cairo_surface_t* surface, const Drawing& drawing, const std::string& who) {
  Context cr(cairo_create(surface));
  drawing.paint(cr.get());
  if (const auto status = cairo_status(cr.get()); status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error(who + ": drawing failed: " + cairo_status_to_string(status));
}

}  // namespace

void check_picture_size(long width, long height, const std::string& who, const std::string& what) {
  if (width > kMaxPictureSide || height > kMaxPictureSide)
    throw std::invalid_argument(who + ": " + what + " would be " + std::to_string(width) + "x" + std::to_string(height) +
                                " pixels, more than the " + std::to_string(kMaxPictureSide) +
                                " pixels a side that a picture can have");
}

Surface image_surface(int width, int height, const std::string& who) {
  check_picture_size(width, height, who);
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  if (const auto status = cairo_surface_status(surface.get()); status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error(who + ": cannot make a " + std::to_string(width) + "x" + std::to_string(height) +
                             " image: " + cairo_status_to_string(status));
  return surface;
}

Image image_from_surface(cairo_surface_t* surface) {
  cairo_surface_flush(surface);
  const auto format = cairo_image_surface_get_format(surface);
  if (format != CAIRO_FORMAT_RGB24 && format != CAIRO_FORMAT_ARGB32)
    throw std::logic_error("image_from_surface: not an RGB24 or ARGB32 surface");
  const auto width = static_cast<std::size_t>(cairo_image_surface_get_width(surface));
  const auto height = static_cast<std::size_t>(cairo_image_surface_get_height(surface));
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface));
  const unsigned char* data = cairo_image_surface_get_data(surface);
  Image image(width, height);
  for (std::size_t y = 0; y < height; ++y)
    for (std::size_t x = 0; x < width; ++x) {
      // One native-endian 32-bit word per pixel: 0xAARRGGBB (the A byte unused in RGB24).
      std::uint32_t word;
      std::memcpy(&word, data + y * stride + 4 * x, 4);
      std::uint32_t a = format == CAIRO_FORMAT_ARGB32 ? word >> 24 : 255;
      const auto channel = [&](int shift) -> std::uint8_t {
        const std::uint32_t c = (word >> shift) & 0xFF;
        return a == 255 ? c : a == 0 ? 0 : static_cast<std::uint8_t>(std::min<std::uint32_t>(255, (c * 255 + a / 2) / a));
      };
      image.set(static_cast<long>(x), static_cast<long>(y), {channel(16), channel(8), channel(0)});
    }
  return image;
}

Surface surface_from_image(const Image& image, const std::string& who) {
  Surface surface = image_surface(static_cast<int>(image.width), static_cast<int>(image.height), who);
  cairo_surface_flush(surface.get());
  unsigned char* data = cairo_image_surface_get_data(surface.get());
  const auto stride = static_cast<std::size_t>(cairo_image_surface_get_stride(surface.get()));
  for (std::size_t y = 0; y < image.height; ++y)
    for (std::size_t x = 0; x < image.width; ++x) {
      const Rgb c = image.at(x, y);
      const std::uint32_t word = 0xFF000000u | (std::uint32_t{c.r} << 16) | (std::uint32_t{c.g} << 8) | c.b;
      std::memcpy(data + y * stride + 4 * x, &word, 4);
    }
  cairo_surface_mark_dirty(surface.get());
  return surface;
}

Image render(const Drawing& drawing, const std::string& who) {
  Surface surface = image_surface(drawing.width, drawing.height, who);
  paint_on(surface.get(), drawing, who);
  return image_from_surface(surface.get());
}

void write_png_surface(cairo_surface_t* surface, const std::filesystem::path& file, const std::string& who) {
  AtomicFile out(file, ExistingFile::replace, who);
  const auto status = cairo_surface_write_to_png_stream(surface, write_callback, &out);
  if (status != CAIRO_STATUS_SUCCESS) out.fail(cairo_status_to_string(status));
  out.commit();
}

void write_drawing(const std::filesystem::path& file, const Drawing& drawing, const std::string& who) {
  const Format format = format_of(file, who);
  check_picture_size(drawing.width, drawing.height, who);
  if (format == Format::png) {
    Surface surface = image_surface(drawing.width, drawing.height, who);
    paint_on(surface.get(), drawing, who);
    write_png_surface(surface.get(), file, who);
    return;
  }
  AtomicFile out(file, ExistingFile::replace, who);
  {
    Surface surface(cairo_svg_surface_create_for_stream(write_callback, &out, drawing.width, drawing.height));
    if (const auto status = cairo_surface_status(surface.get()); status != CAIRO_STATUS_SUCCESS)
      out.fail(cairo_status_to_string(status));
    // Sizes in pixels, as the PNG has them (cairo's default unit is the point).
    cairo_svg_surface_set_document_unit(surface.get(), CAIRO_SVG_UNIT_PX);
    paint_on(surface.get(), drawing, who);
    cairo_surface_finish(surface.get());  // the SVG is written out here
    if (const auto status = cairo_surface_status(surface.get()); status != CAIRO_STATUS_SUCCESS)
      out.fail(cairo_status_to_string(status));
  }
  out.commit();
}

}  // namespace seqgrad::pictures::detail
