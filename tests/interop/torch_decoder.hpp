#pragma once
// The modules of tests/data/interop/torch_decoder.json, built in seqgrad under PyTorch's names with the
// sizes and settings of the fixture's `config`, and the fixture's computation on its `inputs`:
//   layer = layer(x, memory), decoder = decoder(x, memory), both causal with the padding masks.
// make_torch_decoder.py beside the fixture wrote it with torch.nn.TransformerDecoderLayer and
// torch.nn.TransformerDecoder.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "seqgrad/seqgrad.hpp"

namespace seqgrad::test_support {

inline std::filesystem::path torch_decoder_fixture() {
  return std::filesystem::path(SEQGRAD_SOURCE_DIR) / "tests/data/interop/torch_decoder.json";
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

// The settings of one of the fixture's modules: config[name].norm_first and .activation, the shared sizes.
inline nn::TransformerLayerOptions torch_decoder_layer_options(const nlohmann::json& config, const std::string& name) {
  const std::string activation = config.at(name).at("activation");
  if (activation != "relu" && activation != "gelu_tanh")
    throw std::runtime_error("fixture: " + name + " activation '" + activation + "' has no seqgrad equivalent");
  return {.dim_feedforward = config.at("feedforward_dim"),
          .dropout = 0.0,
          .activation = activation == "relu" ? nn::Activation::relu : nn::Activation::gelu_tanh,
          .layer_norm_eps = config.at("layer_norm_eps"),
          .norm_first = config.at(name).at("norm_first")};
}

class TorchDecoderModules : public nn::Module {
 public:
  TorchDecoderModules(const nlohmann::json& config, Generator& gen) {
    const std::size_t d_model = config.at("d_model"), heads = config.at("heads");
    layer = register_module("layer", std::make_shared<nn::TransformerDecoderLayer>(
                                         d_model, heads, gen, torch_decoder_layer_options(config, "layer")));
    decoder = register_module(
        "decoder", std::make_shared<nn::TransformerDecoder>(
                       d_model, heads, config.at("decoder_layers").get<std::size_t>(), gen,
                       nn::TransformerDecoderOptions{.layer = torch_decoder_layer_options(config, "decoder"),
                                                     .final_norm = config.at("decoder").at("final_norm")}));
  }

  // The fixture's computation on its `inputs`; each output by the fixture's name for it.
  std::map<std::string, Tensor> forward(const nlohmann::json& inputs) const {
    auto floats = [&](const char* name) {
      return Tensor::from(inputs.at(name).at("data").get<std::vector<double>>(), inputs.at(name).at("shape").get<Shape>());
    };
    auto mask = [&](const char* name) {
      return Tensor::from_indices(inputs.at(name).at("data").get<std::vector<std::int64_t>>(),
                                  inputs.at(name).at("shape").get<Shape>());
    };
    const Tensor x = floats("x"), memory = floats("memory");
    const Tensor target_mask = mask("target_mask"), memory_mask = mask("memory_mask");
    const bool causal = inputs.at("causal");
    return {{"layer", layer->forward(x, memory, target_mask, memory_mask, causal)},
            {"decoder", decoder->forward(x, memory, target_mask, memory_mask, causal)}};
  }

  std::shared_ptr<nn::TransformerDecoderLayer> layer;
  std::shared_ptr<nn::TransformerDecoder> decoder;
};

}  // namespace seqgrad::test_support
