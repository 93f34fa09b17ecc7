#pragma once
// Between the pictures and cairo: a Drawing (a size and a function that paints it onto a cairo
// context) is rendered into an Image, or written as PNG or SVG. Internal to seqgrad_pictures.
#include <cairo.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "seqgrad/pictures/image.hpp"

namespace seqgrad::pictures::detail {

// The space between a picture's parts and around them, in pixels (heatmaps and plots alike).
constexpr long kPad = 8;

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

// A picture of width x height pixels; paint draws all of it (background included) in pixel units.
struct Drawing {
  int width = 0, height = 0;
  std::function<void(cairo_t*)> paint;
};

// Throws std::invalid_argument "<who>: <what> would be WxH pixels, more than the 32767 a side ..."
// when either side exceeds kMaxPictureSide.
void check_picture_size(long width, long height, const std::string& who, const std::string& what = "the picture");
// An RGB24 image surface of that size; throws std::runtime_error "<who>: cannot make a WxH image: ...".
Surface image_surface(int width, int height, const std::string& who);
// The pixels of an RGB24 or ARGB32 image surface (ARGB32's premultiplied alpha is undone, then dropped).
Image image_from_surface(cairo_surface_t* surface);
// An RGB24 surface holding the image's pixels.
Surface surface_from_image(const Image& image, const std::string& who);

Image render(const Drawing& drawing, const std::string& who);
// Writes an image surface as PNG to `file`, atomically.
void write_png_surface(cairo_surface_t* surface, const std::filesystem::path& file, const std::string& who);
// PNG or SVG by the file's extension, atomically. The extension is checked before anything is
// drawn: anything but .png / .svg (any case) throws std::invalid_argument naming the file.
void write_drawing(const std::filesystem::path& file, const Drawing& drawing, const std::string& who);

}  // namespace seqgrad::pictures::detail
