#pragma once
// RGB images and PNG files: what the pictures render into (so tests and callers can look at
// pixels), and a reader to check what was written. cairo does the PNG work behind this header.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace seqgrad::pictures {

// The largest width or height of a picture, in pixels: cairo's limit for an image surface. A
// larger one is refused (std::invalid_argument naming the size and this limit) before anything is
// drawn or written.
inline constexpr long kMaxPictureSide = 32767;

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
  // Writes the pixel when (x, y) is inside the image; callers may clip by calling it freely.
  void set(long x, long y, Rgb colour);
};

// An 8-bit RGB PNG, written atomically (a temporary file in the same folder, renamed into place),
// so a reader never sees half a file. Throws std::invalid_argument for an empty or inconsistent
// image, std::runtime_error naming the file and the reason when it cannot be written.
void write_png(const std::filesystem::path& file, const Image& image);
// Any PNG, as 8-bit RGB (alpha is dropped, not blended). Throws std::runtime_error naming the file.
Image read_png(const std::filesystem::path& file);

}  // namespace seqgrad::pictures
