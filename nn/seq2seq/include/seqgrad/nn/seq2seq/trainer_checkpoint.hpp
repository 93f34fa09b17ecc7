#pragma once
// What a trainer checkpoint records beside the model and the optimizer's state: where the run is
// (step, batch order position, early-stopping bookkeeping, the loss not yet logged, the schedule's
// horizon) and what it was trained with (seed, optimizer, batch size, training data), as the checkpoint's metadata "trainer.<field>". One list of fields serves writing
// and reading, so the two cannot drift apart.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/seq2seq/batch.hpp"

namespace seqgrad::nn::seq2seq {

struct TrainerCheckpointMetadata {
  std::uint64_t step = 0;      // optimizer steps taken
  std::uint64_t epoch = 0;     // the batcher's position: epoch and batch within it
  std::uint64_t position = 0;
  double best_score = std::numeric_limits<double>::infinity();  // the best validation so far
  double best_loss = std::numeric_limits<double>::infinity();
  std::uint64_t validations_without_improvement = 0;
  // The steps since the last metrics record and the sum of their losses: a checkpoint saved between
  // records (a timed save, an interruption) lets the resumed run's next record average the same steps.
  std::uint64_t interval_steps = 0;
  double interval_loss = 0;
  std::uint64_t seed = 0;
  std::string optimizer;       // nn::to_string(OptimizerOptions)
  // The schedule's horizon as a time budget placed it (TrainerOptions::fit_schedule_to_time_budget):
  // the step where it ends (0: not recorded, a checkpoint of an older seqgrad; the run's planned
  // steps then), whether that is fixed, and after which step it was fixed. Restored on resume, never
  // measured again. Optional when read: absent, they keep these defaults.
  std::uint64_t horizon = 0;
  std::uint64_t horizon_fixed = 0;  // 0 or 1
  std::uint64_t horizon_fixed_at = 0;
  // What the batcher's position (epoch, batch) counts in: the examples per step and a fingerprint
  // of the training examples (training_data_fingerprint). Checked on resume, since the same position
  // in other batches or other data is other examples. Optional when read: 0 and "" in checkpoints
  // of an older seqgrad, and then not checked.
  std::uint64_t batch_size = 0;
  std::string training_data{};

  // Every field under its key; numbers in texts that read back exactly.
  CheckpointMetadata to_metadata() const;
  // The fields from a checkpoint's metadata (other keys are ignored); throws std::runtime_error
  // naming `file` and the key that is missing (the horizon's keys may be) or does not hold a value of
  // its type, or when horizon_fixed is neither 0 nor 1, or fixed without a horizon.
  static TrainerCheckpointMetadata from_metadata(const CheckpointMetadata& metadata, const std::filesystem::path& file);
  bool operator==(const TrainerCheckpointMetadata&) const = default;
};

// A fingerprint of training examples (their count, and every source, target and alternative in
// order) as 16 hex digits: equal for the same examples, whatever the process.
std::string training_data_fingerprint(const std::vector<Example>& examples);

}  // namespace seqgrad::nn::seq2seq
