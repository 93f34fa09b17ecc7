#include "seqgrad/nn/seq2seq/trainer_checkpoint.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>

namespace seqgrad::nn::seq2seq {

namespace {

// The one list of fields and their keys; `visit(key, field)` is called for each, in this order.
template <class Metadata, class Visit>
void for_each_field(Metadata& m, Visit&& visit) {
  visit("trainer.step", m.step);
  visit("trainer.epoch", m.epoch);
  visit("trainer.position", m.position);
  visit("trainer.best_score", m.best_score);
  visit("trainer.best_loss", m.best_loss);
  visit("trainer.validations_without_improvement", m.validations_without_improvement);
  visit("trainer.interval_steps", m.interval_steps);
  visit("trainer.interval_loss", m.interval_loss);
  visit("trainer.seed", m.seed);
  visit("trainer.optimizer", m.optimizer);
}

std::string text_of(std::uint64_t v) { return std::to_string(v); }
std::string text_of(double v) {  // %.17g reads back exactly (infinity as "inf")
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
std::string text_of(const std::string& v) { return v; }

}  // namespace

CheckpointMetadata TrainerCheckpointMetadata::to_metadata() const {
  CheckpointMetadata out;
  for_each_field(*this, [&](const char* key, const auto& field) { out.emplace(key, text_of(field)); });
  return out;
}

TrainerCheckpointMetadata TrainerCheckpointMetadata::from_metadata(const CheckpointMetadata& metadata,
                                                                   const std::filesystem::path& file) {
  const auto bad = [&](const std::string& key, const std::string& text, const char* expected) {
    return std::runtime_error("Trainer: checkpoint " + file.string() + ": '" + key + "' is '" + text + "', not " +
                              expected);
  };
  const auto parse = [&](const std::string& key, const std::string& text, auto& field) {
    using Field = std::decay_t<decltype(field)>;
    if constexpr (std::is_same_v<Field, std::string>) {
      field = text;
    } else if constexpr (std::is_same_v<Field, std::uint64_t>) {
      std::size_t used = 0;
      try {
        if (!text.empty() && text[0] != '-') field = std::stoull(text, &used);
      } catch (const std::exception&) {
      }
      if (used == 0 || used != text.size()) throw bad(key, text, "a whole number");
    } else {
      // strtod: beyond double's range reads as the infinity it stands for, as "inf" itself does.
      char* end = nullptr;
      field = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size()) throw bad(key, text, "a number");
    }
  };
  TrainerCheckpointMetadata out;
  for_each_field(out, [&](const char* key, auto& field) {
    const auto it = metadata.find(key);
    if (it == metadata.end())
      throw std::runtime_error("Trainer: checkpoint " + file.string() + " has no '" + key +
                               "' (not a trainer checkpoint, or one of an older seqgrad)");
    parse(key, it->second, field);
  });
  return out;
}

}  // namespace seqgrad::nn::seq2seq
