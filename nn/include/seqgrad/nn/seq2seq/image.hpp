#pragma once
// RGB images and PNG files (libpng): what the plots draw into, and a reader to check what they wrote.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace seqgrad::nn::seq2seq {

struct Rgb {
  std::uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb&) const = default;
};

struct Image {
  std::size_t width = 0, height = 0;
  std::vector<std::uint8_t> pixels;  // row-major, 3 bytes (r, g, b) per pixel

  Image() = default;
  Image(std::size_t width, std::size_t height, Rgb fill = {255, 255, 255});
  Rgb at(std::size_t x, std::size_t y) const;  // throws std::out_of_range outside the image
  // Writes the pixel when (x, y) is inside the image; drawing code clips by calling it freely.
  void set(long x, long y, Rgb colour);
};

// 8-bit RGB PNG. Both throw std::runtime_error naming the file and libpng's message.
void write_png(const std::filesystem::path& file, const Image& image);
Image read_png(const std::filesystem::path& file);  // any PNG, converted to 8-bit RGB

}  // namespace seqgrad::nn::seq2seq
