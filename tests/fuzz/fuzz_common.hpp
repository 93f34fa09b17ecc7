#pragma once
// What every harness shares: the rule for exceptions, and a scratch file for readers that take a
// path.
//
// A reader of outside bytes may refuse its input only with std::runtime_error (what every reader
// here documents); anything else (std::bad_alloc from a length taken from the file, a library's
// own exception type, std::out_of_range from stoull, ...) is a finding: the harness prints it and
// aborts, so libFuzzer keeps the input. Crashes and sanitizer reports stop the fuzzer by
// themselves.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

namespace seqgrad::fuzz {

// A vocabulary a reader accepted must come back equal through both of its file formats.
template <class Vocabulary>
void expect_round_trips(const Vocabulary& v) {
  if (!(Vocabulary::from_text(v.to_text()) == v) || !(Vocabulary::from_json(v.to_json()) == v)) std::abort();
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs `read`; returns normally when it succeeds or throws std::runtime_error, aborts otherwise.
template <class F>
void expect_clean(const char* what, F&& read) {
  try {
    read();
  } catch (const std::runtime_error&) {
    // the documented refusal
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: threw %s, not std::runtime_error: %s\n", what, typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "%s: threw something that is not a std::exception\n", what);
    std::abort();
  }
}

// A file of this process in the temporary directory (under /dev/shm when there is one: the
// fuzzers write one per input), holding the bytes given last.
class ScratchFile {
 public:
  explicit ScratchFile(const char* name) {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::is_directory("/dev/shm", ec)
                                          ? std::filesystem::path("/dev/shm")
                                          : std::filesystem::temp_directory_path();
    path_ = dir / ("seqgrad-fuzz-" + std::string(name) + "-" + std::to_string(::getpid()));
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  const std::filesystem::path& write(std::string_view bytes) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::fprintf(stderr, "fuzz: cannot write %s\n", path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace seqgrad::fuzz
