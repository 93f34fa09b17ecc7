#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "seqgrad/nn/seq2seq/sampling.hpp"

namespace seqgrad::nn::seq2seq {

namespace {
void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("TeacherForcingSchedule: " + what);
}
}  // namespace

TeacherForcingSchedule TeacherForcingSchedule::constant(double eps) {
  require(eps >= 0 && eps <= 1, "constant eps must be in [0, 1], got " + std::to_string(eps));
  return {Kind::constant, eps, 0, 0};
}
TeacherForcingSchedule TeacherForcingSchedule::linear(double k, double c, double eps_min) {
  require(c >= 0 && eps_min >= 0 && k <= 1 && k >= eps_min,
          "linear needs c >= 0 and 0 <= eps_min <= k <= 1, got k " + std::to_string(k) + ", c " +
              std::to_string(c) + ", eps_min " + std::to_string(eps_min));
  return {Kind::linear, k, c, eps_min};
}
TeacherForcingSchedule TeacherForcingSchedule::exponential(double k) {
  require(k > 0 && k <= 1, "exponential k must be in (0, 1], got " + std::to_string(k));
  return {Kind::exponential, k, 0, 0};
}
TeacherForcingSchedule TeacherForcingSchedule::inverse_sigmoid(double k) {
  require(k >= 1, "inverse_sigmoid k must be >= 1, got " + std::to_string(k));
  return {Kind::inverse_sigmoid, k, 0, 0};
}

double TeacherForcingSchedule::at(long step) const {
  require(step >= 0, "step must be >= 0, got " + std::to_string(step));
  const double i = static_cast<double>(step);
  switch (kind_) {
    case Kind::constant: return k_;
    case Kind::linear: return std::max(eps_min_, k_ - c_ * i);
    case Kind::exponential: return std::pow(k_, i);
    case Kind::inverse_sigmoid: return k_ / (k_ + std::exp(i / k_));
  }
  return 1.0;
}

TeacherForcingSchedule TeacherForcingSchedule::parse(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  std::vector<double> args;
  if (colon != std::string::npos) {
    std::stringstream ss(spec.substr(colon + 1));
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        std::size_t used = 0;
        args.push_back(std::stod(item, &used));
        require(used == item.size(), "");
      } catch (const std::exception&) {
        throw std::invalid_argument("TeacherForcingSchedule: bad number '" + item + "' in '" + spec + "'");
      }
    }
  }
  auto need = [&](std::size_t n) {
    require(args.size() == n, "'" + name + "' takes " + std::to_string(n) + " numbers, got '" + spec + "'");
  };
  if (name == "constant") { need(1); return constant(args[0]); }
  if (name == "linear") { need(3); return linear(args[0], args[1], args[2]); }
  if (name == "exponential") { need(1); return exponential(args[0]); }
  if (name == "inverse_sigmoid") { need(1); return inverse_sigmoid(args[0]); }
  throw std::invalid_argument("TeacherForcingSchedule: unknown schedule '" + name +
                              "' (constant, linear, exponential, inverse_sigmoid)");
}

std::string TeacherForcingSchedule::describe() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::constant: os << "constant " << k_; break;
    case Kind::linear: os << "linear max(" << eps_min_ << ", " << k_ << " - " << c_ << " i)"; break;
    case Kind::exponential: os << "exponential " << k_ << "^i"; break;
    case Kind::inverse_sigmoid: os << "inverse sigmoid " << k_ << " / (" << k_ << " + exp(i / " << k_ << "))"; break;
  }
  return os.str();
}

}  // namespace seqgrad::nn::seq2seq
