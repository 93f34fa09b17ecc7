#include "export.hpp"

#include <stdexcept>

#include "seqgrad/nn/checkpoint.hpp"

namespace recipe {

namespace fs = std::filesystem;
namespace sq = seqgrad::nn::seq2seq;

seqgrad::nn::safetensors::Metadata export_metadata(const sq::RunSpec& spec) {
  const auto setting = [&](const char* key) {
    const auto it = spec.settings.find(key);
    if (it == spec.settings.end())
      throw std::runtime_error(std::string("the run's config.json has no setting \"") + key +
                               "\" (not a run of the seq2seq command)");
    return it->second;
  };
  // The layout has no place for a SentencePiece model, and a reader would take the pieces for
  // whole words: refused rather than exported wrong.
  if (spec.subword_model)
    throw std::runtime_error("the run trains on subwords (--subwords " + setting("subwords") +
                             "), which export does not carry yet: its safetensors layout holds no subword model");
  std::size_t max_length = 0;
  try {
    max_length = std::stoull(setting("max_length"));
  } catch (const std::logic_error&) {
    throw std::runtime_error("the run's config.json setting \"max_length\" is not a whole number: " + setting("max_length"));
  }
  return {{"seq2seq.export", kExportVersion},
          {"model", sq::model_config_to_json(spec.model)},
          {"source_vocab", spec.source_vocab.to_json()},
          {"target_vocab", spec.target_vocab.to_json()},
          {"source_tokens", setting("source_tokens")},
          {"target_tokens", setting("target_tokens")},
          // translate's limit on an output
          {"max_output_length", std::to_string(2 * max_length)}};
}

ExportSummary export_weights(const fs::path& run_dir, const fs::path& out, bool overwrite) {
  std::error_code ec;
  if (out.empty()) throw std::runtime_error("--out: the path is empty");
  if (fs::is_directory(out, ec)) throw std::runtime_error("--out " + out.string() + ": a folder, not a file");
  if (fs::exists(out, ec) && !overwrite)
    throw std::runtime_error("--out " + out.string() + ": the file exists (give --overwrite to replace it)");
  const fs::path folder = out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec))
    throw std::runtime_error("--out " + out.string() + ": its folder " + folder.string() + " does not exist");
  const sq::RunFolder run(run_dir);
  // --overwrite replaces an export, never a file the run itself holds (its checkpoints, its config).
  if (fs::exists(out, ec) && fs::exists(run_dir, ec))
    for (const auto& entry : fs::recursive_directory_iterator(run_dir, ec))
      if (entry.is_regular_file(ec) && fs::equivalent(entry.path(), out, ec))
        throw std::runtime_error("--out " + out.string() + ": a file of the run " + run_dir.string() +
                                 " itself; export to a file outside it");
  const sq::RunFolder::Loaded loaded = run.load_best();
  const seqgrad::nn::safetensors::Metadata metadata = export_metadata(loaded.spec);
  seqgrad::nn::save_weights(out, *loaded.model, metadata);
  ExportSummary summary;
  summary.checkpoint = run.best_checkpoint();
  for (const auto& [name, p] : loaded.model->named_parameters()) {
    ++summary.tensors;
    summary.values += p.numel();
  }
  return summary;
}

}  // namespace recipe
