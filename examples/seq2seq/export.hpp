#pragma once
// `seq2seq export`: a run's best model as a weights-only safetensors file that PyTorch (or numpy
// alone) can read without the run folder. examples/seq2seq/torch_reference.py rebuilds the model from
// it and decodes as `seq2seq translate --beam 1` does.
//
//   tensors       the model's parameters under their names (torch's: encoder.weight_ih_l0, ...), as
//                 in the checkpoint, without the optimizer's state
//   __metadata__  strings:
//     "format"             "pt"
//     "seq2seq.export"     kExportVersion, the version of this layout
//     "model"              config.json's "model" object (JSON)
//     "source_vocab"       the source vocabulary as its file holds it (JSON; "symbols"[id])
//     "target_vocab"       the target vocabulary (JSON)
//     "source_tokens"      "whitespace" or "characters": how an input line becomes symbols
//     "target_tokens"      the same for the outputs ("characters": joined without spaces)
//     "max_output_length"  the most symbols a translation has (translate's limit, 2 x --max-length)
#include <cstddef>
#include <filesystem>
#include <string>

#include "seqgrad/nn/safetensors.hpp"
#include "seqgrad/nn/seq2seq/run_folder.hpp"

namespace recipe {

inline constexpr const char* kExportVersion = "1";

// The metadata above for a run of `spec` (throws std::runtime_error naming a missing setting, or
// saying that a run on subwords cannot be exported yet).
seqgrad::nn::safetensors::Metadata export_metadata(const seqgrad::nn::seq2seq::RunSpec& spec);

struct ExportSummary {
  std::size_t tensors = 0, values = 0;
  std::filesystem::path checkpoint;  // where the weights came from
};

// Writes the best checkpoint of the run in `run_dir` to `out` atomically. Everything is checked
// before anything is written: `out` an existing file is refused unless `overwrite` (a folder always),
// its folder must exist, and the run must load (its files and checkpoint verified).
ExportSummary export_weights(const std::filesystem::path& run_dir, const std::filesystem::path& out, bool overwrite);

}  // namespace recipe
