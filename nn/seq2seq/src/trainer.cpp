// The training loop of trainer.hpp.
#include "seqgrad/nn/seq2seq/trainer.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/graph/parallel.hpp"
#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/data_parallel.hpp"
#include "seqgrad/nn/losses.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/schedule.hpp"
#include "seqgrad/nn/seq2seq/batcher.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/nn/seq2seq/trainer_checkpoint.hpp"
#include "seqgrad/ops/ops.hpp"

namespace seqgrad::nn::seq2seq {

namespace {

// The options' clock, or the steady clock's seconds.
std::function<double()> clock_of(const TrainerOptions& o) {
  if (o.clock) return o.clock;
  return [] { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); };
}

LrScheduleOptions schedule_options(const TrainerOptions& o, std::size_t horizon) {
  return {.peak_lr = o.optimizer.lr, .warmup_steps = o.warmup_steps, .decay = o.lr_decay, .min_lr = o.min_lr,
          .cooldown_fraction = o.cooldown_fraction, .planned_steps = horizon};
}

}  // namespace

const char* to_string(StopReason reason) {
  static constexpr const char* kNames[] = {"max_epochs", "max_steps",   "time_budget", "early_stopping",
                                           "interrupted", "schedule_end"};  // enum order
  const auto i = static_cast<std::size_t>(reason);
  return i < std::size(kNames) ? kNames[i] : "?";
}

struct Trainer::State {
  State(Seq2Seq& model, const std::vector<Example>& train, const TrainerOptions& o)
      : batcher(lengths_of(train), {.batch_size = o.batch_size, .seed = o.seed}),
        optimizer(make_optimizer(model.named_parameters(), o.optimizer)),
        parallel(model.parameters(), o.group),
        reporter(o.group && !o.group->is_root() ? nullptr : o.reporter),
        planned_steps(o.planned_steps > 0 ? o.planned_steps : o.max_epochs * batcher.batches_per_epoch()),
        horizon{.steps = planned_steps},
        schedule(make_lr_schedule(schedule_options(o, planned_steps))),
        training_data(training_data_fingerprint(train)) {}
  static std::vector<std::size_t> lengths_of(const std::vector<Example>& examples) {
    std::vector<std::size_t> out;
    for (const Example& e : examples) out.push_back(encoder_length(e));
    return out;
  }

  Batcher batcher;
  std::unique_ptr<Optimizer> optimizer;
  DataParallel parallel;
  std::shared_ptr<TrainingReporter> reporter;  // may be null
  // The schedule's planned horizon: the run's planned length, not max_steps, so that an interrupted
  // run and its resumption follow the same schedule.
  std::size_t planned_steps = 0;
  ScheduleHorizon horizon;  // where the schedule ends: planned_steps, or where a time budget ends
  std::unique_ptr<LrSchedule> schedule;  // on horizon.steps
  std::string training_data;  // training_data_fingerprint of the examples, bound to the checkpoints
  std::optional<MetricsLog> log;
  std::size_t step = 0;  // optimizer steps so far
  double best_score = std::numeric_limits<double>::infinity(), best_loss = std::numeric_limits<double>::infinity();
  std::size_t validations_without_improvement = 0;
  // Since the last metrics record: the steps and their summed loss (checkpointed, see TrainerCheckpointMetadata).
  std::size_t interval_steps = 0;
  double interval_loss = 0;
};

Trainer::Trainer(Seq2Seq& model, std::vector<Example> train, std::vector<Example> dev, TrainerOptions options)
    : model_(model), train_(std::move(train)), dev_(std::move(dev)), options_(std::move(options)),
      group_(options_.group ? options_.group : single_process()) {
  if (train_.empty()) throw std::invalid_argument("Trainer: no training examples");
  if (options_.batch_size == 0 || options_.shard_size == 0)
    throw std::invalid_argument("Trainer: batch_size and shard_size must be positive");
  if (options_.resume && options_.checkpoint_dir.empty())
    throw std::invalid_argument("Trainer: resume needs a checkpoint_dir");
  state_ = std::make_unique<State>(model_, train_, options_);
}

Trainer::~Trainer() = default;

std::size_t Trainer::planned_steps() const { return state_->planned_steps; }
ScheduleHorizon Trainer::horizon() const { return state_->horizon; }
LrScheduleOptions Trainer::planned_schedule() const { return schedule_options(options_, state_->planned_steps); }

void Trainer::set_horizon(const ScheduleHorizon& horizon) {
  State& s = *state_;
  if (horizon.steps != s.horizon.steps) s.schedule = make_lr_schedule(schedule_options(options_, horizon.steps));
  s.horizon = horizon;
}
double Trainer::lr_at(std::size_t step) const { return state_->schedule->lr_at(static_cast<std::int64_t>(step)); }

// Process 0 writes (atomically: save_checkpoint renames a complete file over the old one) once
// every process has reached the same step; then every process learns whether it worked, so a
// failed write stops all of them alike.
void Trainer::save(const std::filesystem::path& file) const {
  ProcessGroup& group = *group_;
  if (group.size() > 1) {
    const std::uint64_t step = state_->step;
    std::vector<std::uint64_t> steps(group.size());
    group.allgather(&step, 1, steps.data());  // also the barrier before the write
    for (std::size_t r = 1; r < steps.size(); ++r)
      if (steps[r] != steps[0])
        group.abort("Trainer: processes disagree on the step at checkpoint " + file.string() + ": rank 0 is at step " +
                    std::to_string(steps[0]) + ", rank " + std::to_string(r) + " at step " + std::to_string(steps[r]));
  }
  std::string error;
  if (group.is_root()) {
    try {
      const State& s = *state_;
      const Batcher::State b = s.batcher.state();
      CheckpointMetadata metadata = options_.checkpoint_metadata;
      metadata.merge(TrainerCheckpointMetadata{.step = s.step,
                                               .epoch = b.epoch,
                                               .position = b.position,
                                               .best_score = s.best_score,
                                               .best_loss = s.best_loss,
                                               .validations_without_improvement = s.validations_without_improvement,
                                               .interval_steps = s.interval_steps,
                                               .interval_loss = s.interval_loss,
                                               .seed = options_.seed,
                                               .optimizer = to_string(options_.optimizer),
                                               .horizon = s.horizon.steps,
                                               .horizon_fixed = s.horizon.fixed ? 1u : 0u,
                                               .horizon_fixed_at = s.horizon.fixed_at_step,
                                               .batch_size = options_.batch_size,
                                               .training_data = s.training_data}
                         .to_metadata());
      save_checkpoint(file, model_, s.optimizer.get(), metadata);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "Trainer: saving " + file.string() + " failed";
    }
  }
  if (group.size() > 1) {
    std::vector<std::uint8_t> bytes(error.begin(), error.end());
    group.broadcast(bytes, 0);
    error.assign(bytes.begin(), bytes.end());
  }
  if (!error.empty()) throw std::runtime_error(error);
}

void Trainer::check_processes_agree() const {
  ProcessGroup& group = *group_;
  if (group.size() == 1) return;
  auto examples = [](const std::vector<Example>& xs) {
    Fnv1a h;
    h.value(xs.size());
    for (const Example& e : xs) {
      h.value(e.source.size()).bytes(e.source.data(), e.source.size() * sizeof(e.source[0]));
      h.value(e.target.size()).bytes(e.target.data(), e.target.size() * sizeof(e.target[0]));
      h.value(e.alternatives.size());
      for (const auto& a : e.alternatives) h.value(a.size()).bytes(a.data(), a.size() * sizeof(a[0]));
    }
    return h.digest();
  };
  Fnv1a architecture, values, options;
  for (const auto& [name, p] : model_.named_parameters()) {
    architecture.text(name).text(seqgrad::to_string(p.shape())).value(static_cast<int>(p.dtype()));
    values.bytes(p.raw_data(), p.numel() * dtype_size(p.dtype()));
  }
  const TrainerOptions& o = options_;
  options.value(o.batch_size).value(o.shard_size).value(o.max_epochs).value(o.max_steps).value(o.time_budget_seconds);
  const OptimizerOptions& opt = o.optimizer;
  options.value(static_cast<int>(opt.kind)).value(opt.lr).value(opt.weight_decay).value(opt.momentum);
  options.value(opt.nesterov).value(opt.beta1).value(opt.beta2).value(opt.eps);
  options.value(o.warmup_steps).value(static_cast<int>(o.lr_decay)).value(o.min_lr).value(o.cooldown_fraction);
  options.value(o.planned_steps).value(o.fit_schedule_to_time_budget).value(o.clip_norm).value(o.label_smoothing).value(o.sample_feed);
  options.value(static_cast<int>(o.precision));
  options.value(o.eval_every_steps).value(o.patience).value(o.max_decode_length).value(o.resume).value(o.save_every_seconds);
  // The schedule's defining numbers, so schedules that differ at any step (not only early) differ here.
  const TeacherForcingSchedule::Parameters tf = o.teacher_forcing.parameters();
  options.value(static_cast<int>(tf.kind)).value(tf.k).value(tf.c).value(tf.eps_min);
  Fnv1a seed, step;
  seed.value(o.seed);
  step.value(state_->step);
  const std::vector<std::pair<const char*, std::uint64_t>> mine = {
      {"seed", seed.digest()}, {"training data", examples(train_)}, {"dev data", examples(dev_)},
      {"model configuration", architecture.digest()}, {"training options", options.digest()},
      {"starting step (checkpoint)", step.digest()}, {"parameters (initialisation or checkpoint)", values.digest()}};
  std::vector<std::uint64_t> send, all(mine.size() * group.size());
  for (const auto& [what, hash] : mine) send.push_back(hash);
  group.allgather(send.data(), send.size(), all.data());
  std::string differ;
  for (std::size_t k = 0; k < mine.size(); ++k)
    for (std::size_t r = 1; r < group.size(); ++r)
      if (all[r * mine.size() + k] != all[k]) {
        char line[160];
        std::snprintf(line, sizeof line, "%s%s (rank 0: %016llx, rank %zu: %016llx)", differ.empty() ? "" : "; ",
                      mine[k].first, static_cast<unsigned long long>(all[k]), r,
                      static_cast<unsigned long long>(all[r * mine.size() + k]));
        differ += line;
        break;
      }
  if (!differ.empty())
    throw std::runtime_error("Trainer: the " + std::to_string(group.size()) +
                             " processes do not train the same thing; they differ in: " + differ +
                             ". Every process must read the same data with the same settings and seed");
}

Trainer::StepResult Trainer::train_step(const std::vector<std::size_t>& indices) {
  State& s = *state_;
  const std::size_t shard_size = options_.shard_size;
  const std::size_t num_shards = (indices.size() + shard_size - 1) / shard_size;
  std::vector<Batch> shards;
  std::size_t total_tokens = 0;
  for (std::size_t k = 0; k < num_shards; ++k) {
    const std::size_t begin = k * shard_size, count = std::min(shard_size, indices.size() - begin);
    shards.push_back(make_batch(train_, std::span<const std::size_t>(indices).subspan(begin, count)));
    total_tokens += shards.back().num_target_tokens;
  }
  const double eps = options_.teacher_forcing.at(static_cast<long>(s.step));
  s.schedule->apply(*s.optimizer);
  s.optimizer->zero_grad();
  const AutocastScope products(options_.precision);  // forward and backward; DataParallel carries it to its workers
  const double loss = s.parallel.backward(num_shards, [&](std::size_t k) {
    // This shard's random draws, from its own generators: the same for any thread that runs it.
    Generator feed(mix_seed(options_.seed, s.step * 4096 + k)), drop(mix_seed(~options_.seed, s.step * 4096 + k));
    const DefaultGeneratorScope dropout_draws_from(drop);  // every dropout of the model, at any depth
    const FeedPolicy policy{.teacher_forcing_ratio = eps, .sample = options_.sample_feed, .gen = &feed};
    const Batch& b = shards[k];
    const Tensor logits = model_.forward(b.src, b.src_lengths, b.tgt_in, policy).logits;
    const Tensor mean_loss = sequence_cross_entropy(logits, b.tgt_out, kPad, options_.label_smoothing);
    return affine(mean_loss, double(b.num_target_tokens) / double(total_tokens), 0.0);
  });
  if (!std::isfinite(loss))
    throw std::runtime_error("Trainer: the loss of step " + std::to_string(s.step + 1) + " is not finite (" +
                             std::to_string(loss) + "); lower the learning rate or clip harder");
  if (options_.clip_norm > 0) clip_grad_norm(model_.named_parameters(), options_.clip_norm);
  s.optimizer->step();
  ++s.step;
  return {loss, total_tokens};
}

bool Trainer::validate(TrainSummary& summary) {
  State& s = *state_;
  if (dev_.empty()) return false;
  const Evaluation e = evaluate(model_, dev_, std::max<std::size_t>(options_.batch_size, 128), options_.max_decode_length);
  const SequenceScores scores = options_.dev_scores ? options_.dev_scores(e) : e.scores;
  const double wer = scores.word_error_rate();
  const bool improved = wer < s.best_score || (wer == s.best_score && e.loss < s.best_loss);
  if (improved) {
    s.best_score = wer;
    s.best_loss = e.loss;
    s.validations_without_improvement = 0;
    if (!options_.checkpoint_dir.empty()) save(options_.checkpoint_dir / "best.ckpt");
  } else {
    ++s.validations_without_improvement;
  }
  summary.best_dev_score = s.best_score;
  char line[200];
  if (options_.score_names != ScoreNames::wer_per)
    std::snprintf(line, sizeof line, "validation at step %zu: dev loss %.4f  exact-match accuracy %.2f%%  %s error rate %.2f%%%s",
                  s.step, e.loss, 100 * scores.accuracy(), options_.score_names == ScoreNames::exact_match ? "token" : "word",
                  100 * scores.phoneme_error_rate(), improved ? "  (best so far)" : "");
  else
    std::snprintf(line, sizeof line, "validation at step %zu: dev loss %.4f  WER %.2f%%  PER %.2f%%%s", s.step, e.loss,
                  100 * wer, 100 * scores.phoneme_error_rate(), improved ? "  (best so far)" : "");
  if (s.reporter) s.reporter->message(line);
  if (s.log)
    s.log->write({{"step", double(s.step)}, {"epoch", double(s.batcher.state().epoch)}, {"dev_loss", e.loss},
                  {"dev_wer", wer}, {"dev_per", scores.phoneme_error_rate()}});
  return improved;
}

// Restores the model, the optimizer and the loop's state from `last`, after checking that it
// continues this run (its seed, optimizer and the caller's metadata equal this run's) before
// anything is loaded.
void Trainer::resume_from(const std::filesystem::path& last) {
  State& s = *state_;
  const CheckpointMetadata stored = read_checkpoint_metadata(last);
  const TrainerCheckpointMetadata at = TrainerCheckpointMetadata::from_metadata(stored, last);
  if (at.seed != options_.seed)
    throw std::runtime_error("Trainer: checkpoint " + last.string() + " was trained with seed " + std::to_string(at.seed) +
                             ", this run has seed " + std::to_string(options_.seed));
  if (at.optimizer != to_string(options_.optimizer))
    throw std::runtime_error("Trainer: checkpoint " + last.string() + " was trained with the optimizer '" + at.optimizer +
                             "', this run has '" + to_string(options_.optimizer) +
                             "'; resume with the run's optimizer settings");
  // The batcher's position counts batches of these examples: in other batches, or in other data,
  // it would be other examples (some seen twice, some never).
  if (at.batch_size != 0 && at.batch_size != options_.batch_size)
    throw std::runtime_error("Trainer: checkpoint " + last.string() + " was trained in batches of " +
                             std::to_string(at.batch_size) + " examples, this run has " +
                             std::to_string(options_.batch_size) + "; resume with the run's batch size");
  if (!at.training_data.empty() && at.training_data != s.training_data)
    throw std::runtime_error("Trainer: checkpoint " + last.string() + " was trained on other training examples (" +
                             "fingerprint " + at.training_data + ", this run's " + s.training_data +
                             "); resume with the run's training data");
  for (const auto& [key, value] : options_.checkpoint_metadata) {
    const auto it = stored.find(key);
    if (it == stored.end() || it->second != value)
      throw std::runtime_error("Trainer: checkpoint " + last.string() + " belongs to another run: its '" + key + "' is " +
                               (it == stored.end() ? "absent" : "'" + it->second + "'") + ", this run's '" + value + "'");
  }
  load_checkpoint(last, model_, s.optimizer.get());
  s.step = at.step;
  s.batcher.restore({at.epoch, at.position});
  s.best_score = at.best_score;
  s.best_loss = at.best_loss;
  s.validations_without_improvement = at.validations_without_improvement;
  s.interval_steps = at.interval_steps;
  s.interval_loss = at.interval_loss;
  // The horizon as the interrupted run left it: a fixed one whatever this run's budget and epochs
  // say (its decision is the run's); one still open only where a budget may still move it, and
  // never beyond this run's planned steps. A checkpoint without one (an older seqgrad) had its
  // schedule on the planned steps: this run's are kept.
  if (at.horizon_fixed == 1)
    set_horizon({.steps = at.horizon, .fixed = true, .fixed_at_step = at.horizon_fixed_at});
  else if (at.horizon > 0 && options_.fit_schedule_to_time_budget && options_.time_budget_seconds > 0)
    set_horizon({.steps = std::min<std::size_t>(at.horizon, s.planned_steps)});
  // Records of steps after the checkpoint were written by the interrupted run; this run writes them again.
  std::size_t dropped = 0;
  if (!options_.metrics_file.empty() && group_->is_root() && std::filesystem::exists(options_.metrics_file))
    dropped = truncate_metrics_log(options_.metrics_file, "step", double(s.step));
  if (!s.reporter) return;
  std::string line = "resumed from " + last.string() + " at step " + std::to_string(s.step);
  if (dropped > 0)  // said, since a line that is no record (an edit) cuts the log there too
    line += "; removed the last " + std::to_string(dropped) + " lines of " + options_.metrics_file.string() +
            " (the first of them a record after step " + std::to_string(s.step) + ", or no record)";
  if (s.horizon.fixed && s.horizon.steps < s.planned_steps)
    line += "; the schedule ends at step " + std::to_string(s.horizon.steps) + " (placed on the time budget at step " +
            std::to_string(s.horizon.fixed_at_step) + ")";
  s.reporter->message(line);
}

TrainSummary Trainer::run() {
  State& s = *state_;
  set_num_threads(options_.threads);
  if (!options_.checkpoint_dir.empty()) std::filesystem::create_directories(options_.checkpoint_dir);
  const auto last = options_.checkpoint_dir / "last.ckpt";
  if (options_.resume) {
    if (!std::filesystem::exists(last))
      throw std::runtime_error("Trainer: nothing to resume: " + last.string() + " does not exist");
    resume_from(last);
  }
  check_processes_agree();
  // One process writes the metrics log, as it writes the checkpoints.
  if (!options_.metrics_file.empty() && group_->is_root()) s.log.emplace(options_.metrics_file, /*append=*/options_.resume);

  TrainSummary summary;
  summary.best_dev_score = s.best_score;
  model_.train();
  const std::function<double()> now = clock_of(options_);
  const double start = now();
  double validation_seconds = 0;  // excluded from the training time
  const auto train_seconds = [&] { return now() - start - validation_seconds; };
  double interval_tokens = 0, interval_start = 0;  // interval: since the last logged line
  std::size_t tokens = 0, last_validated_step = s.step;
  const std::size_t per_epoch = s.batcher.batches_per_epoch(), first_step = s.step;
  double last_save = now();
  const auto save_last = [&] {
    save(last);
    last_save = now();
  };
  const double budget = options_.time_budget_seconds;
  const bool fit_to_budget = budget > 0 && options_.fit_schedule_to_time_budget;
  // The schedule ends before the planned steps, where the time budget put it.
  const auto ends_early = [&] { return s.horizon.fixed && s.horizon.steps < s.planned_steps; };
  while (true) {
    if (s.batcher.epoch_finished() || s.batcher.state().position == 0) {
      // at an epoch boundary: has the run done its epochs?
      const std::uint64_t done_epochs = s.batcher.epoch_finished() ? s.batcher.state().epoch + 1 : s.batcher.state().epoch;
      if (done_epochs >= options_.max_epochs) { summary.stop_reason = StopReason::max_epochs; break; }
    }
    if (ends_early() && s.step >= s.horizon.steps) { summary.stop_reason = StopReason::schedule_end; break; }
    if (options_.max_steps > 0 && s.step >= options_.max_steps) { summary.stop_reason = StopReason::max_steps; break; }
    // The decisions that depend on a clock or a signal, made alike by every process: the largest
    // training time, any process's stop request, the longest time since the last save.
    double shared[3] = {budget > 0 ? train_seconds() : 0.0,
                        options_.stop_request && options_.stop_request->load() ? 1.0 : 0.0,
                        options_.save_every_seconds > 0 ? now() - last_save : 0.0};
    if (group_->size() > 1) group_->allreduce_max(shared, std::size(shared));
    if (shared[1] > 0) { summary.stop_reason = StopReason::interrupted; break; }
    // Once the final descent of a fixed horizon has begun, the run goes on to its end: the budget
    // was spent in placing it.
    const bool descending = s.horizon.fixed && s.step < s.horizon.steps;
    if (budget > 0 && shared[0] >= budget && !descending) {
      summary.stop_reason = StopReason::time_budget;
      break;
    }
    if (fit_to_budget && !s.horizon.fixed) {
      // Every process measures the same: the shared (largest) training time over the same steps.
      set_horizon(next_horizon(planned_schedule(), s.horizon, s.step,
                               {.steps = s.step - first_step, .seconds = shared[0], .seconds_left = budget - shared[0]}));
      if (ends_early() && s.reporter) {
        char line[300];
        std::snprintf(line, sizeof line,
                      "schedule re-planned onto the time budget: it now ends at step %zu of the %zu planned "
                      "(%.1f steps/s measured over %zu steps); its final descent begins at step %zu",
                      s.horizon.steps, s.planned_steps, double(s.step - first_step) / std::max(shared[0], 1e-9),
                      s.step - first_step, s.step + 1);
        s.reporter->message(line);
      }
    }
    if (options_.save_every_seconds > 0 && shared[2] >= options_.save_every_seconds && !options_.checkpoint_dir.empty())
      save_last();
    const std::vector<std::size_t> indices = s.batcher.next();
    const auto [loss, batch_tokens] = train_step(indices);
    tokens += batch_tokens;
    summary.step_losses.push_back(loss);
    s.interval_loss += loss;
    interval_tokens += double(batch_tokens);
    ++s.interval_steps;

    const bool epoch_end = s.batcher.epoch_finished();
    // The last step of a schedule ended early is a logging point too: the record shows its rate at 0.
    const bool log_now = (options_.log_every_steps > 0 && s.step % options_.log_every_steps == 0) ||
                         (ends_early() && s.step == s.horizon.steps);
    const bool live = s.reporter && s.reporter->wants_every_step();
    if (log_now || epoch_end || live) {
      const double elapsed = train_seconds();
      const Batcher::State b = s.batcher.state();
      const double last_step = s.horizon.steps < s.planned_steps ? double(s.horizon.steps) : double(options_.max_epochs * per_epoch);
      const double steps_left = last_step - double(s.step);
      double remaining = elapsed / double(summary.step_losses.size()) * steps_left;
      if (budget > 0 && !s.horizon.fixed) remaining = std::min(remaining, budget - elapsed);  // a fixed end is not cut
      if (s.reporter)
        s.reporter->progress({.epoch = b.epoch, .position = b.position, .batches_per_epoch = per_epoch, .step = s.step,
                              .loss = s.interval_loss / double(s.interval_steps),
                              .tokens_per_second = double(tokens) / std::max(elapsed, 1e-9), .eta_seconds = remaining,
                              .line = log_now || epoch_end});
      if (log_now || epoch_end) {
        if (s.log)
          s.log->write({{"step", double(s.step)}, {"epoch", double(b.epoch)}, {"train_loss", s.interval_loss / double(s.interval_steps)},
                        {"lr", s.optimizer->lr()}, {"teacher_forcing", options_.teacher_forcing.at(static_cast<long>(s.step - 1))},
                        {"tokens_per_s", interval_tokens / std::max(elapsed - interval_start, 1e-9)}});
        s.interval_loss = interval_tokens = 0;
        s.interval_steps = 0;
        interval_start = elapsed;
      }
    }
    const bool validate_now = options_.eval_every_steps > 0 ? s.step % options_.eval_every_steps == 0 : epoch_end;
    if (epoch_end) ++summary.epochs_completed;
    if (validate_now) {
      const double validation_start = now();
      validate(summary);
      validation_seconds += now() - validation_start;
      last_validated_step = s.step;
      if (!options_.checkpoint_dir.empty()) save_last();
      if (options_.patience > 0 && s.validations_without_improvement >= options_.patience) {
        summary.stop_reason = StopReason::early_stopping;
        break;
      }
    }
  }
  // A run cut by its time budget, or ended by the schedule fitted to it, validates what it reached
  // (a budget may end before the first scheduled validation; the cooled model is the run's result).
  // Not after max_steps or a stop request: those are interruptions to resume from, and an extra
  // validation would make the resumed run differ from an uninterrupted one.
  const bool ended_by_time = summary.stop_reason == StopReason::time_budget || summary.stop_reason == StopReason::schedule_end;
  if (ended_by_time && s.step > last_validated_step) validate(summary);
  summary.train_seconds = train_seconds();
  summary.steps = s.step;
  summary.target_tokens_per_second = double(tokens) / std::max(summary.train_seconds, 1e-9);
  summary.best_dev_score = s.best_score;
  if (!options_.checkpoint_dir.empty()) save(last);
  return summary;
}

}  // namespace seqgrad::nn::seq2seq
