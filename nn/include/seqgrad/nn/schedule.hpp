#pragma once
// Learning-rate schedules: lr_at(step) is the learning rate of update number `step`, counting from 1
// (the first optimizer.step() is update 1). apply(optimizer) sets the rate of the update the
// optimizer is about to make, lr_at(optimizer.step_count() + 1); call it before each step():
//
//   schedule.apply(optimizer);
//   optimizer.step();
//
// A schedule holds no state besides its settings, so resuming from a checkpoint (which restores the
// step count) resumes the schedule too.
#include <cstdint>
#include <memory>

namespace seqgrad::nn {

class Optimizer;

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  virtual double lr_at(std::int64_t step) const = 0;  // step >= 0 (0: before any update)
  void apply(Optimizer& optimizer) const;

 protected:
  static void check_step(std::int64_t step, const char* who);
};

// The same rate at every step.
class ConstantLr : public LrSchedule {
 public:
  explicit ConstantLr(double lr);
  double lr_at(std::int64_t step) const override;

 private:
  double lr_;
};

// The Transformer's schedule ("Attention is all you need", with the peak rate given directly):
//   lr_at(step) = peak_lr * min(step / warmup, sqrt(warmup / step))
// a linear rise from 0 to peak_lr over `warmup` steps, then decay as 1/sqrt(step); lr_at(0) = 0.
class WarmupInverseSqrt : public LrSchedule {
 public:
  WarmupInverseSqrt(double peak_lr, std::int64_t warmup);
  double lr_at(std::int64_t step) const override;

 private:
  double peak_;
  std::int64_t warmup_;
};

// Linear warm-up from 0 to base_lr over `warmup` steps (none when 0), then half a cosine from
// base_lr down to min_lr at step total_steps; min_lr after that:
//   step <= warmup:  base_lr * step / warmup
//   after:           min_lr + (base_lr - min_lr) * (1 + cos(pi * (step - warmup) / (total - warmup))) / 2
class CosineLr : public LrSchedule {
 public:
  CosineLr(double base_lr, std::int64_t total_steps, double min_lr = 0.0, std::int64_t warmup = 0);
  double lr_at(std::int64_t step) const override;

 private:
  double base_, min_;
  std::int64_t total_, warmup_;
};

// Another schedule, then a linear fall to 0 over its last `cooldown` steps of `total_steps` (the
// "cool-down" of warmup-stable-decay training: most of the gain of annealing, without committing
// the whole run to a decay shape):
//   step <= total - cooldown:  inner(step)
//   after:                     inner(step) * max(0, total - step) / cooldown
class LinearCooldown : public LrSchedule {
 public:
  LinearCooldown(std::unique_ptr<LrSchedule> inner, std::int64_t total_steps, std::int64_t cooldown);
  double lr_at(std::int64_t step) const override;

 private:
  std::unique_ptr<LrSchedule> inner_;
  std::int64_t total_, cooldown_;
};

}  // namespace seqgrad::nn
