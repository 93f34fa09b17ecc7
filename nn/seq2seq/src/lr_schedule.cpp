#include "seqgrad/nn/seq2seq/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace seqgrad::nn::seq2seq {

std::unique_ptr<LrSchedule> make_lr_schedule(const LrScheduleOptions& o) {
  if (!(o.cooldown_fraction >= 0.0 && o.cooldown_fraction < 1.0))
    throw std::invalid_argument("Trainer: cooldown_fraction must be in [0, 1), got " + std::to_string(o.cooldown_fraction));
  const auto warmup = static_cast<std::int64_t>(o.warmup_steps);
  const auto total = static_cast<std::int64_t>(o.planned_steps);
  std::unique_ptr<LrSchedule> schedule;
  if (o.decay == LrDecay::cosine) schedule = std::make_unique<CosineLr>(o.peak_lr, total, o.min_lr, warmup);
  else if (warmup > 0) schedule = std::make_unique<WarmupInverseSqrt>(o.peak_lr, warmup);
  else schedule = std::make_unique<ConstantLr>(o.peak_lr);
  if (o.cooldown_fraction > 0.0) {
    const auto cooldown = std::max<std::int64_t>(1, std::llround(o.cooldown_fraction * static_cast<double>(total)));
    schedule = std::make_unique<LinearCooldown>(std::move(schedule), total, cooldown);
  }
  return schedule;
}

}  // namespace seqgrad::nn::seq2seq
