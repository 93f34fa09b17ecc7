#include "seqgrad/nn/seq2seq/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace seqgrad::nn::seq2seq {

namespace {

// The cool-down's length in steps: its fraction of the horizon, at least one step.
std::int64_t cooldown_steps(double fraction, std::int64_t total) {
  return std::max<std::int64_t>(1, std::llround(fraction * static_cast<double>(total)));
}

}  // namespace

std::unique_ptr<LrSchedule> make_lr_schedule(const LrScheduleOptions& o) {
  if (!(o.cooldown_fraction >= 0.0 && o.cooldown_fraction < 1.0))
    throw std::invalid_argument("Trainer: cooldown_fraction must be in [0, 1), got " + std::to_string(o.cooldown_fraction));
  const auto warmup = static_cast<std::int64_t>(o.warmup_steps);
  const auto total = static_cast<std::int64_t>(o.planned_steps);
  std::unique_ptr<LrSchedule> schedule;
  if (o.decay == LrDecay::cosine) schedule = std::make_unique<CosineLr>(o.peak_lr, total, o.min_lr, warmup);
  else if (warmup > 0) schedule = std::make_unique<WarmupInverseSqrt>(o.peak_lr, warmup);
  else schedule = std::make_unique<ConstantLr>(o.peak_lr);
  if (o.cooldown_fraction > 0.0)
    schedule = std::make_unique<LinearCooldown>(std::move(schedule), total, cooldown_steps(o.cooldown_fraction, total));
  return schedule;
}

std::size_t final_descent_steps(const LrScheduleOptions& o) {
  const auto total = static_cast<std::int64_t>(o.planned_steps);
  if (o.cooldown_fraction > 0.0) return static_cast<std::size_t>(cooldown_steps(o.cooldown_fraction, total));
  // A cosine falls over its whole length; its last tenth is where a re-planned end would bend it most.
  if (o.decay == LrDecay::cosine) return static_cast<std::size_t>(cooldown_steps(0.1, total));
  return 0;
}

ScheduleHorizon next_horizon(const LrScheduleOptions& planned, const ScheduleHorizon& current, std::size_t step,
                             const BudgetMeasurement& measured) {
  // Nothing to place: already decided, no end to the schedule, or its planned end is behind the run.
  if (current.fixed || final_descent_steps(planned) == 0 || step >= planned.planned_steps) return current;
  ScheduleHorizon next = current;
  if (measured.steps >= kStepsBeforeReplanning && measured.seconds > 0) {
    const double steps_per_second = static_cast<double>(measured.steps) / measured.seconds;
    const double reachable = static_cast<double>(step) + std::floor(std::max(0.0, measured.seconds_left) * steps_per_second);
    std::size_t horizon = reachable >= static_cast<double>(planned.planned_steps) ? planned.planned_steps
                                                                                 : static_cast<std::size_t>(reachable);
    horizon = std::max(horizon, step + 1);  // the step about to be taken is inside the schedule
    // A cosine needs steps after its warm-up (a budget too short for the warm-up keeps it whole).
    if (planned.decay == LrDecay::cosine) horizon = std::max(horizon, planned.warmup_steps + 1);
    next.steps = std::min(horizon, planned.planned_steps);
  }
  LrScheduleOptions at = planned;
  const auto descent_start = [&](std::size_t horizon) {  // the last step before the final descent
    at.planned_steps = horizon;
    const std::size_t descent = final_descent_steps(at);
    return horizon > descent ? horizon - descent : 0;
  };
  if (step >= descent_start(next.steps)) {
    // The horizon shrank past the start of its descent since the last step: moved out to where the
    // descent starts now (a step or two later), the descent is whole and the rate does not jump.
    // horizon - descent grows by 0 or 1 with the horizon, so this lands on `step` exactly.
    while (descent_start(next.steps) < step && next.steps < planned.planned_steps) ++next.steps;
    next.fixed = true;
    next.fixed_at_step = step;
  }
  return next;
}

}  // namespace seqgrad::nn::seq2seq
