#include "compare.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace seqgrad::conformance {

std::string index_string(const Shape& shape, std::size_t flat) {
  std::vector<std::size_t> index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string s = "[";
  for (std::size_t d = 0; d < index.size(); ++d) {
    if (d > 0) s += ',';
    s += std::to_string(index[d]);
  }
  return s + "]";
}

std::optional<Mismatch> worst_mismatch(const Tensor& got, const Tensor& want, Tolerance tolerance) {
  const std::vector<double> g = got.to_vector();  // exact for float64 results
  const std::vector<double> w = want.to_vector();
  std::optional<Mismatch> worst;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (g[i] == w[i]) continue;  // also equal infinities, whose difference would be NaN
    const double allowed = tolerance.atol + tolerance.rtol * std::abs(w[i]);
    const double difference = std::abs(g[i] - w[i]);
    // A NaN on either side (or an infinity against a finite value) is never close.
    const double excess = std::isfinite(difference) ? difference - allowed : std::numeric_limits<double>::infinity();
    if (!(excess > 0.0)) continue;
    if (!worst || excess > worst->excess) worst = Mismatch{"", g[i], w[i], allowed, excess, i};
  }
  if (worst) worst->index = index_string(want.shape(), worst->flat);
  return worst;
}

}  // namespace seqgrad::conformance
