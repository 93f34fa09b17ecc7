// The README's "Weights: safetensors, to and from PyTorch" code, run: the region between the
// readme markers is what the README shows (tests/docs checks that it is).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/temp_path.hpp"
#include "torch_modules.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;

TEST(ReadmeWeights, BothDirections) {
  const fs::path source = SEQGRAD_SOURCE_DIR;
  const fs::path dir = test_support::temp_path("readme_weights");
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(source / "tests/data/interop/torch_modules.safetensors", dir / "torch_modules.safetensors");
  const fs::path previous = fs::current_path();
  fs::current_path(dir);  // the README's file names are relative
  std::ifstream in(source / "tests/data/interop/torch_modules.json");
  Generator gen(3);
  test_support::TorchModules model(test_support::torch_modules_config(nlohmann::json::parse(in)), gen);
  const Tensor before = model.head->weight.clone();

  // readme-begin: weights
  // seqgrad -> PyTorch: the parameters under their PyTorch names in one file.
  nn::save_weights("model.safetensors", model, {{"vocab", "letters.json"}});

  // PyTorch -> seqgrad: a file written by safetensors.torch.save_file(model.state_dict(), ...),
  // loaded into the same modules built in seqgrad. Strict, as torch's load_state_dict: any missing
  // or unexpected name, other shape or dtype, NaN or damaged file throws, and the model is untouched.
  nn::load_weights("torch_modules.safetensors", model);

  // Not strict: the names both have are loaded, the others listed.
  const nn::LoadedWeights loaded = nn::load_weights("model.safetensors", model, {.strict = false});
  for (const std::string& name : loaded.missing) std::printf("not in the file: %s\n", name.c_str());
  for (const std::string& name : loaded.unexpected) std::printf("not in the model: %s\n", name.c_str());

  // Any safetensors file, whatever its names: every tensor by name, and the metadata.
  const nn::safetensors::Contents contents = nn::safetensors::read("torch_modules.safetensors");
  std::printf("%zu tensors; embed.weight is %s\n", contents.tensors.size(),
              to_string(contents.tensors.at("embed.weight").shape()).c_str());
  // readme-end: weights

  EXPECT_EQ(loaded.metadata.at("vocab"), "letters.json");
  EXPECT_TRUE(loaded.missing.empty());
  EXPECT_TRUE(loaded.unexpected.empty());
  EXPECT_EQ(model.head->weight.to_vector(), before.to_vector());  // the last load brought back seqgrad's weights
  EXPECT_EQ(contents.tensors.size(), model.named_parameters().size());
  fs::current_path(previous);
  fs::remove_all(dir);
}
