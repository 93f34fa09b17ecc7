#pragma once
// Checkpoints: a model's named parameters, an optimizer's state and step count, and a small map of
// free-form strings (the trainer's epoch, RNG seeds, ...) in one versioned binary file.
//
// Saving writes a temporary file in the target's directory, fsyncs it, renames it over the target
// and fsyncs the directory, so the target is at every moment either the old checkpoint or the
// complete new one. Loading reads and verifies the whole file (magic, version, length, CRC-32,
// every record) and matches every name, shape and dtype against the model and optimizer before
// writing anything, so a bad file throws std::runtime_error (naming the file and the problems) and
// leaves the model and optimizer exactly as they were.
//
// Format, version 1 (integers little-endian; tensor data raw, row-major, little-endian):
//   magic        8 bytes  "SGRDCKPT"
//   version      u32      1
//   length       u64      bytes in the whole file, CRC included
//   step_count   i64      the optimizer's step count (0 without an optimizer)
//   optimizer    str      the optimizer's kind ("Adam", ...), empty without one
//   metadata     u32 count, then count x (str key, str value)
//   records      u64 count, then count x record:
//                  section u8 (1 = model parameter, 2 = optimizer state), name str,
//                  dtype u8 (0 f32, 1 f64, 2 i64, 3 bool), rank u32, rank x u64 dims,
//                  numel x dtype-size bytes of data
//   crc          u32      zlib's crc32 of every byte before it
// where str is a u32 byte count and the bytes. Model records are named as named_parameters();
// optimizer records as Optimizer::state() ("exp_avg/encoder.weight", "step/encoder.weight", ...).
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "seqgrad/nn/module.hpp"
#include "seqgrad/nn/optim.hpp"

namespace seqgrad::nn {

using CheckpointMetadata = std::map<std::string, std::string>;

inline constexpr std::uint32_t kCheckpointFormatVersion = 1;

// Writes model (and optimizer, when given) to `file` atomically; throws std::runtime_error naming
// the file and the system error when it cannot (the old file, if any, is then untouched).
void save_checkpoint(const std::filesystem::path& file, const Module& model, const Optimizer* optimizer = nullptr,
                     const CheckpointMetadata& metadata = {});

struct LoadedCheckpoint {
  std::int64_t step_count = 0;
  CheckpointMetadata metadata;
};

// Restores the model's parameters and, when an optimizer is given, its state and step count. The
// file must hold exactly the model's parameter names with the same shapes and dtypes, and for an
// optimizer exactly its kind and state names (optimizer state in the file is ignored when no
// optimizer is given). Anything else: std::runtime_error, nothing changed.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& file, Module& model, Optimizer* optimizer = nullptr);

}  // namespace seqgrad::nn
