#include "seqgrad/pictures/image.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "canvas.hpp"

namespace seqgrad::pictures {

Image::Image(std::size_t w, std::size_t h, Rgb fill) : width(w), height(h), pixels(w * h * 3) {
  for (std::size_t i = 0; i < w * h; ++i) {
    pixels[3 * i] = fill.r;
    pixels[3 * i + 1] = fill.g;
    pixels[3 * i + 2] = fill.b;
  }
}

Rgb Image::at(std::size_t x, std::size_t y) const {
  if (x >= width || y >= height)
    throw std::out_of_range("Image::at: (" + std::to_string(x) + ", " + std::to_string(y) + ") is outside " +
                            std::to_string(width) + "x" + std::to_string(height));
  const std::uint8_t* p = &pixels[3 * (y * width + x)];
  return {p[0], p[1], p[2]};
}

void Image::set(long x, long y, Rgb c) {
  if (x < 0 || y < 0 || static_cast<std::size_t>(x) >= width || static_cast<std::size_t>(y) >= height) return;
  std::uint8_t* p = &pixels[3 * (static_cast<std::size_t>(y) * width + static_cast<std::size_t>(x))];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void write_png(const std::filesystem::path& file, const Image& image) {
  if (image.width == 0 || image.height == 0 || image.pixels.size() != image.width * image.height * 3)
    throw std::invalid_argument("write_png: an image of " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " with " + std::to_string(image.pixels.size()) +
                                " bytes cannot be written to " + file.string());
  const auto surface = detail::surface_from_image(image, "write_png");
  detail::write_png_surface(surface.get(), file, "write_png");
}

Image read_png(const std::filesystem::path& file) {
  const std::string name = file.string();
  // cairo reports any unreadable file as a read error; looking at the signature first tells
  // "not a PNG" apart from a damaged one.
  {
    std::unique_ptr<FILE, int (*)(FILE*)> in(std::fopen(name.c_str(), "rb"), &std::fclose);
    if (!in) throw std::runtime_error("read_png: cannot open " + name + ": " + std::strerror(errno));
    static constexpr unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    unsigned char head[8];
    if (std::fread(head, 1, 8, in.get()) != 8 || std::memcmp(head, kSignature, 8) != 0)
      throw std::runtime_error("read_png: " + name + " is not a PNG file");
  }
  detail::Surface surface(cairo_image_surface_create_from_png(name.c_str()));
  if (const auto status = cairo_surface_status(surface.get()); status != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error("read_png: cannot read " + name + ": " + cairo_status_to_string(status));
  return detail::image_from_surface(surface.get());
}

}  // namespace seqgrad::pictures
