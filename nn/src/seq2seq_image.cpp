#include "seqgrad/nn/seq2seq/image.hpp"

#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace seqgrad::nn::seq2seq {

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

namespace {

using File = std::unique_ptr<FILE, int (*)(FILE*)>;

// libpng reports an error through a callback that must not return. It keeps the message and jumps
// back to the setjmp in write_png / read_png, which throw. Every C++ object of those functions is
// constructed before their setjmp, so the jump skips no destructor.
struct PngError {
  std::string message;
};
[[noreturn]] void on_png_error(png_structp png, png_const_charp message) {
  static_cast<PngError*>(png_get_error_ptr(png))->message = message;
  png_longjmp(png, 1);
}
void ignore_png_warning(png_structp, png_const_charp) {}

}  // namespace

void write_png(const std::filesystem::path& path, const Image& image) {
  if (image.width == 0 || image.height == 0 || image.pixels.size() != image.width * image.height * 3)
    throw std::invalid_argument("write_png: an image of " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " with " + std::to_string(image.pixels.size()) +
                                " bytes cannot be written");
  const std::string name = path.string();
  File file(std::fopen(name.c_str(), "wb"), &std::fclose);
  if (!file) throw std::runtime_error("write_png: cannot open " + name);
  PngError error;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &error, on_png_error, ignore_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  struct Guard {
    png_structp* png;
    png_infop* info;
    ~Guard() { png_destroy_write_struct(png, info); }
  } guard{&png, &info};
  if (!png || !info) throw std::runtime_error("write_png: libpng could not start");
  if (setjmp(png_jmpbuf(png))) throw std::runtime_error("write_png: " + name + ": " + error.message);

  png_init_io(png, file.get());
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.width), static_cast<png_uint_32>(image.height), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (std::size_t y = 0; y < image.height; ++y)
    png_write_row(png, const_cast<png_bytep>(&image.pixels[y * image.width * 3]));
  png_write_end(png, nullptr);
  if (std::fflush(file.get()) != 0) throw std::runtime_error("write_png: cannot write " + name);
}

Image read_png(const std::filesystem::path& path) {
  const std::string name = path.string();
  File file(std::fopen(name.c_str(), "rb"), &std::fclose);
  if (!file) throw std::runtime_error("read_png: cannot open " + name);
  png_byte signature[8];
  if (std::fread(signature, 1, 8, file.get()) != 8 || png_sig_cmp(signature, 0, 8) != 0)
    throw std::runtime_error("read_png: " + name + " is not a PNG file");
  PngError error;
  Image image;
  std::vector<png_bytep> rows;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, on_png_error, ignore_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  struct Guard {
    png_structp* png;
    png_infop* info;
    ~Guard() { png_destroy_read_struct(png, info, nullptr); }
  } guard{&png, &info};
  if (!png || !info) throw std::runtime_error("read_png: libpng could not start");
  if (setjmp(png_jmpbuf(png))) throw std::runtime_error("read_png: " + name + ": " + error.message);

  png_init_io(png, file.get());
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  // Whatever the file holds (palette, gray, 16-bit, alpha), deliver 8-bit RGB.
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  image.width = png_get_image_width(png, info);
  image.height = png_get_image_height(png, info);
  if (png_get_rowbytes(png, info) != image.width * 3)
    throw std::runtime_error("read_png: " + name + ": unexpected row size");
  image.pixels.resize(image.width * image.height * 3);
  rows.resize(image.height);
  for (std::size_t y = 0; y < image.height; ++y) rows[y] = &image.pixels[y * image.width * 3];
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  return image;
}

}  // namespace seqgrad::nn::seq2seq
