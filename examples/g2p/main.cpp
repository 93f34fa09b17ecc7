// Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary: spell a word, hear its phonemes.
//
//   g2p train   [--minutes 15] [--threads N] [--keep-stress] [--out runs/g2p] ...
//   g2p predict --out runs/g2p WORD...      (phonemes of any word, and its attention heatmap)
//   g2p evaluate --out runs/g2p             (phoneme and word error rates on the test split)
//
// The model: a bidirectional GRU encoder over the word's letters, additive (Bahdanau) attention,
// a GRU decoder over phonemes. The split is fixed by the word's crc32 (see cmudict.hpp);
// alternate pronunciations are extra correct answers (and extra training pairs).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cmudict.hpp"
#include "seqgrad/distributed/mpi.hpp"
#include "seqgrad/nn/seq2seq/seq2seq.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/pictures/heatmap.hpp"
#include "seqgrad/pictures/plot.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
using namespace seqgrad::pictures;
using namespace g2p;
namespace fs = std::filesystem;

namespace {

struct RunFiles {
  fs::path dir;
  fs::path config() const { return dir / "config.json"; }
  fs::path letters() const { return dir / "letters.json"; }
  fs::path phonemes() const { return dir / "phonemes.json"; }
  fs::path best() const { return dir / "checkpoints" / "best.ckpt"; }
  fs::path metrics() const { return dir / "metrics.jsonl"; }
};

nlohmann::json config_json(const ModelConfig& c, bool keep_stress) {
  return {{"src_vocab", c.src_vocab}, {"tgt_vocab", c.tgt_vocab}, {"embedding_dim", c.embedding_dim},
          {"hidden_dim", c.hidden_dim}, {"attention_dim", c.attention_dim}, {"encoder", to_string(c.encoder)},
          {"encoder_layers", c.encoder_layers}, {"bidirectional", c.bidirectional},
          {"context", to_string(c.context)}, {"dropout", c.dropout}, {"keep_stress", keep_stress}};
}

ModelConfig config_from_json(const nlohmann::json& j) {
  ModelConfig c;
  c.src_vocab = j.at("src_vocab");
  c.tgt_vocab = j.at("tgt_vocab");
  c.embedding_dim = j.at("embedding_dim");
  c.hidden_dim = j.at("hidden_dim");
  c.attention_dim = j.at("attention_dim");
  c.encoder = parse_encoder_kind(j.at("encoder"));
  c.encoder_layers = j.at("encoder_layers");
  c.bidirectional = j.at("bidirectional");
  c.context = parse_context_kind(j.at("context"));
  c.dropout = j.at("dropout");
  return c;
}

SplitEntries load_dictionary(const fs::path& file, bool keep_stress) {
  if (!fs::exists(file))
    throw std::runtime_error("g2p: " + file.string() + " not found; run scripts/fetch_cmudict.sh first");
  std::size_t issues = 0;
  const ReadResult read = read_cmudict(file, {.keep_stress = keep_stress, .on_issue = [&](const ParseIssue&) { ++issues; }});
  std::printf("read %zu words from %s (%zu lines skipped as not words of letters and apostrophes)\n",
              read.entries.size(), file.string().c_str(), read.skipped_lines);
  return split_entries(read.entries);
}

// The trained model with its vocabularies, as `train` left them in the run folder.
struct Loaded {
  Vocabulary letters, phonemes;
  ModelConfig config;
  std::unique_ptr<Seq2Seq> model;
  bool keep_stress = false;
};

Loaded load_run(const RunFiles& run) {
  Loaded l;
  std::ifstream in(run.config());
  if (!in) throw std::runtime_error("g2p: no model in " + run.dir.string() + " (run `g2p train` first)");
  const nlohmann::json j = nlohmann::json::parse(in);
  l.config = config_from_json(j);
  l.keep_stress = j.at("keep_stress");
  l.letters = Vocabulary::load_json(run.letters());
  l.phonemes = Vocabulary::load_json(run.phonemes());
  Generator gen(0);
  l.model = std::make_unique<Seq2Seq>(l.config, gen);
  nn::load_checkpoint(run.best(), *l.model);
  l.model->eval();
  return l;
}

void report(const char* split, const Evaluation& e) {
  std::printf("%s: %zu words  WER %.2f%%  PER %.2f%%\n", split, e.scores.items, 100 * e.scores.word_error_rate(),
              100 * e.scores.phoneme_error_rate());
}

struct TrainSettings {
  double minutes = 15, lr = 2e-3, dropout = 0.0, cooldown = 0.0, label_smoothing = 0.0;
  std::size_t threads = 0, hidden = 256, batch = 64, shard = 32, epochs = 100, warmup = 0, beam = 4;
  std::uint64_t seed = 1;
  std::string decay = "inverse-sqrt";
  bool keep_stress = false, resume = false;
};

int train(const fs::path& data, const RunFiles& run, const TrainSettings& t) {
  const bool keep_stress = t.keep_stress;
  const SplitEntries split = load_dictionary(data, keep_stress);
  std::printf("split: %zu train / %zu dev / %zu test words\n", split.train.size(), split.dev.size(), split.test.size());
  const Vocabulary letters = Vocabulary::build(source_sequences(split.train));
  const Vocabulary phonemes = Vocabulary::build(target_sequences(split.train));
  const std::vector<Example> train = training_examples(split.train, letters, phonemes);
  const std::vector<Example> dev = evaluation_examples(split.dev, letters, phonemes);

  ModelConfig config;
  config.src_vocab = letters.size();
  config.tgt_vocab = phonemes.size();
  config.embedding_dim = 64;
  config.hidden_dim = t.hidden;
  config.attention_dim = t.hidden;
  config.dropout = t.dropout;
  config.encoder = EncoderKind::gru;
  config.bidirectional = true;
  config.context = ContextKind::additive;
  fs::create_directories(run.dir);
  std::ofstream(run.config()) << config_json(config, keep_stress).dump(2) << "\n";
  letters.save_json(run.letters());
  phonemes.save_json(run.phonemes());

  Generator gen(t.seed);
  Seq2Seq model(config, gen);
  std::printf("model: %zu parameters; %zu training pairs; %zu letters, %zu phonemes\n", model.num_parameters(),
              train.size(), letters.size() - kNumSpecials, phonemes.size() - kNumSpecials);
  TrainerOptions options;
  options.batch_size = t.batch;
  options.shard_size = t.shard;
  options.threads = t.threads;
  options.max_epochs = t.epochs;
  options.time_budget_seconds = t.minutes * 60;
  options.lr = t.lr;
  options.warmup_steps = t.warmup;
  options.lr_decay = t.decay == "cosine" ? LrDecay::cosine : LrDecay::inverse_sqrt;
  options.cooldown_fraction = t.cooldown;
  options.label_smoothing = t.label_smoothing;
  options.clip_norm = 1.0;
  options.log_every_steps = 100;
  options.max_decode_length = 40;
  options.seed = t.seed;
  options.checkpoint_dir = run.dir / "checkpoints";
  options.resume = t.resume;
  options.metrics_file = run.metrics();
  options.group = seqgrad::distributed::world();  // the mpirun job's processes, or this one alone
  Trainer trainer(model, train, dev, options);
  if (t.cooldown > 0 || options.lr_decay == LrDecay::cosine)
    std::printf("the learning rate reaches %g at step %zu, the end of epoch %zu (if --minutes allows)\n",
                trainer.lr_at(trainer.planned_steps()), trainer.planned_steps(), t.epochs);
  const TrainSummary s = trainer.run();
  std::printf("trained %zu steps (%zu epochs) in %.1f min, %.0f target tokens/s; stopped by %s\n", s.steps,
              s.epochs_completed, s.train_seconds / 60, s.target_tokens_per_second, to_string(s.stop_reason));

  // The best checkpoint on dev, scored on test.
  Loaded best = load_run(run);
  report(("test (beam " + std::to_string(t.beam) + ")").c_str(),
         evaluate(*best.model, evaluation_examples(split.test, letters, phonemes), 256, 40, t.beam));
  std::vector<Series> curves;
  for (const MetricSeries& m : read_metrics_series(run.metrics(), "step", {"train_loss", "dev_loss"}))
    curves.push_back({m.name, m.x, m.y});
  if (!curves.empty() && !curves[0].x.empty()) {
    write_line_plot(run.dir / "loss.png", curves, {.title = "G2P training", .x_label = "step", .y_label = "loss"});
    std::printf("loss curve: %s\n", (run.dir / "loss.png").string().c_str());
  }
  return 0;
}

int evaluate_run(const fs::path& data, const RunFiles& run, std::size_t beam) {
  Loaded l = load_run(run);
  const SplitEntries split = load_dictionary(data, l.keep_stress);
  report("dev", evaluate(*l.model, evaluation_examples(split.dev, l.letters, l.phonemes), 256, 40, beam));
  report("test", evaluate(*l.model, evaluation_examples(split.test, l.letters, l.phonemes), 256, 40, beam));
  return 0;
}

int predict(const RunFiles& run, const std::vector<std::string>& words, std::size_t beam) {
  Loaded l = load_run(run);
  const fs::path heatmaps = run.dir / "heatmaps";
  fs::create_directories(heatmaps);
  for (std::string word : words) {
    for (char& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    Symbols letters;
    for (char ch : word) letters.emplace_back(1, ch);
    TokenIds ids = l.letters.encode(letters);
    ids.push_back(kEos);  // the encoder reads up to its end-of-sequence symbol
    const Tensor src = Tensor::from_indices(ids, {1, ids.size()});
    const Tensor len = Tensor::from_indices({static_cast<std::int64_t>(ids.size())}, {1});
    const Hypothesis h = beam_search(*l.model, src, len, {.max_length = 40, .beam_width = beam})[0];
    const Symbols out = l.phonemes.decode(h.tokens);
    std::string phones;
    for (const auto& p : out) phones += (phones.empty() ? "" : " ") + p;
    // Heatmap: input letters (and <eos>) across, output phonemes (and <eos>) down.
    std::vector<std::string> x_labels(letters.begin(), letters.end()), y_labels(out.begin(), out.end());
    x_labels.push_back("</s>");
    if (h.finished) y_labels.push_back("</s>");
    std::vector<double> weights;
    for (std::size_t r = 0; r < y_labels.size(); ++r) weights.insert(weights.end(), h.attention[r].begin(), h.attention[r].end());
    const fs::path png = heatmaps / (word + ".png");
    write_attention_heatmap(png, weights, y_labels.size(), x_labels.size(), x_labels, y_labels,
                            {.title = word + " -> " + phones});
    std::printf("%-16s %-40s %s\n", word.c_str(), phones.c_str(), png.string().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  seqgrad::distributed::print_only_on_root(*seqgrad::distributed::world());  // under mpirun: rank 0 prints
  CLI::App app{"Grapheme-to-phoneme conversion with attention on the CMU Pronouncing Dictionary"};
  app.require_subcommand(1);
  std::string out = "runs/g2p", data = "data/cache/cmudict/index.js";
  app.add_option("--out", out, "run folder (model, vocabularies, checkpoints, metrics, pictures)");
  app.add_option("--data", data, "the dictionary's index.js (scripts/fetch_cmudict.sh fetches it)");

  auto* train_cmd = app.add_subcommand("train", "train on the train split, validate on dev, score the best on test");
  TrainSettings t;
  train_cmd->add_option("--minutes", t.minutes, "training time budget (validation excluded)");
  train_cmd->add_option("--threads", t.threads, "threads (0: every core)");
  train_cmd->add_option("--hidden", t.hidden, "GRU and attention size");
  train_cmd->add_option("--batch", t.batch, "examples per step");
  train_cmd->add_option("--shard", t.shard, "examples per data-parallel shard (fixed, so results do not depend on --threads)")
      ->check(CLI::PositiveNumber);
  train_cmd->add_option("--lr", t.lr, "Adam learning rate");
  train_cmd->add_option("--warmup", t.warmup, "steps of linear warm-up from 0 to --lr (0: none), then --decay");
  train_cmd->add_option("--decay", t.decay, "after the warm-up: inverse-sqrt (constant without --warmup), or cosine down to 0 at the end of --epochs")
      ->check(CLI::IsMember({"inverse-sqrt", "cosine"}));
  train_cmd->add_option("--cooldown", t.cooldown, "over this last part of --epochs the rate falls linearly to 0")
      ->check(CLI::Range(0.0, 0.99));
  train_cmd->add_option("--dropout", t.dropout, "dropout on embeddings and the output layer's input");
  train_cmd->add_option("--label-smoothing", t.label_smoothing, "weight of the uniform distribution in the loss's targets")
      ->check(CLI::Range(0.0, 0.99));
  train_cmd->add_option("--epochs", t.epochs, "at most this many epochs");
  train_cmd->add_option("--beam", t.beam, "beam width of the final test scoring");
  train_cmd->add_option("--seed", t.seed, "seed of initialisation and batch order");
  train_cmd->add_flag("--keep-stress", t.keep_stress, "keep the vowels' stress digits (AH0 rather than AH)");
  train_cmd->add_flag("--resume", t.resume, "continue from the run folder's last checkpoint");

  auto* predict_cmd = app.add_subcommand("predict", "phonemes of words (any words) and their attention heatmaps");
  std::vector<std::string> words;
  std::size_t beam = 4;
  predict_cmd->add_option("words", words, "words to pronounce")->required();
  predict_cmd->add_option("--beam", beam, "beam width");

  auto* evaluate_cmd = app.add_subcommand("evaluate", "word and phoneme error rates of a trained model on dev and test");
  evaluate_cmd->add_option("--beam", beam, "beam width (1: greedy)");
  app.set_version_flag("--version", [] { return "seqgrad " + seqgrad::backend_summary(); });
  CLI11_PARSE(app, argc, argv);
  std::printf("seqgrad %s\n", seqgrad::backend_summary().c_str());

  try {
    const RunFiles run{out};
    if (*train_cmd) return train(data, run, t);
    if (*predict_cmd) return predict(run, words, beam);
    return evaluate_run(data, run, beam);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "g2p: %s\n", e.what());
    return 1;
  }
}
