#pragma once
// Weights files and training checkpoints, both safetensors files (see safetensors.hpp for the format).
//
// Weights (save_weights / load_weights): a module's named_parameters() under their names, which are
// PyTorch's, so `model.load_state_dict(safetensors.torch.load_file(path))` reads seqgrad's file into
// the same PyTorch modules, and load_weights reads a file that safetensors.torch.save_file wrote
// from their state_dict.
//
// Checkpoints (save_checkpoint / load_checkpoint): the training state in one file:
//   tensors       the model's parameters under their names, and the optimizer's state under
//                 "optimizer.<buffer>.<parameter>" (Optimizer::state()'s "exp_avg/encoder.weight"
//                 is "optimizer.exp_avg.encoder.weight"; "optimizer.step.<parameter>" is the int64
//                 count of that parameter's updates)
//   __metadata__  "format": "pt" (what Hugging Face's loaders look for), the caller's metadata as
//                 given, and
//                   "seqgrad.checkpoint_version"  "2" (kCheckpointFormatVersion)
//                   "seqgrad.step_count"          the optimizer's step count ("0" without one)
//                   "seqgrad.optimizer"           the optimizer's kind ("Adam", ...); absent without one
//                   "seqgrad.crc32"               zlib's CRC-32, 8 lowercase hex digits, of everything
//                                                 else: each tensor's name, dtype, shape and data
//                                                 offsets (in name order), each metadata key and value
//                                                 but this one (in key order), every string as its
//                                                 8-byte little-endian length and its bytes; then the
//                                                 whole data region
// The caller's metadata keys may not be "format" or begin with "seqgrad.".
//
// Saving writes a temporary file in the target's folder, fsyncs it, renames it over the target and
// fsyncs the folder, so the target is at every moment either the old file or the complete new one.
// Values that are NaN or infinite are refused before anything is written (the file would not load).
//
// Loading reads and verifies the whole file (the format's checks; for a checkpoint also its
// version and checksum), then matches every name, shape and dtype against the model (and
// optimizer) and checks that every floating-point value is finite, before writing anything: a bad
// file throws std::runtime_error naming the file and every problem found, and leaves the model and
// optimizer exactly as they were.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "seqgrad/nn/module.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/safetensors.hpp"

namespace seqgrad::nn {

using CheckpointMetadata = std::map<std::string, std::string>;

inline constexpr std::uint32_t kCheckpointFormatVersion = 2;  // 1 was the SGRDCKPT container

// ---- weights ----

// Writes the module's parameters, and the metadata (plus "format": "pt" unless given), atomically.
// Throws std::runtime_error naming the file when the system refuses or a value is not finite.
void save_weights(const std::filesystem::path& file, const Module& model, const safetensors::Metadata& metadata = {});

struct LoadWeightsOptions {
  // As torch's load_state_dict: true refuses a file whose names differ from the module's (missing
  // or unexpected, all listed in the error); false loads the names both have and reports the rest.
  // Shapes and dtypes must match either way.
  bool strict = true;
};

struct LoadedWeights {
  safetensors::Metadata metadata;       // the file's __metadata__
  std::vector<std::string> missing;     // parameters the file does not have (left as they were)
  std::vector<std::string> unexpected;  // tensors of the file that the module does not have
};

LoadedWeights load_weights(const std::filesystem::path& file, Module& model, LoadWeightsOptions options = {});

// ---- training checkpoints ----

// Writes model (and optimizer, when given) to `file` atomically; throws std::runtime_error naming
// the file and the system error when it cannot (the old file, if any, is then untouched), and
// std::invalid_argument for a reserved metadata key.
void save_checkpoint(const std::filesystem::path& file, const Module& model, const Optimizer* optimizer = nullptr,
                     const CheckpointMetadata& metadata = {});

struct LoadedCheckpoint {
  std::int64_t step_count = 0;
  CheckpointMetadata metadata;  // the caller's metadata as saved (without the reserved keys)
};

// Restores the model's parameters and, when an optimizer is given, its state and step count. The
// file must hold exactly the model's parameter names with the same shapes and dtypes, and for an
// optimizer exactly its kind and state names (optimizer state in the file is ignored when no
// optimizer is given). Anything else: std::runtime_error, nothing changed.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& file, Module& model, Optimizer* optimizer = nullptr);

// The caller's metadata of a checkpoint (as LoadedCheckpoint::metadata), after the same reading and
// verification of the whole file (version, checksum) but without loading anything: what a trainer
// compares with its own settings before it loads the state. Throws std::runtime_error naming the file.
CheckpointMetadata read_checkpoint_metadata(const std::filesystem::path& file);

}  // namespace seqgrad::nn
