#pragma once
// Seeded random numbers: parameter initialisation, dropout masks, data shuffling. One seed gives
// one sequence on every machine (mt19937_64 and our own distributions, not the standard library's,
// whose output differs between implementations).
#include <cstdint>
#include <random>

#include "seqgrad/graph/tensor.hpp"

namespace seqgrad {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
  void seed(std::uint64_t s) { engine_.seed(s); }
  std::uint64_t next_u64() { return engine_(); }
  double uniform();                        // [0, 1)
  double uniform(double lo, double hi);    // [lo, hi)
  double normal();                         // standard normal (Box-Muller)
  std::uint64_t below(std::uint64_t n);    // uniform integer in [0, n)
  std::mt19937_64& engine() { return engine_; }

 private:
  std::mt19937_64 engine_;
};

Generator& default_generator();  // this thread's (or its DefaultGeneratorScope's); manual_seed reseeds it
void manual_seed(std::uint64_t seed);

// Makes `gen` this thread's default generator until the scope ends, then the previous one again
// (scopes nest). Layers deep in a model draw their dropout masks from default_generator(); a
// data-parallel step gives each shard its own seeded generator this way, so the masks depend on the
// shard, never on which worker thread happened to run it.
class DefaultGeneratorScope {
 public:
  explicit DefaultGeneratorScope(Generator& gen);
  ~DefaultGeneratorScope();
  DefaultGeneratorScope(const DefaultGeneratorScope&) = delete;
  DefaultGeneratorScope& operator=(const DefaultGeneratorScope&) = delete;

 private:
  Generator* previous_;
};

Tensor rand_uniform(const Shape& shape, double lo, double hi, DType dtype = DType::f32,
                    Generator& gen = default_generator());
Tensor randn(const Shape& shape, DType dtype = DType::f32, Generator& gen = default_generator());

}  // namespace seqgrad
