#pragma once
// The tests' check for "bad input gets a clear exception": the call must throw E, and E's message
// must hold every fragment (the op's name, the offending shapes or values).
#include <gtest/gtest.h>

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace seqgrad::test_support {

template <class E = std::invalid_argument>
void expect_error(const std::function<void()>& call, const std::vector<std::string>& fragments) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning " << fragments.front();
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& frag : fragments) EXPECT_NE(msg.find(frag), std::string::npos) << "'" << frag << "' not in: " << msg;
  }
}

}  // namespace seqgrad::test_support
