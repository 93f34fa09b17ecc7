// PyTorch's transformer decoder weights in seqgrad: tests/data/interop/torch_decoder.safetensors
// (written from the state_dict of a torch.nn.TransformerDecoderLayer and a torch.nn.TransformerDecoder
// by make_torch_decoder.py) loads strictly into seqgrad's modules of the same names, and both outputs
// match PyTorch's within the fixture's tolerance. The other direction (seqgrad writes, PyTorch's names
// and dtypes) is in test_python_reader.cpp.
#include <gtest/gtest.h>

#include "agreement.hpp"
#include "torch_decoder.hpp"

using namespace seqgrad;
using seqgrad::test_support::agreement;
using seqgrad::test_support::TorchDecoderModules;

namespace {

struct DecoderFixture {
  nlohmann::json json = test_support::read_json(test_support::torch_decoder_fixture());
  std::filesystem::path weights_path =
      std::filesystem::path(test_support::torch_decoder_fixture()).replace_extension(".safetensors");
  double atol = json.at("tolerance").at("atol"), rtol = json.at("tolerance").at("rtol");

  // The modules with the fixture's weights, in eval mode.
  std::unique_ptr<TorchDecoderModules> loaded() const {
    Generator gen(1);  // initial weights, all replaced by the file's
    auto m = std::make_unique<TorchDecoderModules>(json.at("config"), gen);
    nn::load_weights(weights_path, *m, {.strict = true});
    m->eval();
    return m;
  }
};

}  // namespace

TEST(TorchDecoderInterop, PyTorchsWeightsReproducePyTorchsOutputs) {
  const DecoderFixture f;
  const auto model = f.loaded();
  const NoGradGuard no_grad;
  const auto outputs = model->forward(f.json.at("inputs"));
  EXPECT_EQ(outputs.size(), f.json.at("outputs").size());
  test_support::expect_outputs_agree(outputs, f.json.at("outputs"), f.atol, f.rtol);
}

// The comparison above can fail: a small change to one weight of each part shows in the output that
// depends on it, and only there.
TEST(TorchDecoderInterop, APerturbedWeightIsCaught) {
  const DecoderFixture f;
  const std::size_t D = f.json.at("config").at("d_model");
  struct Case {
    std::string parameter;
    std::size_t element;
    std::string changed;  // the output that must then be out of tolerance; the other must not
  };
  const std::vector<Case> cases = {
      {"layer.self_attn.in_proj_weight", 2 * D * D, "layer"},  // the first row of W_v
      {"layer.multihead_attn.in_proj_weight", 2 * D * D, "layer"},
      {"layer.linear1.bias", 0, "layer"},
      {"layer.norm3.bias", 0, "layer"},
      {"decoder.layers.0.multihead_attn.out_proj.bias", 0, "decoder"},
      {"decoder.layers.1.self_attn.in_proj_weight", 2 * D * D, "decoder"},
      {"decoder.layers.1.norm3.weight", 0, "decoder"},
      {"decoder.norm.bias", 0, "decoder"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.parameter);
    const auto model = test_support::loaded_and_nudged(f, c.parameter, c.element);
    const NoGradGuard no_grad;
    const auto outputs = model->forward(f.json.at("inputs"));
    for (const auto& [name, want] : f.json.at("outputs").items())
      EXPECT_EQ(agreement(outputs.at(name), want, f.atol, f.rtol).within(), name != c.changed) << name;
  }
}

TEST(TorchDecoderInterop, StrictLoadingRefusesOtherModules) {
  const DecoderFixture f;
  auto expect_refusal = [&](const nlohmann::json& config, const std::string& expected) {
    Generator gen(1);
    TorchDecoderModules m(config, gen);
    try {
      nn::load_weights(f.weights_path, m);
      ADD_FAILURE() << "loaded a file that does not fit: " << expected;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  nlohmann::json more_layers = f.json.at("config");
  more_layers["decoder_layers"] = 3;
  expect_refusal(more_layers,
                 "missing parameters (in the model, not in the file): 'decoder.layers.2.self_attn.in_proj_weight'");
  nlohmann::json no_final_norm = f.json.at("config");
  no_final_norm["decoder"]["final_norm"] = false;
  expect_refusal(no_final_norm, "unexpected tensors (in the file, not in the model): 'decoder.norm.bias' [8]");
}
