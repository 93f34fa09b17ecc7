#pragma once
// For tests that damage safetensors files on purpose: a file split into its JSON header and data
// region, put back together, and a checkpoint's checksum recomputed from its documented definition
// (checkpoint.hpp) with a CRC-32 written here, independently of the library's.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "support/file_bytes.hpp"

namespace seqgrad::test_support {

struct SafetensorsParts {
  nlohmann::json header;
  std::string data;  // the data region
};

inline SafetensorsParts split_safetensors(const std::string& bytes) {
  std::uint64_t n = 0;
  if (bytes.size() < 8) throw std::logic_error("split_safetensors: too short");
  std::memcpy(&n, bytes.data(), 8);
  return {nlohmann::json::parse(bytes.substr(8, n)), bytes.substr(8 + n)};
}

// The 8-byte length, the header as given (no padding) and the data.
inline std::string raw_safetensors(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

inline std::string join_safetensors(const SafetensorsParts& parts) { return raw_safetensors(parts.header.dump(), parts.data); }

// Standard CRC-32 (zlib's crc32), bit by bit.
inline std::uint32_t crc32_update(std::uint32_t crc, const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// seqgrad.crc32 as checkpoint.hpp defines it, from the parts.
inline std::string checkpoint_crc(const SafetensorsParts& parts) {
  std::uint32_t crc = 0;
  const auto str = [&](const std::string& s) {
    const std::uint64_t n = s.size();
    crc = crc32_update(crc, &n, 8);
    crc = crc32_update(crc, s.data(), s.size());
  };
  for (const auto& [name, entry] : parts.header.items()) {  // nlohmann keeps keys in order
    if (name == "__metadata__") continue;
    str(name);
    str(entry["dtype"].get<std::string>());
    std::string shape = "[";
    for (std::size_t i = 0; i < entry["shape"].size(); ++i)
      shape += (i ? "," : "") + std::to_string(entry["shape"][i].get<std::uint64_t>());
    str(shape + "]");
    str(std::to_string(entry["data_offsets"][0].get<std::uint64_t>()));
    str(std::to_string(entry["data_offsets"][1].get<std::uint64_t>()));
  }
  if (parts.header.contains("__metadata__"))
    for (const auto& [key, value] : parts.header["__metadata__"].items())
      if (key != "seqgrad.crc32") {
        str(key);
        str(value.get<std::string>());
      }
  crc = crc32_update(crc, parts.data.data(), parts.data.size());
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc);
  return hex;
}

// The parts with a checksum that fits them again.
inline SafetensorsParts resealed(SafetensorsParts parts) {
  parts.header["__metadata__"]["seqgrad.crc32"] = checkpoint_crc(parts);
  return parts;
}

}  // namespace seqgrad::test_support
