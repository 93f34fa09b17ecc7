#pragma once
// What safetensors.cpp shares with checkpoint.cpp: a verified view of a file's entries over its bytes
// (so loading copies each tensor once, straight into its parameter), the layout write() uses, and
// the atomic file writer.
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "seqgrad/nn/safetensors.hpp"

namespace seqgrad::nn::safetensors::detail {

struct Entry {
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  std::size_t begin = 0, end = 0;  // in the data region
  std::size_t source = 0;          // layout(): the tensor's index in what it was given
};

// A file's bytes, parsed and verified (every check that safetensors.hpp lists).
struct View {
  std::vector<std::byte> bytes;       // the whole file
  std::size_t data_start = 0;         // 8 + header length
  std::map<std::string, Entry> entries;  // by name
  Metadata metadata;

  std::span<const std::byte> data() const { return std::span(bytes).subspan(data_start); }
  std::span<const std::byte> data(const Entry& e) const { return data().subspan(e.begin, e.end - e.begin); }
};

// The file's bytes; throws (without the file's name) when it is not a regular file or cannot be read.
std::vector<std::byte> read_bytes(const std::filesystem::path& file);
// Verifies `bytes` and returns the view over them; throws std::runtime_error with the problem
// (without a prefix).
View parse_view(std::vector<std::byte> bytes);

// How write() lays out `tensors` (in name order, no gaps), after checking names and tensors
// (std::invalid_argument naming `who`).
std::vector<Entry> layout(const NamedTensors& tensors, const char* who);
// The header (JSON padded with spaces to a multiple of 8 bytes) for that layout and metadata.
std::string header(const std::vector<Entry>& entries, const Metadata& metadata, const char* who);
// Writes the 8-byte length, the header and then each tensor's data in layout order to `file`
// atomically (seqgrad::AtomicFile); throws std::runtime_error naming the file and the reason.
void write_file(const std::filesystem::path& file, const std::string& header,
                const std::vector<std::span<const std::byte>>& data);

std::span<const std::byte> bytes_of(const Tensor& t);

}  // namespace seqgrad::nn::safetensors::detail
