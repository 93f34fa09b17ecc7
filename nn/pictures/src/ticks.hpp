#pragma once
// Axis ticks (internal to seqgrad_pictures).
#include <string>
#include <vector>

namespace seqgrad::pictures::detail {

// "Nice" tick positions (1, 2 or 5 times a power of ten) covering [lo, hi] with about `target`
// ticks; returns the ticks and sets `step`.
std::vector<double> nice_ticks(double lo, double hi, int target, double& step);
// A tick label with as many decimals as the step needs ("0.5", "1500", "1e+06").
std::string tick_label(double value, double step);

}  // namespace seqgrad::pictures::detail
