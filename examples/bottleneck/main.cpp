// The attention bottleneck, measured: five encoder-decoders get the same training time on a task
// whose answer depends on every input token (copying or reversing random symbol sequences of 5 to
// 40 symbols), and their exact-sequence accuracy is tabulated by input length, as the BLEU-by-length
// figure of Bahdanau et al. (2014).
//
//   no context           the decoder sees the input only through the encoder's final state
//   mean context         ... and the plain average of all encoder states at every step
//   additive attention   ... and a learned weighting of the encoder states at every step
//   transformer encoder  self-attention blocks instead of the recurrence, additive attention
//   transformer          no recurrence at all: a Transformer encoder and decoder (causal
//                        self-attention, cross-attention to the encoder, MLP), trained in one
//                        pass over the target
//
// Writes the table (table.md), a plot of accuracy against length (accuracy_by_length.png) and the
// attention heatmap of one long test input (attention.png) into --out; those of an earlier run
// there are refused before anything is trained, unless --overwrite replaces them.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "copy_tasks.hpp"
#include "recipe.hpp"
#include "seqgrad/distributed/mpi.hpp"
#include "seqgrad/graph/atomic_file.hpp"
#include "seqgrad/nn/seq2seq/seq2seq.hpp"
#include "seqgrad/ops/backend.hpp"
#include "seqgrad/pictures/heatmap.hpp"
#include "seqgrad/pictures/plot.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
namespace pictures = seqgrad::pictures;
using namespace bottleneck;
namespace fs = std::filesystem;

namespace {

struct Contender {
  std::string name;
  EncoderKind encoder;
  ContextKind context;
  DecoderCell decoder = DecoderCell::gru;
};

struct Settings {
  SyntheticTask task = SyntheticTask::copy;
  double seconds = 120;
  std::size_t threads = 0, hidden = 128, batch = 64, train_size = 100000, test_size = 800;
  double lr = 3e-3;
  recipe::OptimizerFlags optimizer;
  std::size_t warmup = 100;
  std::uint64_t seed = 1;
  std::string precision = "f32";
  fs::path out = "runs/bottleneck";
  bool overwrite = false;
};

// The files the program writes into --out.
const std::vector<std::string> kOutputs = {"table.md", "accuracy_by_length.png", "attention.png"};

// Before anything is made or trained: --out names a folder (or a place for one), and none of the
// outputs is there already unless --overwrite replaces them.
void check_out(const Settings& s) {
  if (s.out.empty()) throw std::invalid_argument("--out: an empty path");
  std::error_code ec;
  if (fs::exists(s.out, ec) && !fs::is_directory(s.out, ec))
    throw std::invalid_argument("--out " + s.out.string() + ": a file, not a folder");
  for (const std::string& name : kOutputs) {
    const fs::path file = s.out / name;
    if (fs::is_directory(file, ec)) throw std::invalid_argument("--out: " + file.string() + " is a folder");
    if (fs::exists(file, ec) && !s.overwrite)
      throw std::invalid_argument("--out: " + file.string() + " exists (give --overwrite to replace the outputs)");
  }
}

ModelConfig config_for(const Contender& c, const Settings& s, std::size_t vocab) {
  ModelConfig m;
  m.src_vocab = m.tgt_vocab = vocab;
  m.embedding_dim = 64;
  m.hidden_dim = s.hidden;
  m.attention_dim = s.hidden;
  m.encoder = c.encoder;
  m.encoder_layers = c.encoder == EncoderKind::transformer ? 2 : 1;
  m.decoder = c.decoder;
  m.decoder_layers = c.decoder == DecoderCell::transformer ? 2 : 1;
  m.heads = 4;
  m.feedforward_dim = 2 * s.hidden;
  m.context = c.context;
  return m;
}

int run(Settings& s, const std::string& task);

}  // namespace

int main(int argc, char** argv) {
  seqgrad::distributed::print_only_on_root(*seqgrad::distributed::world());  // under mpirun: rank 0 prints
  CLI::App app{"The attention bottleneck: accuracy by input length of five encoder-decoders trained alike"};
  Settings s;
  std::string task = "copy";
  app.add_option("--task", task, "copy or reverse")->check(CLI::IsMember({"copy", "reverse"}));
  app.add_option("--seconds", s.seconds, "training time of each model")->check(recipe::real_in(0, 1e6, true))->capture_default_str();
  app.add_option("--threads", s.threads, "threads (0: every core)")->check(recipe::whole_in(0, 1024))->capture_default_str();
  app.add_option("--precision", s.precision, "matrix products in f32, or bf16 (bfloat16 operands, float32 sums)")
      ->check(CLI::IsMember({"f32", "bf16"}))->capture_default_str();
  app.add_option("--hidden", s.hidden, "GRU, attention and transformer size (a multiple of 4, the heads)")
      ->check(recipe::whole_in(4, 8192))->capture_default_str();
  app.add_option("--batch", s.batch, "examples per step")->check(recipe::whole_in(1, 65536))->capture_default_str();
  app.add_option("--lr", s.lr, "peak learning rate of the optimizer (reached after --warmup)")->check(recipe::real_in(0, 10, true))->capture_default_str();
  recipe::add_optimizer_options(app, s.optimizer);
  app.add_option("--warmup", s.warmup, "steps of linear learning-rate warm-up (then inverse square root decay)")
      ->check(recipe::whole_in(0, 100000000))->capture_default_str();
  app.add_option("--train-size", s.train_size, "training examples")->check(recipe::whole_in(1, 100000000))->capture_default_str();
  app.add_option("--test-size", s.test_size, "test examples")->check(recipe::whole_in(1, 10000000))->capture_default_str();
  app.add_option("--seed", s.seed, "seed of data, initialisation and batch order")->check(recipe::whole_in(0, std::uint64_t(1) << 62))->capture_default_str();
  app.add_option("--out", s.out, "where the table and pictures go")->capture_default_str();
  app.add_flag("--overwrite", s.overwrite, "replace the table and pictures of an earlier run in --out");
  recipe::add_version_flag(app, "bottleneck");
  if (const int code = recipe::parse(app, argc, argv, "bottleneck"); code >= 0) return code;
  if (s.hidden % 4 != 0) {
    std::fprintf(stderr, "bottleneck: --hidden: %zu is not a multiple of 4 (the transformer's heads)\n", s.hidden);
    return 2;
  }
  return recipe::guarded("bottleneck", [&] { return run(s, task); });
}

namespace {

int run(Settings& s, const std::string& task) {
  std::printf("seqgrad %s\n", seqgrad::backend_summary().c_str());
  s.task = task == "copy" ? SyntheticTask::copy : SyntheticTask::reverse;
  { const AutocastScope refused_here(parse_precision(s.precision, "--precision")); }  // before --out is made
  check_out(s);

  const SyntheticOptions data_options{.task = s.task, .alphabet = 20, .min_length = 5, .max_length = 40};
  fs::create_directories(s.out);  // before the data and the training: a bad --out fails at once
  const SyntheticData data = make_synthetic_split(s.train_size, s.test_size, data_options, s.seed);
  const Vocabulary vocab = synthetic_vocabulary(data_options);
  const std::vector<LengthBucket> buckets = {{5, 13}, {14, 22}, {23, 31}, {32, 40}};
  const std::vector<Contender> contenders = {{"no context", EncoderKind::gru, ContextKind::none},
                                             {"mean context", EncoderKind::gru, ContextKind::mean},
                                             {"additive attention", EncoderKind::gru, ContextKind::additive},
                                             {"transformer encoder", EncoderKind::transformer, ContextKind::additive},
                                             {"transformer", EncoderKind::transformer, ContextKind::additive, DecoderCell::transformer}};
  std::printf("task: %s random sequences of 5-40 symbols out of 20; %zu training / %zu test examples; %.0f s of "
              "training per model; %s products\n\n", task.c_str(), data.train.size(), data.test.size(), s.seconds,
              s.precision.c_str());

  std::vector<pictures::Series> curves;
  std::string table = "| model | steps | ";
  for (const auto& b : buckets) table += std::to_string(b.min_length) + "-" + std::to_string(b.max_length) + " | ";
  table += "all |\n|---|---|---|---|---|---|---|\n";
  for (const Contender& c : contenders) {
    Generator gen(s.seed);
    Seq2Seq model(config_for(c, s, vocab.size()), gen);
    TrainerOptions options;
    options.batch_size = s.batch;
    options.shard_size = std::max<std::size_t>(1, s.batch / 4);
    options.threads = s.threads;
    options.max_epochs = 1000;
    options.time_budget_seconds = s.seconds;
    options.optimizer = recipe::optimizer_options(s.optimizer, s.lr);
    options.warmup_steps = s.warmup;
    options.log_every_steps = 200;
    options.seed = s.seed;
    options.precision = parse_precision(s.precision, "--precision");
    options.group = seqgrad::distributed::world();  // the mpirun job's processes, or this one alone
    std::printf("== %s (%zu parameters)\n", c.name.c_str(), model.num_parameters());
    const TrainSummary summary = Trainer(model, data.train, {}, options).run();

    const Evaluation e = evaluate(model, data.test, 200, 45);
    BucketedAccuracy by_length(buckets);
    for (std::size_t i = 0; i < data.test.size(); ++i)
      by_length.add(data.test[i].source.size(), e.outputs[i].tokens == data.test[i].target);
    pictures::Series curve{c.name, {}, {}};
    char row[256];
    std::snprintf(row, sizeof row, "| %s | %zu | ", c.name.c_str(), summary.steps);
    table += row;
    for (const auto& r : by_length.rows()) {
      std::snprintf(row, sizeof row, "%.0f%% | ", 100 * r.accuracy());
      table += row;
      curve.x.push_back(0.5 * double(r.bucket.min_length + r.bucket.max_length));
      curve.y.push_back(100 * r.accuracy());
    }
    std::snprintf(row, sizeof row, "%.0f%% |\n", 100 * e.scores.accuracy());
    table += row;
    curves.push_back(curve);
    std::printf("%s: %zu steps, %.0f target tokens/s, exact accuracy %.1f%%\n\n", c.name.c_str(), summary.steps,
                summary.target_tokens_per_second, 100 * e.scores.accuracy());

    if (c.context == ContextKind::additive && c.encoder == EncoderKind::gru) {
      // The attention of one long test input: for copying, the bright cells run along the diagonal.
      std::size_t pick = 0;
      for (std::size_t i = 0; i < data.test.size(); ++i)
        if (data.test[i].source.size() >= 20 && data.test[i].source.size() <= 24) { pick = i; break; }
      const Hypothesis& h = e.outputs[pick];
      std::vector<std::string> x_labels = vocab.decode(data.test[pick].source), y_labels = vocab.decode(h.tokens);
      x_labels.push_back("</s>");
      if (h.finished) y_labels.push_back("</s>");
      std::vector<double> weights;
      for (std::size_t r = 0; r < y_labels.size(); ++r) weights.insert(weights.end(), h.attention[r].begin(), h.attention[r].end());
      pictures::write_attention_heatmap(s.out / "attention.png", weights, y_labels.size(), x_labels.size(), x_labels, y_labels,
                              {.title = "additive attention, " + task});
    }
  }
  std::printf("exact-sequence accuracy by input length (%s):\n\n%s\n", task.c_str(), table.c_str());
  seqgrad::write_file_atomically(s.out / "table.md", table, seqgrad::ExistingFile::replace);
  pictures::write_line_plot(s.out / "accuracy_by_length.png", curves,
                  {.title = "exact accuracy by input length (" + task + ")", .x_label = "input length",
                   .y_label = "exact accuracy %", .y_min = 0.0, .y_max = 100.0, .markers = true});
  std::printf("wrote %s, %s and %s\n", (s.out / "table.md").c_str(), (s.out / "accuracy_by_length.png").c_str(),
              (s.out / "attention.png").c_str());
  return 0;
}

}  // namespace
