#pragma once
// safetensors files (the weights format of the Hugging Face ecosystem, read and written by
// safetensors.torch.load_file / save_file), for any set of named tensors:
//
//   8 bytes      N, the header's length in bytes, unsigned little-endian
//   N bytes      a JSON object (UTF-8), padded with trailing spaces:
//                  { "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//                    "__metadata__": {"<key>": "<value>", ...} }      (the metadata is optional)
//   the rest     the data region: each tensor's elements, row-major, little-endian, at
//                [begin, end) counted from the region's first byte
//
// seqgrad holds the dtypes F32, F64, I64 and BOOL. Writing lays the tensors out in name order with
// no gaps and pads the header to a multiple of 8 bytes, as the reference implementation does.
//
// Reading accepts only a well-formed file: a regular file; the header length within the file (and
// at most kMaxHeaderBytes); valid JSON (UTF-8, no key twice in an object) whose top level is an
// object; every entry an object with exactly the fields dtype (a string), shape (non-negative
// integers) and data_offsets (two non-negative integers, begin <= end); a dtype seqgrad holds; a
// byte count equal to the shape's elements times the dtype's size; entries that tile the data
// region exactly (no overlap, no gap, nothing after the last); names not empty; BOOL bytes 0 or 1;
// __metadata__ (if any) an object of strings.
// Anything else throws std::runtime_error naming the file (or, for parse(), "safetensors") and the
// problem. Values are not judged: NaN and infinity read as they are (load_weights refuses them).
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad::nn::safetensors {

using Metadata = std::map<std::string, std::string>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// A larger header is refused before it is parsed (the reference implementation's limit).
inline constexpr std::size_t kMaxHeaderBytes = 100'000'000;

struct Contents {
  std::map<std::string, Tensor> tensors;  // by name; each owns a copy of its data
  Metadata metadata;                      // __metadata__, empty when the file has none
};

// The whole file, verified as described above.
Contents read(const std::filesystem::path& file);
// The same from bytes in memory; errors begin with `what` (e.g. the file's name).
Contents parse(std::span<const std::byte> bytes, const std::string& what = "safetensors");

// Writes the tensors (names unique, non-empty, not "__metadata__"; any dtype seqgrad holds) and the
// metadata (omitted when empty) atomically: a temporary file beside `file`, fsync, rename over
// `file`, fsync of the folder, so `file` is always either the old file or the complete new one.
// Throws std::invalid_argument for bad names, std::runtime_error naming the file when the system
// refuses (the old file is then untouched).
void write(const std::filesystem::path& file, const NamedTensors& tensors, const Metadata& metadata = {});
// The bytes write() puts in the file.
std::vector<std::byte> serialize(const NamedTensors& tensors, const Metadata& metadata = {});

// The dtype tags of the format ("F32", "F64", "I64", "BOOL") for seqgrad's dtypes.
const char* dtype_tag(DType dtype);

}  // namespace seqgrad::nn::safetensors
