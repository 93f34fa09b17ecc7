// nn::load_checkpoint on arbitrary bytes (through a scratch file: it reads a path), into a small
// fixed model with and without its Adam optimizer. A refused file must leave both unchanged.
//
// The file carries a CRC-32, which random changes almost never keep right, so each input that
// starts with the version-1 magic is also tried with its length field and CRC made right: the
// records behind the checksum get fuzzed too.
//
// SEQGRAD_FUZZ_WRITE_SEEDS=DIR: writes valid checkpoints of the fixed model into DIR and exits (the
// seeds follow the format whatever it is; scripts/test.sh adds them to the committed corpus).
#include <zlib.h>

#include <cstring>
#include <vector>

#include "fuzz_common.hpp"
#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/nn/optim.hpp"

using namespace seqgrad;

namespace {

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
};

// A model that has taken one optimizer step (so the optimizer has state).
void train_once(Model& m) {
  Generator gen(2);
  for (auto& [_, p] : m.module.named_parameters()) p.grad() = randn(p.shape(), p.dtype(), gen);
  m.optimizer.step();
}

std::vector<std::vector<char>> snapshot(const Model& m) {
  std::vector<std::vector<char>> out;
  const auto add = [&](const Tensor& t) {
    const char* p = static_cast<const char*>(t.raw_data());
    out.emplace_back(p, p + t.numel() * dtype_size(t.dtype()));
  };
  for (auto& [_, p] : m.module.named_parameters()) add(p);
  for (auto& [_, t] : m.optimizer.state()) add(t);
  out.push_back(std::vector<char>(8));
  const std::int64_t steps = m.optimizer.step_count();
  std::memcpy(out.back().data(), &steps, 8);
  return out;
}

void load(const std::filesystem::path& file, bool with_optimizer) {
  static Model* model = [] {
    auto* m = new Model;
    train_once(*m);
    return m;
  }();
  const auto before = snapshot(*model);
  try {
    nn::load_checkpoint(file, model->module, with_optimizer ? &model->optimizer : nullptr);
  } catch (const std::runtime_error&) {
    if (snapshot(*model) != before) {
      std::fprintf(stderr, "load_checkpoint: a refused file changed the model or optimizer\n");
      std::abort();
    }
    throw;
  }
}

// Version 1: magic (8), version (u32), length (u64) ... crc (u32 of everything before it).
std::string with_length_and_crc_fixed(std::string bytes) {
  const std::uint64_t length = bytes.size();
  std::memcpy(bytes.data() + 12, &length, sizeof length);
  const auto crc = static_cast<std::uint32_t>(
      crc32_z(0L, reinterpret_cast<const Bytef*>(bytes.data()), bytes.size() - 4));
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, sizeof crc);
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("SEQGRAD_FUZZ_WRITE_SEEDS");
  if (!dir) return 0;
  std::filesystem::create_directories(dir);
  Model m;
  nn::save_checkpoint(std::filesystem::path(dir) / "fresh_model_only.ckpt", m.module);
  train_once(m);
  nn::save_checkpoint(std::filesystem::path(dir) / "trained_with_adam.ckpt", m.module, &m.optimizer,
                      {{"epoch", "3"}, {"rng", "12345"}});
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static seqgrad::fuzz::ScratchFile file("checkpoint");
  std::string bytes(seqgrad::fuzz::as_text(data, size));
  std::vector<std::string> variants{bytes};
  if (bytes.size() >= 24 && bytes.compare(0, 8, "SGRDCKPT") == 0) variants.push_back(with_length_and_crc_fixed(bytes));
  for (const auto& v : variants) {
    const auto& path = file.write(v);
    seqgrad::fuzz::expect_clean("load_checkpoint (model)", [&] { load(path, false); });
    seqgrad::fuzz::expect_clean("load_checkpoint (model and Adam)", [&] { load(path, true); });
  }
  return 0;
}
