#pragma once
// The modules of a torch_modules.json fixture, built in seqgrad under the same names, with every
// size taken from the fixture's `config` and the encoder layer's and recurrent layers' settings
// (batch_first, norm_first, activation) from its `modules` descriptions; and the fixture's
// `computation` on them.
//
// A fixture (tests/data/interop/) describes a stack of PyTorch modules, their state_dict in a
// safetensors file beside it, the input `tokens` and every output PyTorch computed in eval mode:
//   embed = embed(tokens); gru = gru(embed) outputs; lstm = lstm(gru) outputs;
//   encoder_layer = encoder_layer(embed) (no mask); head = head(concat(norm(lstm), encoder_layer), last axis)
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqgrad/seqgrad.hpp"

namespace seqgrad::test_support {

struct TorchModulesConfig {
  std::size_t vocab = 0, embedding_dim = 0, hidden_dim = 0, heads = 0, feedforward_dim = 0;
  std::size_t gru_layers = 1, lstm_layers = 1;
  bool gru_bidirectional = false;
  double layer_norm_eps = 1e-5;
  bool batch_first = true;  // of the GRU, the LSTM and the encoder layer alike
  bool norm_first = false;
  nn::Activation activation = nn::Activation::relu;
};

// "GRU(8, 6, num_layers=2, bidirectional=True, batch_first=True)": the value of key=, or "".
inline std::string module_setting(const std::string& description, const std::string& key) {
  std::smatch m;
  if (std::regex_search(description, m, std::regex("\\b" + key + "=([A-Za-z0-9_.]+)"))) return m[1];
  return "";
}

inline TorchModulesConfig torch_modules_config(const nlohmann::json& fixture) {
  const auto& c = fixture.at("config");
  TorchModulesConfig cfg;
  cfg.vocab = c.at("vocab");
  cfg.embedding_dim = c.at("embedding_dim");
  cfg.hidden_dim = c.at("hidden_dim");
  cfg.heads = c.at("heads");
  cfg.feedforward_dim = c.at("feedforward_dim");
  cfg.gru_layers = c.value("gru_layers", std::size_t{1});
  cfg.lstm_layers = c.value("lstm_layers", std::size_t{1});
  cfg.gru_bidirectional = c.value("gru_bidirectional", false);
  cfg.layer_norm_eps = c.value("layer_norm_eps", 1e-5);

  const auto& modules = fixture.at("modules");
  for (const char* name : {"gru", "lstm", "encoder_layer"}) {
    const std::string bf = module_setting(modules.at(name).get<std::string>(), "batch_first");
    if (bf != "True" && bf != "False")
      throw std::runtime_error(std::string("fixture: modules.") + name + " does not say batch_first=True or False");
    if (name == std::string("gru")) cfg.batch_first = bf == "True";
    if ((bf == "True") != cfg.batch_first)
      throw std::runtime_error("fixture: the modules disagree on batch_first; the computation needs one layout");
  }
  const std::string layer = modules.at("encoder_layer");
  const std::string norm_first = c.contains("norm_first") ? (c["norm_first"].get<bool>() ? "True" : "False")
                                                          : module_setting(layer, "norm_first");
  cfg.norm_first = norm_first == "True";
  const std::string activation =
      c.contains("activation") ? c["activation"].get<std::string>() : module_setting(layer, "activation");
  if (activation == "relu" || activation.empty()) {  // torch's default
    cfg.activation = nn::Activation::relu;
  } else {
    // torch's "gelu" is the exact (erf) gelu; seqgrad has only the tanh approximation.
    throw std::runtime_error("fixture: encoder_layer activation '" + activation + "' has no seqgrad equivalent");
  }
  return cfg;
}

class TorchModules : public nn::Module {
 public:
  TorchModules(const TorchModulesConfig& c, Generator& gen) : config_(c) {
    const std::size_t directions = c.gru_bidirectional ? 2 : 1;
    embed = register_module("embed", std::make_shared<nn::Embedding>(c.vocab, c.embedding_dim, gen));
    gru = register_module("gru", std::make_shared<nn::GRU>(c.embedding_dim, c.hidden_dim, gen,
                                                            nn::RecurrentOptions{.num_layers = c.gru_layers,
                                                                                 .batch_first = c.batch_first,
                                                                                 .bidirectional = c.gru_bidirectional}));
    lstm = register_module("lstm", std::make_shared<nn::LSTM>(directions * c.hidden_dim, c.hidden_dim, gen,
                                                               nn::RecurrentOptions{.num_layers = c.lstm_layers,
                                                                                    .batch_first = c.batch_first}));
    encoder_layer = register_module(
        "encoder_layer", std::make_shared<nn::TransformerEncoderLayer>(
                             c.embedding_dim, c.heads, gen,
                             nn::TransformerEncoderLayerOptions{.dim_feedforward = c.feedforward_dim,
                                                                .dropout = 0.0,
                                                                .activation = c.activation,
                                                                .layer_norm_eps = c.layer_norm_eps,
                                                                .norm_first = c.norm_first}));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(c.hidden_dim, nn::LayerNormOptions{.eps = c.layer_norm_eps}));
    head = register_module("head", std::make_shared<nn::Linear>(c.hidden_dim + c.embedding_dim, c.vocab, gen));
  }

  // The fixture's computation; every intermediate output by the fixture's name for it.
  std::map<std::string, Tensor> forward(const Tensor& tokens) const {
    std::map<std::string, Tensor> out;
    out["embed"] = embed->forward(tokens);
    out["gru"] = gru->forward(out["embed"]).output;
    out["lstm"] = lstm->forward(out["gru"]).output;
    // seqgrad's encoder layer is batch_first; a time-major fixture goes through it transposed.
    out["encoder_layer"] = config_.batch_first ? encoder_layer->forward(out["embed"])
                                               : transpose(encoder_layer->forward(transpose(out["embed"], 0, 1)), 0, 1);
    out["head"] = head->forward(concat({norm->forward(out["lstm"]), out["encoder_layer"]}, -1));
    return out;
  }

  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::GRU> gru;
  std::shared_ptr<nn::LSTM> lstm;
  std::shared_ptr<nn::TransformerEncoderLayer> encoder_layer;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;

 private:
  TorchModulesConfig config_;
};

}  // namespace seqgrad::test_support
