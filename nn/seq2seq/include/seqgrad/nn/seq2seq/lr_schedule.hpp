#pragma once
// The trainer's learning-rate schedule, built from its options: a linear warm-up to the peak rate,
// then inverse-sqrt decay (constant without warm-up) or a cosine down to min_lr at the end of the
// planned steps, and optionally a linear cool-down to 0 over the last part of them.
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

}  // namespace seqgrad::nn::seq2seq
