#pragma once
// A path in the system's temporary folder for one test's files: named after the process as well,
// so the optimized and the sanitizer test runs (or two checkouts) never share a file.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace seqgrad::test_support {

inline std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() / ("seqgrad_test_" + std::to_string(::getpid()) + "_" + name);
}

}  // namespace seqgrad::test_support
