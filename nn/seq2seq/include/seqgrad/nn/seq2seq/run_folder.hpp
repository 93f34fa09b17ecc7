#pragma once
// A run folder: everything one training run leaves, kept as one safe unit.
//
//   config.json             {"format": "seqgrad.run", "version": 1, "model": {ModelConfig},
//                            "optimizer": {"kind": "adam", "lr": ..., the settings the kind uses},
//                            "settings": {the program's own: tokenization, maximum length, ...}}
//   <source vocabulary>     e.g. source_vocab.json (g2p: letters.json), Vocabulary::to_json
//   <target vocabulary>     e.g. target_vocab.json (g2p: phonemes.json)
//   subwords.model          only in a run that trains on subwords: the SentencePiece model whose
//                           pieces the vocabularies hold (bound to the checkpoints like them)
//   checkpoints/best.ckpt   the best model on dev;  checkpoints/last.ckpt  the latest state, to resume
//   metrics.jsonl           the trainer's JSON lines
//   loss.png, heatmaps/     pictures the program draws
//
// Safety rules, each checked or enforced here:
//   - check_start() validates the folder against the intended start BEFORE anything is written: a
//     fresh start needs an absent or empty folder (else --overwrite), a resume needs last.ckpt and
//     a configuration (model, optimizer, settings) and vocabularies equal to the folder's (each
//     difference named with its file).
//   - Every file this component writes is written atomically (seqgrad::AtomicFile, as every file of
//     the run is: checkpoints, metrics, pictures), and the leftover temporary files of a killed
//     write are removed by start(), in the folder, checkpoints/ and heatmaps/.
//   - binding() is metadata for every checkpoint: a hash of the canonical configuration and of each
//     vocabulary. load() refuses a checkpoint whose binding differs from the folder's files, naming
//     the file (an edited config.json, swapped letters in letters.json, a dropped symbol).
//   - JSON errors name the file.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"

namespace seqgrad::nn::seq2seq {

// The file names a program chooses for its vocabularies.
struct RunLayout {
  std::string source_vocab = "source_vocab.json";
  std::string target_vocab = "target_vocab.json";
  std::string subword_model = "subwords.model";
};

// What a run is bound to: the model's configuration, its vocabularies, the optimizer it trains with
// (absent in the configuration of a run that only loads, and in an older seqgrad's config.json), and
// the program's settings (strings; e.g. {"source_tokens": "characters"}). Two runs with equal specs
// can share checkpoints.
struct RunSpec {
  ModelConfig model{};
  Vocabulary source_vocab{}, target_vocab{};
  std::optional<nn::OptimizerOptions> optimizer{};
  std::map<std::string, std::string> settings{};
  // The bytes of the subword model (Subwords::bytes()) the vocabularies' pieces come from; absent
  // in a run on whole symbols. A run has one exactly when its settings hold "subwords".
  std::optional<std::string> subword_model{};
  // The precision of the products of the run's latest training (config.json's "precision"; absent
  // in runs of older seqgrads). Not part of what a resume compares, nor of the checkpoints' binding:
  // checkpoints are float32 either way, so a run may continue in the other precision.
  std::optional<Precision> precision{};
};

enum class StartMode {
  fresh,      // the folder must be absent or empty
  resume,     // continue from checkpoints/last.ckpt; the spec must equal the folder's
  overwrite,  // replace the run the folder holds (refused in a non-empty folder without one)
};

// ModelConfig <-> the "model" object of config.json. from_json throws std::runtime_error naming
// the missing or bad field (callers prefix the file).
std::string model_config_to_json(const ModelConfig& config);
ModelConfig model_config_from_json(const std::string& json);
// OptimizerOptions <-> the "optimizer" object of config.json: the kind and exactly the settings it
// uses. from_json throws std::runtime_error naming the missing, bad or foreign field.
std::string optimizer_options_to_json(const nn::OptimizerOptions& options);
nn::OptimizerOptions optimizer_options_from_json(const std::string& json);

// 64-bit FNV-1a of `bytes` as 16 hex digits (detects edits; not a defence against forgery).
std::string content_hash(std::string_view bytes);

class RunFolder {
 public:
  explicit RunFolder(std::filesystem::path dir, RunLayout layout = {});

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path config_file() const { return dir_ / "config.json"; }
  std::filesystem::path source_vocab_file() const { return dir_ / layout_.source_vocab; }
  std::filesystem::path target_vocab_file() const { return dir_ / layout_.target_vocab; }
  std::filesystem::path subword_model_file() const { return dir_ / layout_.subword_model; }
  std::filesystem::path checkpoint_dir() const { return dir_ / "checkpoints"; }
  std::filesystem::path best_checkpoint() const { return checkpoint_dir() / "best.ckpt"; }
  std::filesystem::path last_checkpoint() const { return checkpoint_dir() / "last.ckpt"; }
  std::filesystem::path metrics_file() const { return dir_ / "metrics.jsonl"; }
  std::filesystem::path loss_plot() const { return dir_ / "loss.png"; }
  std::filesystem::path heatmap_dir() const { return dir_ / "heatmaps"; }

  // Whether a run of `spec` can start in `mode`; throws std::runtime_error saying why not (and
  // which option would help). Writes nothing. A resume loads last.ckpt to check its binding.
  void check_start(StartMode mode, const RunSpec& spec) const;
  // After check_start: creates the folder, removes leftover temporary files, for overwrite removes
  // the old run's files, and writes config.json and the vocabularies (atomically; a resume leaves
  // them as they are, since they are equal).
  void start(StartMode mode, const RunSpec& spec) const;

  // The folder's config.json, vocabularies and subword model (when its settings hold "subwords"); throws naming the file that is missing or bad.
  RunSpec read_spec() const;
  // Metadata that binds a checkpoint to `spec`: "run.config" and "run.<vocab file name>" hashes, and
  // "run.subwords.model" in a run on subwords.
  CheckpointMetadata binding(const RunSpec& spec) const;
  // Throws std::runtime_error naming `checkpoint` and the file of the folder that does not match.
  void verify_binding(const CheckpointMetadata& metadata, const std::filesystem::path& checkpoint,
                      const RunSpec& spec) const;

  struct Loaded {
    RunSpec spec;
    std::unique_ptr<Seq2Seq> model;  // in eval mode
  };
  // read_spec(), a model of its configuration, the checkpoint's weights, the binding verified.
  // Throws naming the folder when there is no trained model in it.
  Loaded load(const std::filesystem::path& checkpoint) const;
  Loaded load_best() const { return load(best_checkpoint()); }

 private:
  std::string config_json(const RunSpec& spec) const;
  // The files a run writes at the folder's top and in checkpoints/ (heatmaps/ apart).
  std::vector<std::filesystem::path> run_files() const;
  // Whether `file` is JSON with "format": "seqgrad.run".
  static bool is_run_configuration(const std::filesystem::path& file);
  std::filesystem::path dir_;
  RunLayout layout_;
};

}  // namespace seqgrad::nn::seq2seq
