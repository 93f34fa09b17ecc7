#pragma once
// Scheduled sampling (Bengio et al. 2015): at training step i the decoder is fed the true previous
// token with probability eps_i, else its own previous prediction. eps_i starts near 1 (teacher
// forcing) and decays, so the model learns to recover from its own mistakes.
#include <string>

namespace seqgrad::nn::seq2seq {

class TeacherForcingSchedule {
 public:
  enum class Kind { constant, linear, exponential, inverse_sigmoid };

  static TeacherForcingSchedule constant(double eps);                           // eps_i = eps
  static TeacherForcingSchedule linear(double k, double c, double eps_min);     // eps_i = max(eps_min, k - c i)
  static TeacherForcingSchedule exponential(double k);                          // eps_i = k^i, k in (0, 1]
  static TeacherForcingSchedule inverse_sigmoid(double k);                      // eps_i = k / (k + exp(i / k)), k >= 1
  // "constant:1", "linear:1,0.0001,0.5", "exponential:0.9999", "inverse_sigmoid:2000"
  static TeacherForcingSchedule parse(const std::string& spec);

  double at(long step) const;  // eps_i, in [0, 1]
  Kind kind() const { return kind_; }
  std::string describe() const;
  // The numbers that define every eps_i (what a comparison or hash of two schedules reads): k, c and
  // eps_min of the formulas above (unused ones 0; constant's eps is k).
  struct Parameters {
    Kind kind;
    double k, c, eps_min;
  };
  Parameters parameters() const { return {kind_, k_, c_, eps_min_}; }

 private:
  TeacherForcingSchedule(Kind kind, double k, double c, double eps_min) : kind_(kind), k_(k), c_(c), eps_min_(eps_min) {}
  Kind kind_;
  double k_, c_, eps_min_;
};

}  // namespace seqgrad::nn::seq2seq
