// The trainer: a run interrupted and resumed from its last checkpoint takes exactly the steps of an
// uninterrupted one (the same losses, bit for bit, also with another thread count, with each
// optimizer), as is one stopped by its stop request and one saved on a timer, a resume with other
// optimizer settings is refused, early stopping stops, and bad settings are refused. The checkpoint metadata the trainer writes reads back as written.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "seqgrad/nn/schedule.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/nn/seq2seq/trainer.hpp"
#include "seqgrad/nn/seq2seq/trainer_checkpoint.hpp"
#include "seq2seq/trainer_fixture.hpp"
#include "support/expect_error.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
using namespace seqgrad::trainer_test;

namespace {

// Trains with `optimizer` uninterrupted on 1 thread, and interrupted after `stop` steps and resumed
// on 2 threads from other initial weights; expects the same losses, parameters and last.ckpt (the
// optimizer's state with them) bit for bit. Returns the uninterrupted run's summary.
TrainSummary expect_resume_is_exact(const Fixture& f, const nn::OptimizerOptions& optimizer, std::size_t stop) {
  const auto dir_a = test_support::fresh_temp_path("trainer_a"), dir_b = test_support::fresh_temp_path("trainer_b");
  auto model_a = f.model(1);
  TrainerOptions oa = f.options(dir_a);
  oa.optimizer = optimizer;
  oa.threads = 1;
  const TrainSummary a = Trainer(*model_a, f.data.train, f.data.test, oa).run();
  EXPECT_EQ(a.steps, 3u * 4u);  // 48 examples in batches of 12, 3 epochs

  auto model_b = f.model(1);
  TrainerOptions ob = f.options(dir_b);
  ob.optimizer = optimizer;
  ob.threads = 2;
  ob.max_steps = stop;  // interrupted mid-epoch
  const TrainSummary b1 = Trainer(*model_b, f.data.train, f.data.test, ob).run();
  EXPECT_EQ(b1.stop_reason, StopReason::max_steps);

  auto model_c = f.model(99);  // other initial weights: the checkpoint must replace them all
  ob.max_steps = 0;
  ob.resume = true;
  const TrainSummary b2 = Trainer(*model_c, f.data.train, f.data.test, ob).run();
  expect_resumed_run_equals(a, *model_a, dir_a, b1, b2, *model_c, dir_b);
  EXPECT_TRUE(std::filesystem::exists(dir_a / "best.ckpt"));
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
  return a;
}

}  // namespace

TEST(Trainer, ResumedRunEqualsUninterruptedRunForAnyThreadCount) {
  const Fixture f;
  expect_resume_is_exact(f, f.options("").optimizer, 5);  // the default optimizer, Adam
}

// The same with a Transformer decoder: its two-pass scheduled sampling and the dropout inside its
// blocks follow the shard's generators, so threads and an interruption change nothing.
TEST(Trainer, TransformerDecoderResumesExactlyForAnyThreadCount) {
  Fixture f;
  f.decoder = DecoderCell::transformer;
  for (EncoderKind encoder : {EncoderKind::gru, EncoderKind::transformer}) {
    std::vector<std::vector<double>> losses;
    for (std::size_t threads : {1, 2}) {
      auto model = f.model(5, encoder, 2);
      TrainerOptions o = f.options("");
      o.threads = threads;
      o.max_epochs = 2;
      losses.push_back(Trainer(*model, f.data.train, f.data.test, o).run().step_losses);
    }
    EXPECT_EQ(losses[0], losses[1]) << to_string(encoder) << " encoder";
    EXPECT_LT(losses[0].back(), losses[0].front());
  }
  expect_resume_is_exact(f, f.options("").optimizer, 5);
}

// Dropout between a multi-layer GRU's layers and inside transformer layers draws from the thread's
// default generator; the trainer points it at the shard's generator, so worker threads change nothing.
// Stops the run as a program's signal handler would: it sets the stop request after step `stop`
// (mid-epoch), and notes which step the timed save before that step recorded in last.ckpt.
class StopAfterStep : public TrainingReporter {
 public:
  StopAfterStep(std::atomic<bool>& request, std::size_t stop, std::filesystem::path last)
      : request_(request), stop_(stop), last_(std::move(last)) {}
  void progress(const ProgressUpdate& u) override {
    if (u.step != stop_) return;
    saved_step = TrainerCheckpointMetadata::from_metadata(nn::read_checkpoint_metadata(last_), last_).step;
    request_.store(true);
  }
  void message(const std::string&) override {}
  bool wants_every_step() const override { return true; }
  std::uint64_t saved_step = 0;

 private:
  std::atomic<bool>& request_;
  std::size_t stop_;
  std::filesystem::path last_;
};

TEST(Trainer, StopRequestSavesLastCheckpointAndResumesExactlyAsTimedSavesDo) {
  const Fixture f;
  const auto dir_a = test_support::fresh_temp_path("trainer_whole"), dir_b = test_support::fresh_temp_path("trainer_stopped");
  std::filesystem::create_directories(dir_a);
  std::filesystem::create_directories(dir_b);
  const auto options = [&](const std::filesystem::path& dir) {
    TrainerOptions o = f.options(dir);
    o.metrics_file = dir / "metrics.jsonl";
    o.log_every_steps = 5;  // records at steps 4 (epoch end), 5, 8 ...: the interval 6..8 spans the stop at step 7
    return o;
  };
  auto model_a = f.model(1);
  const TrainSummary a = Trainer(*model_a, f.data.train, f.data.test, options(dir_a)).run();
  ASSERT_EQ(a.stop_reason, StopReason::max_epochs);

  std::atomic<bool> stop{false};
  auto model_b = f.model(1);
  TrainerOptions ob = options(dir_b);
  ob.stop_request = &stop;
  ob.save_every_seconds = 1e-9;  // a save before every step: when saves happen must change nothing
  const auto stopper = std::make_shared<StopAfterStep>(stop, 7, dir_b / "last.ckpt");
  ob.reporter = stopper;
  const TrainSummary b1 = Trainer(*model_b, f.data.train, f.data.test, ob).run();
  EXPECT_EQ(b1.stop_reason, StopReason::interrupted);
  EXPECT_STREQ(to_string(b1.stop_reason), "interrupted");
  EXPECT_EQ(b1.steps, 7u);
  EXPECT_EQ(stopper->saved_step, 6u);  // the timed save before step 7: mid-epoch, no validation there
  const auto last = dir_b / "last.ckpt";
  const TrainerCheckpointMetadata at = TrainerCheckpointMetadata::from_metadata(nn::read_checkpoint_metadata(last), last);
  EXPECT_EQ(at.step, 7u);
  EXPECT_EQ(at.epoch, 1u);  // mid-epoch: 4 batches an epoch
  EXPECT_EQ(at.position, 3u);
  EXPECT_EQ(at.interval_steps, 2u);  // steps 6 and 7, not yet in a metrics record

  stop.store(false);
  auto model_c = f.model(99);
  ob.resume = true;
  ob.reporter = nullptr;
  const TrainSummary b2 = Trainer(*model_c, f.data.train, f.data.test, ob).run();
  EXPECT_EQ(b2.stop_reason, StopReason::max_epochs);
  std::vector<double> resumed = b1.step_losses;
  resumed.insert(resumed.end(), b2.step_losses.begin(), b2.step_losses.end());
  EXPECT_EQ(resumed, a.step_losses);
  EXPECT_EQ(file_bytes(dir_b / "last.ckpt"), file_bytes(dir_a / "last.ckpt"));
  EXPECT_EQ(file_bytes(dir_b / "best.ckpt"), file_bytes(dir_a / "best.ckpt"));
  for (const char* field : {"train_loss", "lr", "dev_loss"}) {
    const auto series_a = read_metrics_series(dir_a / "metrics.jsonl", "step", {field});
    const auto series_b = read_metrics_series(dir_b / "metrics.jsonl", "step", {field});
    ASSERT_EQ(series_a.size(), 1u);
    ASSERT_EQ(series_b.size(), 1u);
    EXPECT_FALSE(series_a[0].x.empty()) << field;
    EXPECT_EQ(series_b[0].x, series_a[0].x) << field;
    EXPECT_EQ(series_b[0].y, series_a[0].y) << field;
  }
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
}

TEST(Trainer, DropoutInsideEncoderLayersIsTheSameForAnyThreadCount) {
  const Fixture f;
  for (const auto& [encoder, layers] : {std::pair{EncoderKind::gru, 2}, std::pair{EncoderKind::transformer, 2}}) {
    std::vector<std::vector<double>> losses;
    for (std::size_t threads : {1, 2}) {
      auto model = f.model(5, encoder, layers);
      TrainerOptions o = f.options("");
      o.threads = threads;
      o.max_epochs = 2;
      losses.push_back(Trainer(*model, f.data.train, f.data.test, o).run().step_losses);
    }
    EXPECT_EQ(losses[0], losses[1]) << to_string(encoder) << " encoder, " << layers << " layers";
  }
}

TEST(Trainer, CosineDecayRunsOverThePlannedEpochsAndResumesOnTheSameSchedule) {
  const Fixture f;
  const auto dir = test_support::fresh_temp_path("trainer_cosine");
  std::filesystem::create_directories(dir);
  auto model = f.model(4);
  TrainerOptions o = f.options(dir);
  o.lr_decay = LrDecay::cosine;
  o.warmup_steps = 2;
  o.min_lr = 1e-4;
  o.log_every_steps = 1;
  o.metrics_file = dir / "metrics.jsonl";
  o.max_steps = 7;  // interrupted: the horizon must stay the 3 planned epochs (12 steps), not 7
  Trainer(*model, f.data.train, f.data.test, o).run();
  o.max_steps = 0;
  o.resume = true;
  const TrainSummary s = Trainer(*model, f.data.train, f.data.test, o).run();
  ASSERT_EQ(s.steps, 12u);

  const nn::CosineLr expected(o.optimizer.lr, 12, o.min_lr, 2);
  const auto lr = read_metrics_series(o.metrics_file, "step", {"lr"});
  ASSERT_EQ(lr.size(), 1u);
  ASSERT_EQ(lr[0].x.size(), 12u);  // one line per step, both runs together
  for (std::size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(lr[0].x[i], double(i + 1));
    EXPECT_DOUBLE_EQ(lr[0].y[i], expected.lr_at(static_cast<std::int64_t>(i + 1))) << "step " << i + 1;
  }
  EXPECT_DOUBLE_EQ(lr[0].y.back(), o.min_lr);  // the last step of the run reaches the floor
  EXPECT_DOUBLE_EQ(lr[0].y[1], o.optimizer.lr);  // the end of the warm-up reaches the peak
  std::filesystem::remove_all(dir);
}

TEST(Trainer, CooldownBringsTheRateToZeroAtTheEndOfThePlannedEpochs) {
  const Fixture f;
  const auto dir = test_support::fresh_temp_path("trainer_cooldown");
  std::filesystem::create_directories(dir);
  auto model = f.model(6);
  TrainerOptions o = f.options("");
  o.warmup_steps = 2;
  o.cooldown_fraction = 0.25;  // the last 3 of 12 steps
  o.log_every_steps = 1;
  o.metrics_file = dir / "metrics.jsonl";
  Trainer trainer(*model, f.data.train, f.data.test, o);
  EXPECT_EQ(trainer.planned_steps(), 12u);
  trainer.run();
  const nn::LinearCooldown expected(std::make_unique<nn::WarmupInverseSqrt>(o.optimizer.lr, 2), 12, 3);
  EXPECT_EQ(trainer.lr_at(12), 0.0);
  EXPECT_DOUBLE_EQ(trainer.lr_at(5), expected.lr_at(5));
  const auto lr = read_metrics_series(o.metrics_file, "step", {"lr"});
  ASSERT_EQ(lr.at(0).y.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i)
    EXPECT_DOUBLE_EQ(lr[0].y[i], expected.lr_at(static_cast<std::int64_t>(i + 1))) << "step " << i + 1;
  EXPECT_EQ(lr[0].y.back(), 0.0);
  EXPECT_GT(lr[0].y[8], 0.0);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, EarlyStoppingStopsWhenTheDevScoreStopsImproving) {
  const Fixture f;
  auto model = f.model(2);
  TrainerOptions o = f.options("");
  o.optimizer.lr = 0.0;  // nothing changes after the first validation
  o.patience = 1;
  o.max_epochs = 10;
  const TrainSummary s = Trainer(*model, f.data.train, f.data.test, o).run();
  EXPECT_EQ(s.stop_reason, StopReason::early_stopping);
  EXPECT_EQ(s.epochs_completed, 2u);
}

// A run scored on what its outputs spell (dev_scores) chooses best.ckpt and stops early by those
// scores, not by the token ids': here only the first validation is called right.
TEST(Trainer, DevScoresFromTheDecodedOutputsChooseTheBestCheckpoint) {
  const Fixture f;
  auto model = f.model(2);
  const auto dir = test_support::fresh_temp_path("trainer_dev_scores");
  TrainerOptions o = f.options(dir);
  o.patience = 1;
  o.max_epochs = 10;
  std::size_t calls = 0;
  o.dev_scores = [&](const Evaluation& e) {
    ++calls;
    EXPECT_EQ(e.outputs.size(), f.data.test.size());
    SequenceScores s;
    s.items = e.outputs.size();
    s.exact = calls == 1 ? s.items : 0;
    return s;
  };
  const TrainSummary s = Trainer(*model, f.data.train, f.data.test, o).run();
  EXPECT_EQ(s.stop_reason, StopReason::early_stopping);
  EXPECT_EQ(calls, 2u);
  EXPECT_EQ(s.best_dev_score, 0.0);
  const auto best = TrainerCheckpointMetadata::from_metadata(nn::read_checkpoint_metadata(dir / "best.ckpt"), dir / "best.ckpt");
  EXPECT_EQ(best.step, 4u);  // the first epoch's end: 48 examples in batches of 12
  EXPECT_EQ(best.best_score, 0.0);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, RefusesBadSettings) {
  const Fixture f;
  auto model = f.model(3);
  TrainerOptions o = f.options("");
  o.shard_size = 0;
  EXPECT_THROW(Trainer(*model, f.data.train, f.data.test, o), std::invalid_argument);
  o = f.options("");
  o.resume = true;
  EXPECT_THROW(Trainer(*model, f.data.train, f.data.test, o), std::invalid_argument);
  EXPECT_THROW(Trainer(*model, {}, f.data.test, f.options("")), std::invalid_argument);
  o = f.options("");
  o.lr_decay = LrDecay::cosine;
  o.warmup_steps = 12;  // the whole run (3 epochs of 4 steps) is warm-up: nothing left to decay over
  EXPECT_THROW(Trainer(*model, f.data.train, f.data.test, o), std::invalid_argument);
  o = f.options("");
  o.cooldown_fraction = 1.0;
  EXPECT_THROW(Trainer(*model, f.data.train, f.data.test, o), std::invalid_argument);
}

// The other optimizers resume as exactly as Adam: SGD's momentum buffers and AdamW's moments are in
// the checkpoint, so an interrupted run resumed on another thread count ends bitwise where the
// uninterrupted run ends (losses, parameters, and last.ckpt byte for byte).
TEST(Trainer, ResumedSgdMomentumAndAdamWRunsEqualUninterruptedRuns) {
  const Fixture f;
  const std::vector<nn::OptimizerOptions> optimizers = {
      {.kind = nn::OptimizerKind::sgd, .lr = 0.1, .weight_decay = 1e-4, .momentum = 0.9, .nesterov = true},
      {.kind = nn::OptimizerKind::sgd, .lr = 0.2, .momentum = 0.8},
      {.kind = nn::OptimizerKind::adamw, .lr = 0.01, .weight_decay = 0.05}};
  std::vector<double> adam_losses;
  {
    auto model = f.model(1);
    adam_losses = Trainer(*model, f.data.train, f.data.test, f.options("")).run().step_losses;
  }
  for (const nn::OptimizerOptions& optimizer : optimizers) {
    SCOPED_TRACE(nn::to_string(optimizer));
    const TrainSummary a = expect_resume_is_exact(f, optimizer, 7);
    EXPECT_NE(a.step_losses, adam_losses);  // the chosen optimizer is the one that steps

    // Its checkpoint holds this optimizer's state: it loads into this optimizer, not into Adam.
    const auto dir = test_support::fresh_temp_path("trainer_opt");
    auto model = f.model(1);
    TrainerOptions o = f.options(dir);
    o.optimizer = optimizer;
    o.max_steps = 2;
    Trainer(*model, f.data.train, f.data.test, o).run();
    auto fresh = f.model(5);
    nn::load_checkpoint(dir / "last.ckpt", *fresh, nn::make_optimizer(fresh->named_parameters(), optimizer).get());
    nn::Adam adam(fresh->named_parameters());
    EXPECT_THROW(nn::load_checkpoint(dir / "last.ckpt", *fresh, &adam), std::runtime_error);
    std::filesystem::remove_all(dir);
  }
}

// A resume must continue with the optimizer the run was trained with: another kind, or the same
// kind with another setting, is refused naming both, before anything is loaded.
namespace {

// Runs `o` for 3 steps (a run interrupted there); returns the options that resume it.
TrainerOptions interrupted_after_3_steps(const Fixture& f, TrainerOptions o) {
  auto model = f.model(1);
  o.max_steps = 3;
  Trainer(*model, f.data.train, f.data.test, o).run();
  o.max_steps = 0;
  o.resume = true;
  return o;
}

}  // namespace

TEST(Trainer, ResumeWithOtherOptimizerSettingsIsRefusedBeforeLoading) {
  const Fixture f;
  const auto dir = test_support::fresh_temp_path("trainer_other_optimizer");
  TrainerOptions sgd = f.options(dir);
  sgd.optimizer = {.kind = nn::OptimizerKind::sgd, .lr = 0.1, .momentum = 0.9};
  const TrainerOptions o = interrupted_after_3_steps(f, sgd);
  auto other = f.model(2);
  const auto before = parameter_values(*other);
  TrainerOptions changed = o;
  changed.optimizer.momentum = 0.5;
  test_support::expect_error<std::runtime_error>([&] { Trainer(*other, f.data.train, f.data.test, changed).run(); },
                                                 {"last.ckpt", "momentum=0.9", "momentum=0.5", "optimizer"});
  changed = o;
  changed.optimizer = {.kind = nn::OptimizerKind::adam, .lr = 0.1};
  test_support::expect_error<std::runtime_error>([&] { Trainer(*other, f.data.train, f.data.test, changed).run(); },
                                                 {"last.ckpt", "'sgd lr=0.1", "'adam lr=0.1"});
  changed = o;
  changed.optimizer.lr = 0.2;
  test_support::expect_error<std::runtime_error>([&] { Trainer(*other, f.data.train, f.data.test, changed).run(); },
                                                 {"lr=0.1", "lr=0.2"});
  EXPECT_EQ(parameter_values(*other), before);  // refused before loading: the model is untouched
  EXPECT_EQ(Trainer(*other, f.data.train, f.data.test, o).run().steps, 12u);  // the same settings resume
  std::filesystem::remove_all(dir);
}

// The batcher's position counts batches of the run's examples: a resume in other batches or on
// other data is refused before anything is loaded; a checkpoint without the two fields (an older
// seqgrad's) resumes unchecked.
TEST(Trainer, ResumeInOtherBatchesOrOnOtherDataIsRefusedBeforeLoading) {
  const Fixture f;
  const auto dir = test_support::fresh_temp_path("trainer_other_batches");
  const TrainerOptions o = interrupted_after_3_steps(f, f.options(dir));
  auto other = f.model(2);
  const auto before = parameter_values(*other);
  TrainerOptions changed = o;
  changed.batch_size = o.batch_size + 1;
  test_support::expect_error<std::runtime_error>(
      [&] { Trainer(*other, f.data.train, f.data.test, changed).run(); },
      {"last.ckpt", "batches of " + std::to_string(o.batch_size) + " examples",
       "this run has " + std::to_string(changed.batch_size)});
  std::vector<Example> edited = f.data.train;
  edited[5].target.push_back(edited[5].target.front());
  test_support::expect_error<std::runtime_error>([&] { Trainer(*other, edited, f.data.test, o).run(); },
                                                 {"last.ckpt", "other training examples", training_data_fingerprint(edited)});
  std::vector<Example> fewer(f.data.train.begin(), f.data.train.end() - 1);
  EXPECT_THROW(Trainer(*other, fewer, f.data.test, o).run(), std::runtime_error);
  EXPECT_EQ(parameter_values(*other), before);  // refused before loading: the model is untouched

  {  // rewritten as an older seqgrad wrote it: without the two fields, not checked
    const std::filesystem::path last = dir / "last.ckpt";
    auto holder = f.model(3);
    auto optimizer = nn::make_optimizer(holder->named_parameters(), o.optimizer);
    nn::CheckpointMetadata metadata = nn::load_checkpoint(last, *holder, optimizer.get()).metadata;
    for (const char* key : {"trainer.batch_size", "trainer.training_data"}) ASSERT_EQ(metadata.erase(key), 1u) << key;
    nn::save_checkpoint(last, *holder, optimizer.get(), metadata);
  }
  EXPECT_EQ(Trainer(*other, edited, f.data.test, changed).run().stop_reason, StopReason::max_epochs);
  std::filesystem::remove_all(dir);
}

TEST(TrainerCheckpointMetadata, RoundTripsEveryFieldExactly) {
  const TrainerCheckpointMetadata m{.step = 123,
                                    .epoch = 4,
                                    .position = 7,
                                    .best_score = 0.1 + 0.2,  // not a short decimal
                                    .best_loss = std::numeric_limits<double>::infinity(),
                                    .validations_without_improvement = 2,
                                    .interval_steps = 3,
                                    .interval_loss = 1.0 / 3.0,
                                    .seed = std::numeric_limits<std::uint64_t>::max(),
                                    .optimizer = "sgd lr=0.1 weight_decay=0 momentum=0.9 nesterov=false",
                                    .horizon = 1234,
                                    .horizon_fixed = 1,
                                    .horizon_fixed_at = 987,
                                    .batch_size = 12,
                                    .training_data = "0123456789abcdef"};
  const nn::CheckpointMetadata written = m.to_metadata();
  EXPECT_EQ(written.size(), 15u);
  for (const auto& [key, value] : written) EXPECT_TRUE(key.starts_with("trainer.")) << key;
  EXPECT_EQ(TrainerCheckpointMetadata::from_metadata(written, "x.ckpt"), m);
  nn::CheckpointMetadata with_others = written;
  with_others["run.config.json"] = "0123";  // the caller's own entries are left alone
  EXPECT_EQ(TrainerCheckpointMetadata::from_metadata(with_others, "x.ckpt"), m);
}

TEST(TrainerCheckpointMetadata, MissingAndMalformedFieldsAreNamed) {
  const nn::CheckpointMetadata good = TrainerCheckpointMetadata{.optimizer = "adam"}.to_metadata();
  for (const auto& [key, value] : good) {
    // optional: the horizon (test_schedule_horizon.cpp), the batch size and the data (ResumeInOtherBatches...)
    if (key.starts_with("trainer.horizon") || key == "trainer.batch_size" || key == "trainer.training_data") continue;
    nn::CheckpointMetadata missing = good;
    missing.erase(key);
    test_support::expect_error<std::runtime_error>([&] { TrainerCheckpointMetadata::from_metadata(missing, "x.ckpt"); },
                                                   {"x.ckpt", "has no '" + key + "'"});
  }
  const auto refused = [&](const std::string& key, const std::string& text, const std::string& expected) {
    nn::CheckpointMetadata bad = good;
    bad[key] = text;
    test_support::expect_error<std::runtime_error>([&] { TrainerCheckpointMetadata::from_metadata(bad, "x.ckpt"); },
                                                   {"x.ckpt", key, "'" + text + "'", expected});
  };
  refused("trainer.step", "12abc", "whole number");
  refused("trainer.step", "-1", "whole number");
  refused("trainer.seed", "", "whole number");
  refused("trainer.epoch", "99999999999999999999999", "whole number");
  refused("trainer.best_loss", "1.5x", "a number");
  refused("trainer.best_score", "", "a number");
}

TEST(Trainer, LrScheduleIsTheOneTheOptionsDescribe) {
  const auto at = [](const LrScheduleOptions& o, std::int64_t step) { return make_lr_schedule(o)->lr_at(step); };
  EXPECT_EQ(at({.peak_lr = 0.1, .planned_steps = 10}, 7), 0.1);  // no warm-up, inverse-sqrt: constant
  EXPECT_EQ(at({.peak_lr = 0.1, .warmup_steps = 4, .planned_steps = 10}, 9), nn::WarmupInverseSqrt(0.1, 4).lr_at(9));
  EXPECT_EQ(at({.peak_lr = 0.1, .warmup_steps = 2, .decay = LrDecay::cosine, .min_lr = 0.01, .planned_steps = 10}, 6),
            nn::CosineLr(0.1, 10, 0.01, 2).lr_at(6));
  EXPECT_EQ(at({.peak_lr = 0.1, .cooldown_fraction = 0.2, .planned_steps = 10}, 9), 0.1 * 1 / 2);  // 2 cool-down steps
  EXPECT_THROW(make_lr_schedule({.peak_lr = 0.1, .cooldown_fraction = -0.1, .planned_steps = 10}), std::invalid_argument);
}

// bfloat16 products (TrainerOptions::precision): the loss curve tracks float32's step by step
// without equalling it, the run is bitwise the same on 1 and 2 threads, and a bf16 run resumes in
// float32 and back (the checkpoint is float32 either way).
TEST(Trainer, Bf16RunTracksTheFloat32RunAndResumesInEitherPrecision) {
  if (const std::string why = bf16_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const Fixture f;
  auto run = [&](Precision precision, std::size_t threads) {
    auto model = f.model(1);
    TrainerOptions o = f.options("");
    o.max_epochs = 8;  // 32 steps
    o.precision = precision;
    o.threads = threads;
    return Trainer(*model, f.data.train, f.data.test, o).run().step_losses;
  };
  const std::vector<double> f32 = run(Precision::f32, 1), bf16 = run(Precision::bf16, 1);
  ASSERT_EQ(bf16.size(), f32.size());
  EXPECT_NE(bf16, f32);  // the products did run in bfloat16
  for (std::size_t k = 0; k < f32.size(); ++k) EXPECT_NEAR(bf16[k], f32[k], 0.03 * f32[k]) << "step " << k + 1;
  EXPECT_LT(bf16.back(), 0.7 * bf16.front());  // and it learns
  EXPECT_EQ(run(Precision::bf16, 2), bf16);

  for (const auto& [first, second] : {std::pair{Precision::bf16, Precision::f32}, std::pair{Precision::f32, Precision::bf16}}) {
    const auto dir = test_support::fresh_temp_path("trainer_precision");
    auto model = f.model(1);
    TrainerOptions o = f.options(dir);
    o.precision = first;
    o.max_steps = 5;
    const TrainSummary a = Trainer(*model, f.data.train, f.data.test, o).run();
    EXPECT_EQ(a.stop_reason, StopReason::max_steps);
    auto resumed = f.model(99);
    o.precision = second;
    o.max_steps = 0;
    o.resume = true;
    const TrainSummary b = Trainer(*resumed, f.data.train, f.data.test, o).run();
    EXPECT_EQ(b.steps, 12u);
    EXPECT_EQ(b.step_losses.size(), 7u);
    std::filesystem::remove_all(dir);
  }
}
