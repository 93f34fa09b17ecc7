#pragma once
// The trainer's learning-rate schedule, built from its options: a linear warm-up to the peak rate,
// then inverse-sqrt decay (constant without warm-up) or a cosine down to min_lr at the end of the
// planned steps, and optionally a linear cool-down to 0 over the last part of them.
//
// Under a time budget the end of the schedule (its horizon) is placed where the budget ends, when
// that comes before the planned steps (next_horizon): a run cut by its budget still ends with its
// cool-down instead of being cut in the middle of its schedule.
#include <cstddef>
#include <memory>

#include "seqgrad/nn/schedule.hpp"

namespace seqgrad::nn::seq2seq {

// What the learning rate does after its warm-up.
enum class LrDecay {
  inverse_sqrt,  // the Transformer's 1/sqrt(step) (constant when warmup_steps is 0)
  cosine,        // half a cosine down to min_lr at the end of the run (planned_steps)
};

struct LrScheduleOptions {
  double peak_lr = 0;
  std::size_t warmup_steps = 0;
  LrDecay decay = LrDecay::inverse_sqrt;
  double min_lr = 0;               // cosine: the rate at the end
  double cooldown_fraction = 0;    // in [0, 1): the last part of planned_steps falls linearly to 0
  // The horizon of cosine and cool-down: the run's planned length, not where an interruption stops
  // it, so that an interrupted run and its resumption follow the same schedule.
  std::size_t planned_steps = 0;
};

// Throws std::invalid_argument naming the setting that is out of range (cooldown_fraction outside
// [0, 1); the schedules' own checks, e.g. a cosine whose warm-up takes the whole run).
std::unique_ptr<LrSchedule> make_lr_schedule(const LrScheduleOptions& options);

// The steps at the end of the horizon over which the rate makes its final descent: the cool-down
// (cooldown_fraction of planned_steps), else for a cosine its last tenth. 0 for an inverse-sqrt
// schedule without cool-down: it has no end to place, so a time budget simply stops it.
std::size_t final_descent_steps(const LrScheduleOptions& options);

// Where a schedule run under a time budget ends.
struct ScheduleHorizon {
  std::size_t steps = 0;          // the horizon: the end of cosine and cool-down
  bool fixed = false;             // decided for good: the final descent has begun
  std::size_t fixed_at_step = 0;  // the step after which it was fixed (when fixed)
  bool operator==(const ScheduleHorizon&) const = default;
};

// What the budget's clock measured: the steps this process has taken since it started (not those
// of a run it resumed) over their training time, and the time left of the budget.
struct BudgetMeasurement {
  std::size_t steps = 0;
  double seconds = 0;
  double seconds_left = 0;
};

// Steps measured before the speed is trusted: the first steps of a process are its slowest.
inline constexpr std::size_t kStepsBeforeReplanning = 10;

// One re-planning before update `step` + 1 (steps done: `step`). `planned` describes the schedule
// on its planned steps; `current` is the horizon so far. A fixed horizon is returned unchanged, as
// is `current` while fewer than kStepsBeforeReplanning steps have been measured. Otherwise the
// horizon is the planned steps, or, when the speed measured so far (steps / seconds) would spend
// the budget before them, the step at which it is spent (at least step + 1, and after the warm-up
// of a cosine); it is fixed once `step` reaches the start of its final descent, so that the
// descent, once begun, runs to its end unchanged. When the horizon shrank past that start since the
// last step it is moved out to where the descent starts with the next step (the descent stays
// whole, the rate never jumps). Deterministic in its arguments.
ScheduleHorizon next_horizon(const LrScheduleOptions& planned, const ScheduleHorizon& current, std::size_t step,
                             const BudgetMeasurement& measured);

}  // namespace seqgrad::nn::seq2seq
