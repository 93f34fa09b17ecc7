#include "seqgrad/nn/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "seqgrad/nn/optim.hpp"

namespace seqgrad::nn {

namespace {

void check_rate(double lr, const char* who, const char* what) {
  if (!(lr >= 0.0) || !std::isfinite(lr)) {
    std::ostringstream s;
    s << who << ": " << what << " must be finite and >= 0, got " << lr;
    throw std::invalid_argument(s.str());
  }
}

}  // namespace

void LrSchedule::apply(Optimizer& optimizer) const { optimizer.set_lr(lr_at(optimizer.step_count() + 1)); }

void LrSchedule::check_step(std::int64_t step, const char* who) {
  if (step < 0) throw std::invalid_argument(std::string(who) + ": step must be >= 0, got " + std::to_string(step));
}

ConstantLr::ConstantLr(double lr) : lr_(lr) { check_rate(lr, "ConstantLr", "lr"); }

double ConstantLr::lr_at(std::int64_t step) const {
  check_step(step, "ConstantLr");
  return lr_;
}

WarmupInverseSqrt::WarmupInverseSqrt(double peak_lr, std::int64_t warmup) : peak_(peak_lr), warmup_(warmup) {
  check_rate(peak_lr, "WarmupInverseSqrt", "peak_lr");
  if (warmup < 1)
    throw std::invalid_argument("WarmupInverseSqrt: warmup must be >= 1 step, got " + std::to_string(warmup));
}

double WarmupInverseSqrt::lr_at(std::int64_t step) const {
  check_step(step, "WarmupInverseSqrt");
  if (step == 0) return 0.0;
  const double s = static_cast<double>(step), w = static_cast<double>(warmup_);
  return peak_ * std::min(s / w, std::sqrt(w / s));
}

CosineLr::CosineLr(double base_lr, std::int64_t total_steps, double min_lr, std::int64_t warmup)
    : base_(base_lr), min_(min_lr), total_(total_steps), warmup_(warmup) {
  check_rate(base_lr, "CosineLr", "base_lr");
  check_rate(min_lr, "CosineLr", "min_lr");
  if (min_lr > base_lr) {
    std::ostringstream s;
    s << "CosineLr: min_lr " << min_lr << " is above base_lr " << base_lr;
    throw std::invalid_argument(s.str());
  }
  if (warmup < 0 || total_steps <= warmup)
    throw std::invalid_argument("CosineLr: needs 0 <= warmup < total_steps, got warmup " + std::to_string(warmup) +
                                " and total_steps " + std::to_string(total_steps));
}

double CosineLr::lr_at(std::int64_t step) const {
  check_step(step, "CosineLr");
  if (step <= warmup_ && warmup_ > 0) return base_ * static_cast<double>(step) / static_cast<double>(warmup_);
  const double progress =
      std::min(1.0, static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_));
  return min_ + (base_ - min_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

LinearCooldown::LinearCooldown(std::unique_ptr<LrSchedule> inner, std::int64_t total_steps, std::int64_t cooldown)
    : inner_(std::move(inner)), total_(total_steps), cooldown_(cooldown) {
  if (!inner_) throw std::invalid_argument("LinearCooldown: no schedule to cool down");
  if (cooldown < 1 || cooldown > total_steps)
    throw std::invalid_argument("LinearCooldown: needs 1 <= cooldown <= total_steps, got cooldown " +
                                std::to_string(cooldown) + " and total_steps " + std::to_string(total_steps));
}

double LinearCooldown::lr_at(std::int64_t step) const {
  check_step(step, "LinearCooldown");
  const std::int64_t left = std::max<std::int64_t>(0, total_ - step);
  const double lr = inner_->lr_at(step);
  return left >= cooldown_ ? lr : lr * static_cast<double>(left) / static_cast<double>(cooldown_);
}

}  // namespace seqgrad::nn
