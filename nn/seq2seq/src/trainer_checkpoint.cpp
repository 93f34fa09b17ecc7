#include "seqgrad/nn/seq2seq/trainer_checkpoint.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <type_traits>

#include "seqgrad/nn/seq2seq/run_folder.hpp"  // content_hash

namespace seqgrad::nn::seq2seq {

namespace {

enum class Presence { required, optional };  // optional: absent in checkpoints of an older seqgrad

// The one list of fields and their keys; `visit(key, field, presence)` is called for each, in this order.
template <class Metadata, class Visit>
void for_each_field(Metadata& m, Visit&& visit) {
  constexpr Presence required = Presence::required, optional = Presence::optional;
  visit("trainer.step", m.step, required);
  visit("trainer.epoch", m.epoch, required);
  visit("trainer.position", m.position, required);
  visit("trainer.best_score", m.best_score, required);
  visit("trainer.best_loss", m.best_loss, required);
  visit("trainer.validations_without_improvement", m.validations_without_improvement, required);
  visit("trainer.interval_steps", m.interval_steps, required);
  visit("trainer.interval_loss", m.interval_loss, required);
  visit("trainer.seed", m.seed, required);
  visit("trainer.optimizer", m.optimizer, required);
  visit("trainer.horizon", m.horizon, optional);
  visit("trainer.horizon_fixed", m.horizon_fixed, optional);
  visit("trainer.horizon_fixed_at", m.horizon_fixed_at, optional);
  visit("trainer.batch_size", m.batch_size, optional);
  visit("trainer.training_data", m.training_data, optional);
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
  for_each_field(*this, [&](const char* key, const auto& field, Presence) { out.emplace(key, text_of(field)); });
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
  for_each_field(out, [&](const char* key, auto& field, Presence presence) {
    const auto it = metadata.find(key);
    if (it == metadata.end()) {
      if (presence == Presence::optional) return;
      throw std::runtime_error("Trainer: checkpoint " + file.string() + " has no '" + key +
                               "' (not a trainer checkpoint, or one of an older seqgrad)");
    }
    parse(key, it->second, field);
  });
  if (out.horizon_fixed > 1) throw bad("trainer.horizon_fixed", metadata.at("trainer.horizon_fixed"), "0 or 1");
  if (out.horizon_fixed == 1 && out.horizon == 0)
    throw std::runtime_error("Trainer: checkpoint " + file.string() +
                             ": 'trainer.horizon_fixed' is 1 but 'trainer.horizon' is absent or 0");
  return out;
}

std::string training_data_fingerprint(const std::vector<Example>& examples) {
  std::string bytes;
  const auto add = [&](std::uint64_t v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof v); };
  const auto add_ids = [&](const TokenIds& ids) {
    add(ids.size());
    for (const auto id : ids) add(std::uint64_t(id));
  };
  add(examples.size());
  for (const Example& e : examples) {
    add_ids(e.source);
    add_ids(e.target);
    add(e.alternatives.size());
    for (const TokenIds& a : e.alternatives) add_ids(a);
  }
  return content_hash(bytes);
}

}  // namespace seqgrad::nn::seq2seq
