#include "seqgrad/nn/seq2seq/run_folder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "seqgrad/graph/atomic_file.hpp"

namespace seqgrad::nn::seq2seq {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string read_whole(const fs::path& file, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(file, ec)) throw std::runtime_error(file.string() + ": missing (" + what + ")");
  if (!fs::is_regular_file(file, ec)) throw std::runtime_error(file.string() + ": not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot be read");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string config_dtype(DType d) {
  switch (d) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    default: throw std::invalid_argument("ModelConfig: dtype must be f32 or f64");
  }
}

// The configuration object `what` ("model", "optimizer") parsed from `text`, and a reader of its
// required fields that names a missing one.
json config_object(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) throw std::runtime_error(std::string("the ") + what + " configuration is not a JSON object");
  return j;
}
const json& required_field(const json& j, const char* what, const char* name) {
  const auto it = j.find(name);
  if (it == j.end()) throw std::runtime_error(std::string(what) + " field \"" + name + "\" is missing");
  return *it;
}

}  // namespace

std::string content_hash(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string model_config_to_json(const ModelConfig& c) {
  const json j = {{"src_vocab", c.src_vocab},
                  {"tgt_vocab", c.tgt_vocab},
                  {"embedding_dim", c.embedding_dim},
                  {"hidden_dim", c.hidden_dim},
                  {"attention_dim", c.attention_dim},
                  {"encoder", to_string(c.encoder)},
                  {"encoder_layers", c.encoder_layers},
                  {"bidirectional", c.bidirectional},
                  {"decoder", to_string(c.decoder)},
                  {"context", to_string(c.context)},
                  {"heads", c.heads},
                  {"feedforward_dim", c.feedforward_dim},
                  {"dropout", c.dropout},
                  {"decoder_layers", c.decoder_layers},
                  {"tie_embeddings", c.tie_embeddings},
                  {"norm_first", c.norm_first},
                  {"positions", to_string(c.positions)},
                  {"max_positions", c.max_positions},
                  {"pad_id", c.pad_id},
                  {"dtype", config_dtype(c.dtype)}};
  return j.dump();
}

ModelConfig model_config_from_json(const std::string& text) {
  const json j = config_object(text, "model");
  const auto field = [&](const char* name) -> const json& { return required_field(j, "model", name); };
  const auto size = [&](const char* name, std::size_t min) {
    const json& v = field(name);
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < min || v.get<std::uint64_t>() > (1ull << 32))
      throw std::runtime_error(std::string("model field \"") + name + "\" must be a whole number >= " +
                               std::to_string(min) + ", got " + v.dump());
    return static_cast<std::size_t>(v.get<std::uint64_t>());
  };
  const auto text_of = [&](const char* name) {
    const json& v = field(name);
    if (!v.is_string()) throw std::runtime_error(std::string("model field \"") + name + "\" must be a string, got " + v.dump());
    return v.get<std::string>();
  };
  const auto flag = [&](const char* name) {
    const json& v = field(name);
    if (!v.is_boolean()) throw std::runtime_error(std::string("model field \"") + name + "\" must be true or false, got " + v.dump());
    return v.get<bool>();
  };
  ModelConfig c;
  c.src_vocab = size("src_vocab", kNumSpecials);
  c.tgt_vocab = size("tgt_vocab", kNumSpecials);
  c.embedding_dim = size("embedding_dim", 1);
  c.hidden_dim = size("hidden_dim", 1);
  c.attention_dim = size("attention_dim", 1);
  c.encoder_layers = size("encoder_layers", 1);
  c.heads = size("heads", 1);
  c.feedforward_dim = size("feedforward_dim", 1);
  try {
    c.encoder = parse_encoder_kind(text_of("encoder"));
    c.decoder = parse_decoder_cell(text_of("decoder"));
    c.context = parse_context_kind(text_of("context"));
    // The transformer decoder's fields came later: a run made before them has their defaults.
    if (j.contains("positions")) c.positions = parse_position_kind(text_of("positions"));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  c.bidirectional = flag("bidirectional");
  if (j.contains("decoder_layers")) c.decoder_layers = size("decoder_layers", 1);
  if (j.contains("tie_embeddings")) c.tie_embeddings = flag("tie_embeddings");
  if (j.contains("norm_first")) c.norm_first = flag("norm_first");
  if (j.contains("max_positions")) c.max_positions = size("max_positions", 1);
  const json& dropout = field("dropout");
  if (!dropout.is_number() || !(dropout.get<double>() >= 0.0 && dropout.get<double>() < 1.0))
    throw std::runtime_error("model field \"dropout\" must be a number in [0, 1), got " + dropout.dump());
  c.dropout = dropout.get<double>();
  const json& pad = field("pad_id");
  if (!pad.is_number_integer() || pad.get<std::int64_t>() != kPad)
    throw std::runtime_error("model field \"pad_id\" must be " + std::to_string(kPad) + ", got " + pad.dump());
  c.pad_id = kPad;
  const std::string dtype = text_of("dtype");
  if (dtype != "f32" && dtype != "f64") throw std::runtime_error("model field \"dtype\" must be f32 or f64, got " + dtype);
  c.dtype = dtype == "f32" ? DType::f32 : DType::f64;
  const json known = json::parse(model_config_to_json(c));  // every field, each always written
  for (const auto& [name, value] : j.items())
    if (!known.contains(name))
      throw std::runtime_error("model field \"" + name + "\" is not a setting of the model (a typo, or a newer seqgrad's)");
  return c;
}

std::string optimizer_options_to_json(const nn::OptimizerOptions& o) {
  json j = {{"kind", nn::to_string(o.kind)}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
  if (o.kind == nn::OptimizerKind::sgd) {
    j["momentum"] = o.momentum;
    j["nesterov"] = o.nesterov;
  } else {
    j["beta1"] = o.beta1;
    j["beta2"] = o.beta2;
    j["eps"] = o.eps;
  }
  return j.dump();  // nlohmann writes each double in its shortest exact form
}

nn::OptimizerOptions optimizer_options_from_json(const std::string& text) {
  const json j = config_object(text, "optimizer");
  const auto field = [&](const char* name) -> const json& { return required_field(j, "optimizer", name); };
  const json& kind = field("kind");
  if (!kind.is_string()) throw std::runtime_error("optimizer field \"kind\" must be a string, got " + kind.dump());
  nn::OptimizerOptions o;
  try {
    o.kind = nn::parse_optimizer_kind(kind.get<std::string>());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  const auto number = [&](const char* name, double& to) {
    const json& v = field(name);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw std::runtime_error(std::string("optimizer field \"") + name + "\" must be a finite number, got " + v.dump());
    to = v.get<double>();
  };
  const bool sgd = o.kind == nn::OptimizerKind::sgd;
  const std::vector<std::string> names = sgd ? std::vector<std::string>{"kind", "lr", "weight_decay", "momentum", "nesterov"}
                                             : std::vector<std::string>{"kind", "lr", "weight_decay", "beta1", "beta2", "eps"};
  for (const auto& [name, _] : j.items())
    if (std::find(names.begin(), names.end(), name) == names.end())
      throw std::runtime_error("optimizer field \"" + name + "\" is not a setting of " + nn::to_string(o.kind));
  number("lr", o.lr);
  number("weight_decay", o.weight_decay);
  if (sgd) {
    number("momentum", o.momentum);
    const json& nesterov = field("nesterov");
    if (!nesterov.is_boolean())
      throw std::runtime_error("optimizer field \"nesterov\" must be true or false, got " + nesterov.dump());
    o.nesterov = nesterov.get<bool>();
  } else {
    number("beta1", o.beta1);
    number("beta2", o.beta2);
    number("eps", o.eps);
  }
  return o;
}

RunFolder::RunFolder(fs::path dir, RunLayout layout) : dir_(std::move(dir)), layout_(std::move(layout)) {
  if (dir_.empty()) throw std::invalid_argument("run folder: the path is empty");
}

std::string RunFolder::config_json(const RunSpec& spec) const {
  json settings = json::object();
  for (const auto& [k, v] : spec.settings) settings[k] = v;
  json j = {{"format", "seqgrad.run"},
            {"version", 1},
            {"model", json::parse(model_config_to_json(spec.model))},
            {"settings", settings}};
  if (spec.optimizer) j["optimizer"] = json::parse(optimizer_options_to_json(*spec.optimizer));
  if (spec.precision) j["precision"] = to_string(*spec.precision);
  return j.dump(2) + "\n";
}

RunSpec RunFolder::read_spec() const {
  const fs::path file = config_file();
  if (!fs::exists(file))
    throw std::runtime_error("no trained run in " + dir_.string() + " (no config.json): train one there first");
  const std::string text = read_whole(file, "the run's configuration");
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [&](const std::string& why) { return std::runtime_error(file.string() + ": " + why); };
  if (j.is_discarded()) throw bad(text.empty() ? "empty (not JSON)" : "not valid JSON");
  if (!j.is_object() || j.value("format", json()) != "seqgrad.run")
    throw bad("not a seqgrad run configuration (no \"format\": \"seqgrad.run\")");
  if (j.value("version", json()) != 1) throw bad("unsupported version " + j.value("version", json()).dump() + " (this reads 1)");
  if (!j.contains("model") || !j.contains("settings") || !j["settings"].is_object())
    throw bad("needs a \"model\" object and a \"settings\" object");
  RunSpec spec;
  try {
    spec.model = model_config_from_json(j["model"].dump());
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
  if (j.contains("optimizer")) {
    try {
      spec.optimizer = optimizer_options_from_json(j["optimizer"].dump());
    } catch (const std::exception& e) {
      throw bad(e.what());
    }
  }
  if (j.contains("precision")) {
    const json& p = j["precision"];
    if (!p.is_string() || (p != "f32" && p != "bf16")) throw bad("\"precision\" must be \"f32\" or \"bf16\", got " + p.dump());
    spec.precision = parse_precision(p.get<std::string>(), "precision");
  }
  for (const auto& [k, v] : j["settings"].items()) {
    if (!v.is_string()) throw bad("setting \"" + k + "\" must be a string, got " + v.dump());
    spec.settings[k] = v.get<std::string>();
  }
  const auto vocab = [&](const fs::path& f) {
    try {
      return Vocabulary::from_json(read_whole(f, "a vocabulary of the run"));
    } catch (const std::exception& e) {
      const std::string what = e.what();
      throw std::runtime_error(what.starts_with(f.string()) ? what : f.string() + ": " + what);
    }
  };
  if (spec.settings.contains("subwords")) spec.subword_model = read_whole(subword_model_file(), "the run's subword model");
  spec.source_vocab = vocab(source_vocab_file());
  spec.target_vocab = vocab(target_vocab_file());
  if (spec.source_vocab.size() != spec.model.src_vocab)
    throw std::runtime_error(source_vocab_file().string() + ": holds " + std::to_string(spec.source_vocab.size()) +
                             " symbols, but config.json's src_vocab is " + std::to_string(spec.model.src_vocab));
  if (spec.target_vocab.size() != spec.model.tgt_vocab)
    throw std::runtime_error(target_vocab_file().string() + ": holds " + std::to_string(spec.target_vocab.size()) +
                             " symbols, but config.json's tgt_vocab is " + std::to_string(spec.model.tgt_vocab));
  return spec;
}

namespace {

// "<file>: does not match the checkpoint ..." for the first file of the folder whose hash differs
// from the one the checkpoint carries ("" when every hash it carries matches).
std::string edited_file(const CheckpointMetadata& binding, const CheckpointMetadata& metadata, const fs::path& dir,
                        const fs::path& checkpoint) {
  for (const auto& [key, hash] : binding) {
    const auto it = metadata.find(key);
    if (it != metadata.end() && it->second != hash)
      return (dir / key.substr(4)).string() + ": does not match the checkpoint " + checkpoint.string() +
             " (edited or replaced after training; hash " + hash + ", the checkpoint's " + it->second + ")";
  }
  return "";
}

}  // namespace

CheckpointMetadata RunFolder::binding(const RunSpec& spec) const {
  RunSpec bound = spec;
  bound.precision.reset();  // a resume may change it: the hash is of config.json without it
  CheckpointMetadata metadata = {{"run.config.json", content_hash(config_json(bound))},
          {"run." + layout_.source_vocab, content_hash(spec.source_vocab.to_json())},
          {"run." + layout_.target_vocab, content_hash(spec.target_vocab.to_json())}};
  if (spec.subword_model) metadata["run." + layout_.subword_model] = content_hash(*spec.subword_model);
  return metadata;
}

void RunFolder::verify_binding(const CheckpointMetadata& metadata, const fs::path& checkpoint, const RunSpec& spec) const {
  const CheckpointMetadata expected = binding(spec);
  for (const auto& [key, hash] : expected)
    if (!metadata.contains(key))
      throw std::runtime_error(checkpoint.string() + ": carries no hash of " + (dir_ / key.substr(4)).string() +
                               " (written by another program or an older seqgrad), so the folder cannot be checked against it");
  if (const std::string edited = edited_file(expected, metadata, dir_, checkpoint); !edited.empty())
    throw std::runtime_error(edited);
}

RunFolder::Loaded RunFolder::load(const fs::path& checkpoint) const {
  Loaded l;
  l.spec = read_spec();
  std::error_code ec;
  if (!fs::exists(checkpoint, ec))
    throw std::runtime_error("no checkpoint " + checkpoint.string() + " in the run folder (did training save one?)");
  if (!fs::is_regular_file(checkpoint, ec)) throw std::runtime_error(checkpoint.string() + ": not a regular file");
  Generator gen(0);
  l.model = std::make_unique<Seq2Seq>(l.spec.model, gen);
  LoadedCheckpoint loaded;
  try {
    loaded = load_checkpoint(checkpoint, *l.model);
  } catch (const std::runtime_error& e) {
    // Tensors that do not fit the model config.json describes (another hidden_dim, say): when the
    // checkpoint's hash of config.json differs from the file, the file is the likely culprit.
    std::string edited;
    try {
      edited = edited_file(binding(l.spec), safetensors::read(checkpoint).metadata, dir_, checkpoint);
    } catch (const std::exception&) {
      // the checkpoint itself is bad: load_checkpoint's error says how
    }
    if (!edited.empty())
      throw std::runtime_error(edited + "; the model it describes does not fit the checkpoint's tensors: " + e.what());
    throw;
  }
  verify_binding(loaded.metadata, checkpoint, l.spec);
  for (const auto& [name, p] : l.model->named_parameters())
    for (double v : p.to_vector())
      if (!std::isfinite(v))
        throw std::runtime_error(checkpoint.string() + ": parameter " + name + " holds a non-finite value (" +
                                 std::to_string(v) + ")");
  l.model->eval();
  return l;
}

namespace {

std::string describe_difference(const std::string& stored, const std::string& wanted) {
  const json a = json::parse(stored), b = json::parse(wanted);
  std::string out;
  const auto add = [&](const std::string& text) { out += (out.empty() ? "" : ", ") + text; };
  for (const auto& [k, v] : b.items())
    if (!a.contains(k) || a[k] != v)
      add("\"" + k + "\" is " + (a.contains(k) ? a[k].dump() : "absent") + " in the run, " + v.dump() + " in this command");
  for (const auto& [k, v] : a.items())
    if (!b.contains(k)) add("\"" + k + "\" is " + v.dump() + " in the run, absent in this command");
  return out.empty() ? "they differ" : out;
}

std::string vocab_difference(const Vocabulary& stored, const Vocabulary& wanted) {
  if (stored.size() != wanted.size())
    return "the run's holds " + std::to_string(stored.size()) + " symbols, this data's " + std::to_string(wanted.size());
  for (std::size_t i = 0; i < stored.size(); ++i)
    if (stored.symbols()[i] != wanted.symbols()[i])
      return "id " + std::to_string(i) + " is \"" + stored.symbols()[i] + "\" in the run, \"" + wanted.symbols()[i] +
             "\" in this data";
  return "they differ";
}

}  // namespace

std::vector<fs::path> RunFolder::run_files() const {
  return {config_file(),     source_vocab_file(), target_vocab_file(), subword_model_file(),
          best_checkpoint(), last_checkpoint(),   metrics_file(),      loss_plot()};
}

bool RunFolder::is_run_configuration(const fs::path& file) {
  const json j = json::parse(read_whole(file, "the run's configuration"), nullptr, /*allow_exceptions=*/false);
  return j.is_object() && j.value("format", json()) == "seqgrad.run";
}

void RunFolder::check_start(StartMode mode, const RunSpec& spec) const {
  std::error_code ec;
  const bool exists = fs::exists(dir_, ec);
  if (exists && !fs::is_directory(dir_, ec)) throw std::runtime_error("run folder " + dir_.string() + ": not a directory");
  if (spec.model.src_vocab != spec.source_vocab.size() || spec.model.tgt_vocab != spec.target_vocab.size())
    throw std::invalid_argument("run folder: the model's vocabulary sizes differ from its vocabularies'");
  if (spec.subword_model.has_value() != spec.settings.contains("subwords"))
    throw std::invalid_argument("run folder: a subword model goes with the setting \"subwords\" and only with it");
  switch (mode) {
    case StartMode::fresh: {
      if (!exists) return;
      std::string names;
      std::size_t count = 0;
      for (const auto& entry : fs::directory_iterator(dir_)) {
        if (count < 3) names += (count ? ", " : "") + entry.path().filename().string();
        ++count;
      }
      if (count > 0)
        throw std::runtime_error("run folder " + dir_.string() + " is not empty (" + names + (count > 3 ? ", ..." : "") +
                                 "): pass --resume to continue its run or --overwrite to replace it");
      return;
    }
    case StartMode::overwrite: {
      // --overwrite replaces a run, and only a run: everything start() removes is checked first, so
      // that a refusal leaves the folder as it was.
      if (!exists || fs::is_empty(dir_)) return;
      const auto refuse = [](const fs::path& p, const std::string& why) {
        return std::runtime_error("--overwrite: " + p.string() + " " + why + "; nothing was removed");
      };
      // A run's config.json, or (a start killed before writing it) nothing but the run's own names.
      if (fs::exists(config_file())) {
        if (!fs::is_regular_file(config_file()) || !is_run_configuration(config_file()))
          throw refuse(config_file(), "is not a seqgrad run's configuration: choose another folder or empty it");
      } else {
        std::set<fs::path> own{checkpoint_dir().filename(), heatmap_dir().filename()};
        for (const fs::path& f : run_files()) own.insert(*f.lexically_relative(dir_).begin());  // checkpoints/... too
        for (const auto& e : fs::directory_iterator(dir_))
          if (!own.contains(e.path().filename()) && !is_atomic_temporary(e.path().filename()))
            throw refuse(dir_, "holds no seqgrad run to replace (no config.json, and " + e.path().filename().string() +
                                   " is not a run's): choose another folder or empty it");
      }
      for (const fs::path& f : run_files())
        if (fs::exists(f) && !fs::is_regular_file(f)) throw refuse(f, "is not the file the run wrote there");
      for (const fs::path& d : {checkpoint_dir(), heatmap_dir()})
        if (fs::exists(d) && !fs::is_directory(d)) throw refuse(d, "is not the run's folder");
      if (fs::is_directory(heatmap_dir()))
        for (const auto& e : fs::directory_iterator(heatmap_dir()))
          if (!e.is_regular_file() || (e.path().extension() != ".png" && !is_atomic_temporary(e.path().filename())))
            throw refuse(e.path(), "is not a heat map the run drew");
      return;
    }
    case StartMode::resume: {
      if (!exists || !fs::exists(config_file()))
        throw std::runtime_error("--resume: " + dir_.string() + " holds no run to resume (no config.json)");
      if (!fs::exists(last_checkpoint()))
        throw std::runtime_error("--resume: nothing to resume in " + dir_.string() + ": no " +
                                 (fs::path("checkpoints") / "last.ckpt").string() +
                                 " (the run saved none yet); start afresh with --overwrite");
      const RunSpec stored = read_spec();
      if (!(stored.source_vocab == spec.source_vocab))
        throw std::runtime_error(source_vocab_file().string() + ": differs from the vocabulary of this data (" +
                                 vocab_difference(stored.source_vocab, spec.source_vocab) + ")");
      if (!(stored.target_vocab == spec.target_vocab))
        throw std::runtime_error(target_vocab_file().string() + ": differs from the vocabulary of this data (" +
                                 vocab_difference(stored.target_vocab, spec.target_vocab) + ")");
      if (stored.subword_model && spec.subword_model && *stored.subword_model != *spec.subword_model)
        throw std::runtime_error(subword_model_file().string() +
                                 ": differs from the subword model trained on this data; resume with the run's data or use --overwrite");
      const std::string a = model_config_to_json(stored.model), b = model_config_to_json(spec.model);
      if (a != b)
        throw std::runtime_error(config_file().string() + ": this command's model differs from the run's (" +
                                 describe_difference(a, b) + "); resume with the run's options or use --overwrite");
      if (stored.optimizer != spec.optimizer) {
        const auto text = [](const std::optional<nn::OptimizerOptions>& o) {
          return o ? optimizer_options_to_json(*o) : std::string("{}");
        };
        throw std::runtime_error(config_file().string() + ": this command's optimizer differs from the run's (" +
                                 (stored.optimizer ? describe_difference(text(stored.optimizer), text(spec.optimizer))
                                                   : std::string("the run records none: an older seqgrad trained it")) +
                                 "); resume with the run's optimizer options or use --overwrite");
      }
      if (stored.settings != spec.settings) {
        json sa = json::object(), sb = json::object();
        for (const auto& [k, v] : stored.settings) sa[k] = v;
        for (const auto& [k, v] : spec.settings) sb[k] = v;
        throw std::runtime_error(config_file().string() + ": this command's settings differ from the run's (" +
                                 describe_difference(sa.dump(), sb.dump()) + ")");
      }
      load(last_checkpoint());  // the checkpoint loads and is bound to these files
      return;
    }
  }
}

void RunFolder::start(StartMode mode, const RunSpec& spec) const {
  fs::create_directories(checkpoint_dir());
  for (const fs::path& d : {dir_, checkpoint_dir(), heatmap_dir()}) remove_atomic_temporaries(d);
  if (mode == StartMode::resume) {  // config.json records the precision the run continues in
    if (spec.precision && read_spec().precision != spec.precision)
      write_file_atomically(config_file(), config_json(spec), ExistingFile::replace);
    return;
  }
  if (mode == StartMode::overwrite) {  // what check_start() found to be the run's
    for (const fs::path& f : run_files()) fs::remove(f);
    fs::remove_all(heatmap_dir());
  }
  // Replaced when they exist: check_start() allowed this start (an overwrite, or a folder without them).
  if (spec.subword_model) write_file_atomically(subword_model_file(), *spec.subword_model, ExistingFile::replace);
  write_file_atomically(source_vocab_file(), spec.source_vocab.to_json(), ExistingFile::replace);
  write_file_atomically(target_vocab_file(), spec.target_vocab.to_json(), ExistingFile::replace);
  write_file_atomically(config_file(), config_json(spec), ExistingFile::replace);
}

}  // namespace seqgrad::nn::seq2seq
