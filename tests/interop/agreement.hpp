#pragma once
// How far seqgrad's outputs are from those a PyTorch fixture lists ({name: {shape, data}}), as
// torch.allclose judges, and the check every interop test makes of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "seqgrad/seqgrad.hpp"

namespace seqgrad::test_support {

// How far an output is from PyTorch's, as torch.allclose judges: element i passes when
// |got - want| <= atol + rtol * |want|.
struct Agreement {
  bool shape_matches = false;
  double max_abs_error = 0;  // max |got - want|
  double worst_ratio = 0;    // max |got - want| / (atol + rtol * |want|): within tolerance when <= 1
  std::size_t worst_index = 0;
  bool within() const { return shape_matches && worst_ratio <= 1.0; }
};

inline Agreement agreement(const Tensor& got, const nlohmann::json& want, double atol, double rtol) {
  Agreement a;
  const Shape want_shape = want.at("shape").get<Shape>();
  const auto want_data = want.at("data").get<std::vector<double>>();
  a.shape_matches = got.shape() == want_shape && got.numel() == want_data.size();
  if (!a.shape_matches) return a;
  const std::vector<double> g = got.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i) {
    double err = std::abs(g[i] - want_data[i]);
    if (std::isnan(err)) err = INFINITY;  // NaN is as far off as can be
    const double ratio = err / (atol + rtol * std::abs(want_data[i]));
    a.max_abs_error = std::max(a.max_abs_error, err);
    if (ratio > a.worst_ratio) {
      a.worst_ratio = ratio;
      a.worst_index = i;
    }
  }
  return a;
}

// Every output the fixture lists is made, of its shape and within the tolerance; prints each one's
// largest error and how much of the tolerance its worst element uses.
inline void expect_outputs_agree(const std::map<std::string, Tensor>& outputs, const nlohmann::json& want_outputs,
                                 double atol, double rtol) {
  ASSERT_FALSE(want_outputs.empty());
  for (const auto& [name, want] : want_outputs.items()) {
    ASSERT_TRUE(outputs.count(name)) << "the fixture has an output '" << name << "' that the computation does not make";
    const Tensor& got = outputs.at(name);
    const Agreement a = agreement(got, want, atol, rtol);
    EXPECT_TRUE(a.shape_matches) << name << ": seqgrad " << to_string(got.shape()) << ", PyTorch " << want.at("shape");
    std::printf("  %-14s %-12s max |error| %.3g; worst element %zu at %.3f of the tolerance (atol %g, rtol %g)\n",
                name.c_str(), to_string(got.shape()).c_str(), a.max_abs_error, a.worst_index, a.worst_ratio, atol, rtol);
    EXPECT_TRUE(a.within()) << name << ": element " << a.worst_index << " is off by " << a.worst_ratio
                            << " times the tolerance (max |error| " << a.max_abs_error << ")";
  }
}

// The fixture's model, loaded, with one element of one parameter moved by 1e-2: its effect must show
// in exactly the outputs that the parameter reaches.
template <class Fixture>
auto loaded_and_nudged(const Fixture& f, const std::string& parameter, std::size_t element) {
  auto model = f.loaded();
  model->parameter(parameter).template data<float>()[element] += 1e-2f;
  return model;
}

}  // namespace seqgrad::test_support
