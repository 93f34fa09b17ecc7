#pragma once
// Training a Seq2Seq model: length-bucketed batches, data-parallel shards, scheduled sampling,
// gradient clipping, a learning-rate schedule, validation, early stopping, the best checkpoint, and
// exact resumption.
//
// One step: the batch's examples are cut into shards of `shard_size`; each shard's loss (its mean
// over target tokens, weighted by its share of the batch's tokens) is differentiated on a worker
// (nn::DataParallel); the gradients are clipped to `clip_norm`; the optimizer (TrainerOptions::
// optimizer: SGD, Adam or AdamW) steps. Everything random in a
// step (scheduled sampling, dropout) comes from generators seeded by (seed, step, shard), and the
// batch order is a pure function of (seed, epoch), so a run resumed from its last checkpoint prints
// the same losses as one never interrupted, for any number of threads.
//
// Several processes (TrainerOptions::group, e.g. seqgrad::distributed::world() under mpirun): every
// process reads the same data and runs the same loop; shard s of a step runs on process s mod P and
// DataParallel's exact reduction gives every process the same gradients, so each takes the same
// optimizer step, and losses and parameters are bitwise those of one process (for any P and any
// threads per process). At start the processes compare hashes of their training and dev data,
// model, parameters, seed and options, and refuse to train when one differs (naming what). Process
// 0 alone reports progress, writes the metrics log and writes checkpoints (atomically, after every
// process has reached the same step); a checkpoint holds no per-process state, so --resume works
// with any number of processes and continues bitwise as the uninterrupted run would. The time
// budget is decided by the slowest process's clock, so all stop at the same step.
//
// Stopping early without losing work: TrainerOptions::stop_request is polled before every step;
// once set, the run saves last.ckpt and returns StopReason::interrupted, and --resume continues
// bitwise. The library installs no signal handler: a program sets the flag from its own. Under
// several processes the flags are combined each step (any process's request stops all of them at
// the same step), as are the clocks of timed saves (save_every_seconds).
//
// A time budget shorter than the planned epochs moves the end of the learning-rate schedule onto
// the budget (TrainerOptions::fit_schedule_to_time_budget), so that the run still ends cooled.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/process_group.hpp"
#include "seqgrad/nn/seq2seq/batch.hpp"
#include "seqgrad/nn/seq2seq/evaluation.hpp"
#include "seqgrad/nn/seq2seq/lr_schedule.hpp"
#include "seqgrad/nn/seq2seq/model.hpp"
#include "seqgrad/nn/seq2seq/progress.hpp"
#include "seqgrad/nn/seq2seq/sampling.hpp"
#include "seqgrad/ops/backend.hpp"

namespace seqgrad::nn::seq2seq {

// How the validation line names its two scores: G2P's WER and PER; exact-match accuracy and token
// error rate; or, for outputs scored as text of words (a subword run), exact match and word error rate.
enum class ScoreNames { wer_per, exact_match, exact_match_words };

struct TrainerOptions {
  std::size_t batch_size = 64;
  std::size_t shard_size = 16;       // examples per data-parallel shard (fixed: results do not depend on threads)
  std::size_t threads = 0;           // 0: every core
  std::size_t max_epochs = 10;
  std::size_t max_steps = 0;         // 0: no limit (a stop here saves last.ckpt, to resume later)
  double time_budget_seconds = 0;    // 0: no limit; training time, validation excluded
  // With a time budget that ends before the planned steps, the schedule's horizon (the end of
  // cosine and cool-down) moves to where the budget ends: it is re-estimated before every step from
  // the speed measured so far, and fixed once the final descent begins (the cool-down, or a
  // cosine's last tenth). From then on the budget no longer stops the run: it goes on to the fixed
  // end, where the rate has fallen to its floor (0 with a cool-down), and returns
  // StopReason::schedule_end. The decision is kept in the checkpoints, so a resumed run follows the
  // same horizon (bitwise the uninterrupted run once it is fixed). false: the schedule stays on the
  // planned steps and the budget cuts it wherever it ends.
  bool fit_schedule_to_time_budget = true;
  // The clock of the time budget, timed saves and the speed: seconds on a monotonic clock. Null:
  // std::chrono::steady_clock. Tests give one of their own, so that the decisions taken from time
  // are reproducible.
  std::function<double()> clock;
  // The optimizer and its settings; its lr is the schedule's peak rate (make_lr_schedule).
  nn::OptimizerOptions optimizer{.kind = nn::OptimizerKind::adam, .lr = 2e-3};
  std::size_t warmup_steps = 0;      // linear warm-up from 0 to optimizer.lr over this many steps, then lr_decay
  LrDecay lr_decay = LrDecay::inverse_sqrt;
  double min_lr = 0.0;               // cosine: the rate at the end
  double cooldown_fraction = 0.0;    // in [0, 1): over this last part of the horizon the rate falls linearly to 0
  // The planned horizon of cosine and cool-down (0: max_epochs whole epochs); a time budget may
  // bring it closer (fit_schedule_to_time_budget).
  std::size_t planned_steps = 0;
  double clip_norm = 1.0;            // 0: no clipping
  // The arithmetic of the float32 products of forward and backward (AutocastScope); weights,
  // gradients and checkpoints stay float32, so a run may resume in the other precision.
  Precision precision = Precision::f32;
  double label_smoothing = 0.0;
  TeacherForcingSchedule teacher_forcing = TeacherForcingSchedule::constant(1.0);  // eps_i of step i
  bool sample_feed = false;          // scheduled sampling feeds a sample, not the argmax
  std::size_t eval_every_steps = 0;  // 0: validate at the end of each epoch
  std::size_t patience = 0;          // stop after this many validations without a better dev score (0: never)
  std::size_t log_every_steps = 50;  // a logging point: a metrics record and a progress line
  std::size_t max_decode_length = 64;
  std::uint64_t seed = 0;
  std::filesystem::path checkpoint_dir;  // best.ckpt and last.ckpt; empty: no checkpoints
  // Continue from checkpoint_dir/last.ckpt (an error when it does not exist, or when its seed or
  // optimizer settings differ from these). The metrics file is then cut back to the records of the
  // checkpoint's step and before, so no step is logged twice.
  bool resume = false;
  // Also save last.ckpt before the first step that begins this many seconds after the last save
  // (0: only at validations and at the end). A checkpoint records all the run's state, so when the
  // saves happened never changes what a resumed run computes.
  double save_every_seconds = 0;
  // Read before every step; once true, the run saves last.ckpt and returns with
  // StopReason::interrupted. Null: never. A signal handler may set it (a lock-free atomic store is
  // async-signal-safe); the trainer installs none itself.
  const std::atomic<bool>* stop_request = nullptr;
  std::filesystem::path metrics_file;    // JSON lines; empty: none
  // Written into every checkpoint beside the trainer's own entries (a run folder's binding of its
  // configuration and vocabularies); on resume each must equal the checkpoint's, else an error.
  CheckpointMetadata checkpoint_metadata;
  // Where progress goes; null: nowhere. The default draws a bar on a terminal, lines in a log.
  std::shared_ptr<TrainingReporter> reporter = std::make_shared<TerminalProgress>();
  // How the validation lines name the dev scores: G2P's "WER 12.30%  PER 3.40%", or a translation
  // toolkit's "exact-match accuracy 87.70%  token error rate 3.40%": the same measurements (the
  // accuracy is 1 - WER), only the words differ; the metrics file keeps dev_wer and dev_per.
  ScoreNames score_names = ScoreNames::wer_per;
  // The dev scores of a validation from its decoded outputs, when the token ids are not what the
  // user reads (a run on subword pieces is scored on the text they spell, where two segmentations
  // of one word are the same answer); they choose best.ckpt and early stopping. Null: the
  // evaluation's own scores, on token ids.
  std::function<SequenceScores(const Evaluation&)> dev_scores;
  // The processes that train together; null: this process alone. On processes other than 0 the
  // reporter and the metrics file are not used.
  std::shared_ptr<ProcessGroup> group;
};

// Why Trainer::run returned.
enum class StopReason {
  max_epochs,      // the planned epochs are done
  max_steps,       // an interruption: last.ckpt resumes it exactly
  time_budget,     // the training time ran out (the reached model is validated once more)
  early_stopping,  // `patience` validations without a better dev score
  interrupted,     // TrainerOptions::stop_request was set: last.ckpt resumes it exactly
  schedule_end,    // the schedule fitted to the time budget has ended, its rate at its floor (validated as time_budget is)
};
const char* to_string(StopReason reason);  // "max_epochs", ...

struct TrainSummary {
  std::size_t steps = 0;                 // optimizer steps taken in total (resumed ones included)
  std::size_t epochs_completed = 0;
  std::vector<double> step_losses;       // the loss of every step this run took
  double best_dev_score = 0;             // word error rate (lower is better) of the best validation
  double train_seconds = 0;              // this run's training time
  double target_tokens_per_second = 0;
  StopReason stop_reason = StopReason::max_epochs;
};

class Trainer {
 public:
  Trainer(Seq2Seq& model, std::vector<Example> train, std::vector<Example> dev, TrainerOptions options);
  ~Trainer();
  TrainSummary run();
  // The run's planned length in optimizer steps (planned_steps, or max_epochs whole epochs): the
  // horizon of cosine decay and cool-down. A time budget or max_steps may stop the run before it.
  std::size_t planned_steps() const;
  // Where the schedule ends now: planned_steps(), or the step a time budget allows (and whether
  // that is fixed); after run(), where it ended.
  ScheduleHorizon horizon() const;
  double lr_at(std::size_t step) const;  // the learning rate of update `step` (counting from 1), on horizon()

 private:
  struct State;
  struct StepResult {
    double loss = 0;
    std::size_t target_tokens = 0;
  };
  StepResult train_step(const std::vector<std::size_t>& batch_indices);
  // Scores the dev set, saves best.ckpt when it improved; returns whether it did.
  bool validate(TrainSummary& summary);
  void save(const std::filesystem::path& file) const;
  // Continues from checkpoint `last`; throws std::runtime_error when it belongs to another run.
  void resume_from(const std::filesystem::path& last);
  // Moves the schedule's horizon to `horizon`, rebuilding the schedule when it changed.
  void set_horizon(const ScheduleHorizon& horizon);
  // The schedule's options on the planned steps.
  LrScheduleOptions planned_schedule() const;
  // Compares hashes of the data, model, parameters, seed and options across the processes; throws
  // std::runtime_error naming what differs.
  void check_processes_agree() const;

  Seq2Seq& model_;
  std::vector<Example> train_, dev_;
  TrainerOptions options_;
  std::shared_ptr<ProcessGroup> group_;
  std::unique_ptr<State> state_;
};

}  // namespace seqgrad::nn::seq2seq
