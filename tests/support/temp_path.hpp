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

// temp_path(name), emptied: nothing of an earlier run left in it (the folder itself not made).
inline std::filesystem::path fresh_temp_path(const std::string& name) {
  const auto path = temp_path(name);
  std::filesystem::remove_all(path);
  return path;
}

}  // namespace seqgrad::test_support
