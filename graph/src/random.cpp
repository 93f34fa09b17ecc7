#include "seqgrad/graph/random.hpp"

#include <cmath>
#include <numbers>

namespace seqgrad {

double Generator::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
double Generator::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double Generator::normal() {
  double u1 = uniform();
  while (u1 <= 0.0) u1 = uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::uint64_t Generator::below(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("Generator::below: n must be positive");
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // rejection keeps it unbiased
  std::uint64_t x;
  do x = engine_();
  while (x >= limit);
  return x % n;
}

namespace {
thread_local Generator* scoped_generator = nullptr;  // set by DefaultGeneratorScope
}  // namespace

Generator& default_generator() {
  thread_local Generator gen(0);
  return scoped_generator ? *scoped_generator : gen;
}

DefaultGeneratorScope::DefaultGeneratorScope(Generator& gen) : previous_(scoped_generator) { scoped_generator = &gen; }
DefaultGeneratorScope::~DefaultGeneratorScope() { scoped_generator = previous_; }

void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

Tensor rand_uniform(const Shape& shape, double lo, double hi, DType dtype, Generator& gen) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch_float(dtype, "rand_uniform", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (std::size_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen.uniform(lo, hi));
  });
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Generator& gen) {
  Tensor t = Tensor::empty(shape, dtype);
  dispatch_float(dtype, "randn", [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (std::size_t i = 0; i < t.numel(); ++i) p[i] = static_cast<T>(gen.normal());
  });
  return t;
}

}  // namespace seqgrad
