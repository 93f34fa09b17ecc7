#pragma once
// A file's whole content as a string, and a string as a file's whole content (binary, no
// translation): for tests that look at or damage what a writer left.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace seqgrad::test_support {

inline std::string read_file_bytes(const std::filesystem::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file_bytes(const std::filesystem::path& f, const std::string& data) {
  std::ofstream out(f, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

}  // namespace seqgrad::test_support
