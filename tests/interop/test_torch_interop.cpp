// PyTorch's weights in seqgrad: the fixture's safetensors file (written by PyTorch from the
// state_dict of its modules) loads strictly into the same modules built in seqgrad under the same
// names, and every output of the fixture's computation matches PyTorch's within the fixture's
// tolerance. A second fixture in the same format can be given with SEQGRAD_INTEROP_FIXTURE=path/to.json
// (its .safetensors beside it).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agreement.hpp"
#include "torch_modules.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;
using seqgrad::test_support::agreement;
using seqgrad::test_support::TorchModules;

namespace {

struct Fixture {
  fs::path json_path, weights_path;
  nlohmann::json json;
  double atol = 0, rtol = 0;

  Fixture() {
    const char* given = std::getenv("SEQGRAD_INTEROP_FIXTURE");
    json_path = given && *given ? fs::path(given) : fs::path(SEQGRAD_SOURCE_DIR) / "tests/data/interop/torch_modules.json";
    weights_path = fs::path(json_path).replace_extension(".safetensors");
    std::ifstream in(json_path);
    if (!in) throw std::runtime_error("cannot open " + json_path.string());
    json = nlohmann::json::parse(in);
    atol = json.at("tolerance").at("atol");
    rtol = json.at("tolerance").at("rtol");
  }

  // The modules with the fixture's weights, in eval mode.
  std::unique_ptr<TorchModules> loaded() const {
    Generator gen(1);  // initial weights, all replaced by the file's
    auto m = std::make_unique<TorchModules>(test_support::torch_modules_config(json), gen);
    nn::load_weights(weights_path, *m, {.strict = true});
    m->eval();
    return m;
  }

  Tensor tokens() const {
    return Tensor::from_indices(json.at("tokens").at("data").get<std::vector<std::int64_t>>(),
                                json.at("tokens").at("shape").get<Shape>());
  }
};

}  // namespace

TEST(TorchInterop, PyTorchsWeightsReproducePyTorchsOutputs) {
  const Fixture f;
  SCOPED_TRACE(f.json.at("about").get<std::string>());
  const auto model = f.loaded();
  const NoGradGuard no_grad;
  const auto outputs = model->forward(f.tokens());
  test_support::expect_outputs_agree(outputs, f.json.at("outputs"), f.atol, f.rtol);
}

// The comparison above can fail: a small change to one weight of each module shows in the outputs
// that depend on it (and only a change there can pass unnoticed, not a wrong layer).
TEST(TorchInterop, APerturbedWeightIsCaught) {
  const Fixture f;
  const auto cfg = test_support::torch_modules_config(f.json);
  const std::size_t h = cfg.hidden_dim;
  const auto first_token = f.json.at("tokens").at("data").at(0).get<std::size_t>();
  struct Case {
    std::string parameter;
    std::size_t element;
    std::vector<std::string> changed;  // outputs that must then be out of tolerance
  };
  const std::vector<Case> cases = {
      {"embed.weight", first_token * cfg.embedding_dim, {"embed", "gru", "lstm", "encoder_layer", "head"}},
      {"gru.bias_ih_l0", 2 * h, {"gru", "lstm", "head"}},  // the n gate: tanh(W_in x + b_in + ...)
      {"lstm.bias_ih_l0", 2 * h, {"lstm", "head"}},        // the g gate
      {"encoder_layer.linear2.bias", 0, {"encoder_layer", "head"}},
      {"norm.bias", 0, {"head"}},
      {"head.bias", 0, {"head"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.parameter);
    const auto model = test_support::loaded_and_nudged(f, c.parameter, c.element);
    const NoGradGuard no_grad;
    const auto outputs = model->forward(f.tokens());
    for (const auto& [name, want] : f.json.at("outputs").items()) {
      const bool should_change = std::find(c.changed.begin(), c.changed.end(), name) != c.changed.end();
      EXPECT_EQ(agreement(outputs.at(name), want, f.atol, f.rtol).within(), !should_change) << name;
    }
  }
}

TEST(TorchInterop, StrictLoadingRefusesOtherModules) {
  const Fixture f;
  auto cfg = test_support::torch_modules_config(f.json);
  cfg.lstm_layers = 2;  // one layer more than the file holds
  Generator gen(1);
  test_support::TorchModules m(cfg, gen);
  try {
    nn::load_weights(f.weights_path, m);
    ADD_FAILURE() << "loaded a file without the second LSTM layer";
  } catch (const std::runtime_error& e) {
    const std::string expected = "missing parameters (in the model, not in the file): 'lstm.weight_ih_l1' " +
                                 to_string(Shape{4 * cfg.hidden_dim, cfg.hidden_dim});
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
  }
}
