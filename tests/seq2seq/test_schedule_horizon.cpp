// Learning-rate schedules under a time budget: when the budget ends before the planned epochs, the
// schedule's end moves onto the budget (re-estimated from the measured speed until its final
// descent begins, then fixed), so the run ends with its rate at 0 and says so; a run resumed after
// the horizon was fixed follows the recorded horizon, bitwise the uninterrupted run, whatever its
// own clock says; a budget longer than the epochs changes nothing; a checkpoint of an older seqgrad,
// without the horizon, still resumes. Time comes from a clock the test drives (a tick per reading),
// never from the wall: every decision here is reproducible.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "seqgrad/nn/schedule.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/nn/seq2seq/trainer.hpp"
#include "seqgrad/nn/seq2seq/trainer_checkpoint.hpp"
#include "seq2seq/record_messages.hpp"
#include "seq2seq/trainer_fixture.hpp"
#include "support/expect_error.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
using namespace seqgrad::trainer_test;

namespace {

// A clock that advances `tick` seconds each time it is read: the trainer reads it a fixed number of
// times per step, so a run's times (and the speed it measures) are the same on every machine.
std::function<double()> ticking_clock(double tick) {
  auto now = std::make_shared<double>(0.0);
  return [now, tick] { return *now += tick; };
}

using seqgrad::nn::seq2seq::test::RecordMessages;

// 20 epochs of 4 steps planned; the budget, at the test clock's speed, allows about half of them.
TrainerOptions budgeted_options(const Fixture& f, const std::filesystem::path& dir) {
  TrainerOptions o = f.options(dir);
  o.max_epochs = 20;
  o.warmup_steps = 2;
  o.cooldown_fraction = 0.25;
  o.time_budget_seconds = 1.1;
  o.clock = ticking_clock(0.01);
  o.log_every_steps = 1;
  if (!dir.empty()) o.metrics_file = dir / "metrics.jsonl";
  return o;
}

TrainerCheckpointMetadata checkpoint_state(const std::filesystem::path& file) {
  return TrainerCheckpointMetadata::from_metadata(nn::read_checkpoint_metadata(file), file);
}

std::vector<double> logged_lr(const std::filesystem::path& metrics) {
  const auto series = read_metrics_series(metrics, "step", {"lr"});
  return series.empty() ? std::vector<double>{} : series[0].y;
}

}  // namespace

TEST(ScheduleHorizon, FinalDescentIsTheCooldownOrTheLastTenthOfACosine) {
  EXPECT_EQ(final_descent_steps({.peak_lr = 0.1, .cooldown_fraction = 0.2, .planned_steps = 100}), 20u);
  EXPECT_EQ(final_descent_steps({.peak_lr = 0.1, .cooldown_fraction = 0.001, .planned_steps = 100}), 1u);
  EXPECT_EQ(final_descent_steps({.peak_lr = 0.1, .decay = LrDecay::cosine, .planned_steps = 100}), 10u);
  EXPECT_EQ(final_descent_steps({.peak_lr = 0.1, .warmup_steps = 5, .planned_steps = 100}), 0u);  // no end to place
}

TEST(ScheduleHorizon, FollowsTheMeasuredSpeedUntilTheFinalDescentBegins) {
  const LrScheduleOptions planned{.peak_lr = 0.1, .cooldown_fraction = 0.2, .planned_steps = 100};
  const ScheduleHorizon open{.steps = 100};
  // Too few steps measured: the horizon stays.
  EXPECT_EQ(next_horizon(planned, open, 5, {.steps = 5, .seconds = 0.5, .seconds_left = 0.1}), open);
  // 10 steps/s with 8 s left from step 20: the planned 100 are reachable.
  EXPECT_EQ(next_horizon(planned, open, 20, {.steps = 20, .seconds = 2, .seconds_left = 8}), open);
  // 3 s left: the budget ends at step 50; its cool-down (10 steps) starts at 40, not yet.
  EXPECT_EQ(next_horizon(planned, open, 20, {.steps = 20, .seconds = 2, .seconds_left = 3}),
            (ScheduleHorizon{.steps = 50}));
  EXPECT_EQ(next_horizon(planned, {.steps = 50}, 39, {.steps = 39, .seconds = 3.9, .seconds_left = 1.1}),
            (ScheduleHorizon{.steps = 50}));
  // At step 40 the budget still ends at 50: the cool-down begins, and the horizon is fixed.
  const ScheduleHorizon fixed = next_horizon(planned, {.steps = 50}, 40, {.steps = 40, .seconds = 4, .seconds_left = 1});
  EXPECT_EQ(fixed, (ScheduleHorizon{.steps = 50, .fixed = true, .fixed_at_step = 40}));
  // Fixed: no measurement moves it.
  EXPECT_EQ(next_horizon(planned, fixed, 45, {.steps = 45, .seconds = 10, .seconds_left = 0.01}), fixed);
  // The horizon shrank past the start of its cool-down (50 - 10 = 40 < 42): moved out so that a
  // whole cool-down begins with the next step (52 - 10 = 42).
  EXPECT_EQ(next_horizon(planned, {.steps = 60}, 42, {.steps = 42, .seconds = 4.2, .seconds_left = 0.8}),
            (ScheduleHorizon{.steps = 52, .fixed = true, .fixed_at_step = 42}));
  // A spent budget: the cool-down begins at once (37 - 7 = 30).
  EXPECT_EQ(next_horizon(planned, open, 30, {.steps = 30, .seconds = 3, .seconds_left = -1}),
            (ScheduleHorizon{.steps = 37, .fixed = true, .fixed_at_step = 30}));
  // The planned end behind the run (planned_steps shorter than the epochs): nothing to place.
  EXPECT_EQ(next_horizon(planned, open, 100, {.steps = 100, .seconds = 1, .seconds_left = 0.1}), open);
  // Inverse-sqrt without a cool-down has no end: never moved.
  const LrScheduleOptions endless{.peak_lr = 0.1, .warmup_steps = 4, .planned_steps = 100};
  EXPECT_EQ(next_horizon(endless, open, 20, {.steps = 20, .seconds = 2, .seconds_left = 1}), open);
  // A cosine keeps at least its warm-up and one step after it.
  const LrScheduleOptions cosine{.peak_lr = 0.1, .warmup_steps = 30, .decay = LrDecay::cosine, .planned_steps = 100};
  EXPECT_EQ(next_horizon(cosine, open, 10, {.steps = 10, .seconds = 1, .seconds_left = 0.5}), (ScheduleHorizon{.steps = 31}));
  // Its final descent is its last tenth: fixed from step 90 - 9 = 81 of a 90-step horizon.
  EXPECT_EQ(next_horizon(cosine, open, 80, {.steps = 80, .seconds = 8, .seconds_left = 1}), (ScheduleHorizon{.steps = 90}));
  EXPECT_EQ(next_horizon(cosine, open, 81, {.steps = 81, .seconds = 8.1, .seconds_left = 0.9}),
            (ScheduleHorizon{.steps = 90, .fixed = true, .fixed_at_step = 81}));
}

TEST(Trainer, ATimeBudgetShorterThanTheEpochsEndsTheRunCooled) {
  const Fixture f;
  const auto dir = test_support::fresh_temp_path("trainer_budget_cooled");
  std::filesystem::create_directories(dir);
  auto model = f.model(1);
  TrainerOptions o = budgeted_options(f, dir);
  const auto messages = std::make_shared<RecordMessages>();
  o.reporter = messages;
  Trainer trainer(*model, f.data.train, f.data.test, o);
  const TrainSummary s = trainer.run();
  EXPECT_EQ(s.stop_reason, StopReason::schedule_end);
  EXPECT_STREQ(to_string(s.stop_reason), "schedule_end");

  const ScheduleHorizon h = trainer.horizon();
  EXPECT_EQ(trainer.planned_steps(), 80u);
  EXPECT_TRUE(h.fixed);
  EXPECT_EQ(s.steps, h.steps);
  EXPECT_LT(h.steps, 60u);  // well before the planned 80
  EXPECT_GT(h.steps, 20u);
  // The measured speed placed the end at the budget: the run spent it, give or take a few steps.
  EXPECT_NEAR(s.train_seconds, o.time_budget_seconds, 0.1 * o.time_budget_seconds);
  const auto cooldown = static_cast<std::size_t>(std::llround(0.25 * double(h.steps)));
  EXPECT_EQ(h.fixed_at_step, h.steps - cooldown);  // fixed as the cool-down began

  // The rate of every step: the planned warm-up and decay, then a cool-down to 0 on the horizon.
  const std::vector<double> lr = logged_lr(o.metrics_file);
  ASSERT_EQ(lr.size(), s.steps);
  const nn::LinearCooldown expected(std::make_unique<nn::WarmupInverseSqrt>(o.optimizer.lr, 2),
                                    static_cast<std::int64_t>(h.steps), static_cast<std::int64_t>(cooldown));
  for (std::size_t i = 0; i < lr.size(); ++i)
    EXPECT_DOUBLE_EQ(lr[i], expected.lr_at(static_cast<std::int64_t>(i + 1))) << "step " << i + 1;
  EXPECT_EQ(lr.back(), 0.0);
  for (std::size_t i = h.fixed_at_step; i + 1 < lr.size(); ++i) EXPECT_GT(lr[i], lr[i + 1]) << "step " << i + 1;

  // One line says so.
  std::size_t replanned = 0;
  for (const std::string& m : messages->messages) replanned += m.find("re-planned onto the time budget") != std::string::npos;
  EXPECT_EQ(replanned, 1u);
  // The cooled model is validated: the last record is a validation at the last step.
  const auto dev = read_metrics_series(o.metrics_file, "step", {"dev_loss"});
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0].x.back(), double(s.steps));

  // Without fitting, the same budget cuts the planned schedule where it ends: the rate is not 0.
  auto plain_model = f.model(1);
  TrainerOptions plain = budgeted_options(f, "");
  plain.fit_schedule_to_time_budget = false;
  plain.metrics_file = dir / "plain.jsonl";
  Trainer plain_trainer(*plain_model, f.data.train, f.data.test, plain);
  const TrainSummary p = plain_trainer.run();
  EXPECT_EQ(p.stop_reason, StopReason::time_budget);
  EXPECT_EQ(plain_trainer.horizon().steps, 80u);
  EXPECT_GT(logged_lr(plain.metrics_file).back(), 0.0);
  std::filesystem::remove_all(dir);
}

TEST(Trainer, ResumedAfterTheHorizonIsFixedTheRunIsBitwiseTheUninterruptedOne) {
  const Fixture f;
  const auto dir_a = test_support::fresh_temp_path("trainer_budget_whole");
  const auto dir_b = test_support::fresh_temp_path("trainer_budget_resumed");
  auto model_a = f.model(1);
  const TrainerOptions oa = budgeted_options(f, dir_a);
  const TrainSummary a = Trainer(*model_a, f.data.train, f.data.test, oa).run();
  ASSERT_EQ(a.stop_reason, StopReason::schedule_end);
  const TrainerCheckpointMetadata end_a = checkpoint_state(dir_a / "last.ckpt");
  ASSERT_EQ(end_a.horizon_fixed, 1u);
  EXPECT_EQ(end_a.horizon, a.steps);

  // Interrupted 3 steps into the cool-down: the checkpoint holds the fixed horizon.
  auto model_b = f.model(1);
  TrainerOptions ob = budgeted_options(f, dir_b);
  ob.max_steps = end_a.horizon_fixed_at + 3;
  const TrainSummary b1 = Trainer(*model_b, f.data.train, f.data.test, ob).run();
  ASSERT_EQ(b1.stop_reason, StopReason::max_steps);
  const TrainerCheckpointMetadata mid = checkpoint_state(dir_b / "last.ckpt");
  EXPECT_EQ(mid.horizon_fixed, 1u);
  EXPECT_EQ(mid.horizon, end_a.horizon);
  EXPECT_EQ(mid.horizon_fixed_at, end_a.horizon_fixed_at);

  // Resumed with a clock 100 times slower and on 2 threads from other weights: measured again, the
  // budget would be spent at once; the recorded horizon is followed instead.
  auto model_c = f.model(99);
  ob.max_steps = 0;
  ob.resume = true;
  ob.threads = 2;
  ob.clock = ticking_clock(1.0);
  const TrainSummary b2 = Trainer(*model_c, f.data.train, f.data.test, ob).run();
  EXPECT_EQ(b2.stop_reason, StopReason::schedule_end);
  expect_resumed_run_equals(a, *model_a, dir_a, b1, b2, *model_c, dir_b);
  EXPECT_EQ(file_bytes(dir_b / "best.ckpt"), file_bytes(dir_a / "best.ckpt"));
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
}

TEST(Trainer, ABudgetLongerThanThePlannedEpochsChangesNothing) {
  const Fixture f;
  const auto run = [&](double budget) {
    auto model = f.model(2);
    TrainerOptions o = budgeted_options(f, "");
    o.max_epochs = 5;
    o.time_budget_seconds = budget;
    Trainer trainer(*model, f.data.train, f.data.test, o);
    const TrainSummary s = trainer.run();
    EXPECT_EQ(trainer.horizon().steps, 20u);
    EXPECT_EQ(trainer.lr_at(20), 0.0);
    return s;
  };
  const TrainSummary unlimited = run(0), ample = run(1e6);
  EXPECT_EQ(unlimited.stop_reason, StopReason::max_epochs);
  EXPECT_EQ(ample.stop_reason, StopReason::max_epochs);
  EXPECT_EQ(ample.step_losses, unlimited.step_losses);
}

// A checkpoint of an older seqgrad has no horizon: it resumes on the run's planned steps.
TEST(Trainer, ACheckpointWithoutTheHorizonResumesOnThePlannedSteps) {
  const Fixture f;
  const auto dir_a = test_support::fresh_temp_path("trainer_old_whole");
  const auto dir_b = test_support::fresh_temp_path("trainer_old_resumed");
  TrainerOptions o = f.options(dir_a);
  o.warmup_steps = 2;
  o.cooldown_fraction = 0.25;
  auto model_a = f.model(3);
  const TrainSummary a = Trainer(*model_a, f.data.train, f.data.test, o).run();

  o.checkpoint_dir = dir_b;
  o.max_steps = 5;
  auto model_b = f.model(3);
  const TrainSummary b1 = Trainer(*model_b, f.data.train, f.data.test, o).run();
  const auto last = dir_b / "last.ckpt";
  {  // rewritten as an older seqgrad wrote it
    auto holder = f.model(3);
    auto optimizer = nn::make_optimizer(holder->named_parameters(), o.optimizer);
    nn::CheckpointMetadata metadata = nn::load_checkpoint(last, *holder, optimizer.get()).metadata;
    for (const char* key : {"trainer.horizon", "trainer.horizon_fixed", "trainer.horizon_fixed_at"})
      ASSERT_EQ(metadata.erase(key), 1u) << key;
    nn::save_checkpoint(last, *holder, optimizer.get(), metadata);
  }
  EXPECT_EQ(checkpoint_state(last).horizon, 0u);
  o.max_steps = 0;
  o.resume = true;
  Trainer resumed(*model_b, f.data.train, f.data.test, o);
  const TrainSummary b2 = resumed.run();
  EXPECT_EQ(resumed.horizon().steps, 12u);
  expect_resumed_run_equals(a, *model_a, dir_a, b1, b2, *model_b, dir_b);
  std::filesystem::remove_all(dir_a);
  std::filesystem::remove_all(dir_b);
}

TEST(TrainerCheckpointMetadata, TheHorizonIsOptionalButChecked) {
  nn::CheckpointMetadata m = TrainerCheckpointMetadata{.optimizer = "adam", .horizon = 40, .horizon_fixed = 1,
                                                       .horizon_fixed_at = 30}
                                 .to_metadata();
  const TrainerCheckpointMetadata back = TrainerCheckpointMetadata::from_metadata(m, "x.ckpt");
  EXPECT_EQ(back.horizon, 40u);
  EXPECT_EQ(back.horizon_fixed, 1u);
  EXPECT_EQ(back.horizon_fixed_at, 30u);
  m["trainer.horizon_fixed"] = "2";
  test_support::expect_error<std::runtime_error>([&] { TrainerCheckpointMetadata::from_metadata(m, "x.ckpt"); },
                                                 {"x.ckpt", "trainer.horizon_fixed", "'2'", "0 or 1"});
  m["trainer.horizon_fixed"] = "1";
  m.erase("trainer.horizon");
  test_support::expect_error<std::runtime_error>([&] { TrainerCheckpointMetadata::from_metadata(m, "x.ckpt"); },
                                                 {"x.ckpt", "trainer.horizon_fixed", "trainer.horizon", "absent or 0"});
}
