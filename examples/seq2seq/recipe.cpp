#include "recipe.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <set>

#include "seqgrad/ops/backend.hpp"
#include "seqgrad/pictures/heatmap.hpp"
#include "seqgrad/pictures/plot.hpp"

namespace recipe {
namespace fs = std::filesystem;
using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;

namespace {

std::string number_text(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// The stop request of a training run, set by SIGINT or SIGTERM. A handler may touch only lock-free
// atomics (and async-signal-safe calls): it sets the flag; a second signal finds it set and ends
// the process the default way, so a stuck step can still be cut short.
std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int signal) {
  if (stop_requested.load()) {
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  stop_signal.store(signal);
  stop_requested.store(true);
}

// Installs the handler for the scope of a training run, and restores the default action after it
// (the evaluation that follows may be cut by Ctrl-C as usual). The handler runs on an alternate
// stack: on the interrupted thread's own stack its frame would overwrite what oneDNN's JIT kernels
// keep below the stack pointer, and the step in progress could corrupt the heap (the interrupt
// test failed 6 times in 85 before, 0 in 80 after; seqgrad's oneTBB workers block these signals,
// see seqgrad/graph/parallel.hpp).
class StopSignals {
 public:
  StopSignals() {
    stack_t alternate{};
    alternate.ss_sp = alternate_stack.data();
    alternate.ss_size = alternate_stack.size();
    sigaltstack(&alternate, &previous_stack_);
    set(on_stop_signal);
  }
  ~StopSignals() {
    set(SIG_DFL);
    sigaltstack(&previous_stack_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static void set(void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    // SA_RESTART: reads and writes in progress carry on; the trainer stops between steps.
    action.sa_flags = SA_RESTART | SA_ONSTACK;
    for (const int signal : {SIGINT, SIGTERM}) sigaction(signal, &action, nullptr);
  }
  static inline std::array<char, 1 << 16> alternate_stack{};  // the thread that trains (one per process)
  stack_t previous_stack_{};
};

}  // namespace

std::optional<double> finite_number(const std::string& text) {
  // Decimal notation only: std::stod also takes hexadecimal ("0x10") and leading blanks.
  if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string::npos) return std::nullopt;
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used == 0 || used != text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// CLI11's own checks let NaN through.
CLI::Validator real_in(double lo, double hi, bool lo_open) {
  const std::string range = std::string(lo_open ? "(" : "[") + number_text(lo) + ", " + number_text(hi) + "]";
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        const std::optional<double> parsed = finite_number(s);
        if (!parsed) return "'" + s + "' is not a finite number";
        const double v = *parsed;
        if (v < lo || v > hi || (lo_open && v == lo)) return s + " is outside " + range;
        return "";
      },
      "in " + range);
}

// A whole number in [lo, hi] (digits only: "-1" is refused, not wrapped around).
CLI::Validator whole_in(std::uint64_t lo, std::uint64_t hi) {
  const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos)
          return "'" + s + "' is not a whole number " + range;
        const std::uint64_t v = std::stoull(s);
        if (v < lo || v > hi) return s + " is outside " + range;
        return "";
      },
      "in " + range);
}

namespace {
// While a command line with --config is parsed the first time (to find the file and what the
// command line sets), the checks wait: the file may hold what they look at.
bool checks_deferred = false;
}  // namespace

void add_parse_check(CLI::App& cmd, std::function<void()> check) {
  static std::map<const CLI::App*, std::vector<std::function<void()>>> checks;  // nodes: stable addresses
  std::vector<std::function<void()>>& list = checks[&cmd];
  list.push_back(std::move(check));
  if (list.size() > 1) return;
  cmd.parse_complete_callback([&list] {
    if (checks_deferred) return;
    try {
      for (const auto& c : list) c();
    } catch (const std::invalid_argument& e) {
      throw CLI::ValidationError(e.what());
    }
  });
}

void add_model_options(CLI::App& cmd, ModelFlags& m, bool all) {
  if (all) {
    const auto layer_counts = whole_in(1, 16);
    auto* encoder = cmd.add_option("--encoder", m.encoder, "encoder: gru, lstm or transformer")->check(CLI::IsMember({"gru", "lstm", "transformer"}))->capture_default_str();
    cmd.add_option("--layers", m.layers, "encoder layers")->check(layer_counts)->capture_default_str();
    auto* unidirectional = cmd.add_flag("--unidirectional", m.unidirectional, "a one-directional RNN encoder (default: bidirectional)");
    cmd.add_option("--decoder", m.decoder, "decoder: gru, lstm (one cell, with --context) or transformer (blocks of causal self-attention, "
                                           "cross-attention to the encoder's states and an MLP)")
        ->check(CLI::IsMember({"gru", "lstm", "transformer"}))->capture_default_str();
    auto* decoder_layers = cmd.add_option("--decoder-layers", m.decoder_layers, "transformer decoder: its blocks")->check(layer_counts)->capture_default_str();
    auto* context = cmd.add_option("--context", m.context, "what a recurrent decoder sees of the input: none, mean, dot, scaled_dot, general, additive, multi_head")
        ->check(CLI::IsMember({"none", "mean", "dot", "scaled_dot", "general", "additive", "multi_head"}))->capture_default_str();
    auto* embedding = cmd.add_option("--embedding", m.embedding, "embedding size of the recurrent encoder and decoder (a transformer's is --hidden)")->check(whole_in(1, 4096))->capture_default_str();
    auto* attention = cmd.add_option("--attention", m.attention, "additive attention's size (0: --hidden)")->check(whole_in(0, 8192))->capture_default_str();
    auto* heads = cmd.add_option("--heads", m.heads, "heads of the transformers' attention and of multi_head context (must divide --hidden)")->check(whole_in(1, 64))->capture_default_str();
    auto* ff = cmd.add_option("--ff,--feedforward", m.feedforward, "the transformers' MLP width (0: 2 x --hidden)")->check(whole_in(0, 32768))->capture_default_str();
    auto* tie = cmd.add_flag("--tie-embeddings", m.tie_embeddings, "transformer decoder: its output layer is its input embedding (Press & Wolf)");
    auto* norm_first = cmd.add_flag("--norm-first", m.norm_first, "transformers: pre-LN blocks and a final LayerNorm (default: post-LN, the original)");
    auto* positions = cmd.add_option("--positions", m.positions, "transformers: sinusoidal or learned positions")
        ->check(CLI::IsMember({"sinusoidal", "learned"}))->capture_default_str();
    auto* max_positions = cmd.add_option("--max-positions", m.max_positions, "learned positions: the longest sequence they cover")
        ->check(whole_in(1, 100000))->capture_default_str();
    (void)encoder;
    // An option the chosen model would silently ignore is refused: a mistyped model is better
    // stopped at once than found out after a long run.
    add_parse_check(cmd, [=, &m] {
      const bool t_enc = m.encoder == "transformer", t_dec = m.decoder == "transformer";
      const std::string model = "--encoder " + m.encoder + " --decoder " + m.decoder +
                                (t_dec ? std::string() : " --context " + m.context);
      const auto refuse_unless = [&](const CLI::Option* option, bool used, const std::string& who_uses_it) {
        if (option->count() > 0 && !used)
          throw std::invalid_argument(option->get_name() + " is a setting of " + who_uses_it + "; " + model + " does not use it");
      };
      refuse_unless(unidirectional, !t_enc, "the recurrent encoders");
      refuse_unless(decoder_layers, t_dec, "--decoder transformer");
      refuse_unless(tie, t_dec, "--decoder transformer");
      refuse_unless(context, !t_dec, "the recurrent decoders (a transformer decoder attends through its cross-attention)");
      refuse_unless(embedding, !t_enc || !t_dec, "the recurrent encoder and decoder");
      refuse_unless(attention, !t_dec && m.context == "additive", "--context additive");
      refuse_unless(heads, t_enc || t_dec || m.context == "multi_head", "the transformers and --context multi_head");
      refuse_unless(ff, t_enc || t_dec, "the transformers");
      refuse_unless(norm_first, t_enc || t_dec, "the transformers");
      refuse_unless(positions, t_enc || t_dec, "the transformers");
      refuse_unless(max_positions, (t_enc || t_dec) && m.positions == "learned", "--positions learned");
    });
  }
  cmd.add_option("--hidden", m.hidden, "RNN, attention and decoder size; a transformer's d_model")->check(whole_in(1, 8192))->capture_default_str();
  cmd.add_option("--dropout", m.dropout, "dropout on embeddings and the output layer's input (inside a transformer's blocks)")->check(real_in(0, 0.95))->capture_default_str();
}

void add_train_options(CLI::App& cmd, TrainFlags& t) {
  cmd.add_option("--minutes", t.minutes, "training time budget in minutes (validation excluded); when it ends before --epochs, the schedule's end (cosine, cool-down) moves onto it")->check(real_in(0, 1e6, true))->capture_default_str();
  cmd.add_option("--save-every", t.save_every,
                 "also save last.ckpt within an epoch every this many minutes (0: only at validations); "
                 "Ctrl-C (SIGINT) or SIGTERM saves it after the current step, exits with 130 or 143, and --resume continues; "
                 "a second Ctrl-C stops at once")
      ->check(real_in(0, 1e6))->capture_default_str();
  cmd.add_option("--epochs", t.epochs, "at most this many epochs")->check(whole_in(1, 1000000))->capture_default_str();
  cmd.add_option("--batch", t.batch, "examples per step")->check(whole_in(1, 65536))->capture_default_str();
  cmd.add_option("--shard", t.shard, "examples per data-parallel shard (fixed, so results do not depend on --threads)")->check(whole_in(1, 65536))->capture_default_str();
  cmd.add_option("--threads", t.threads, "threads (0: every core)")->check(whole_in(0, 1024))->capture_default_str();
  cmd.add_option("--precision", t.precision, "matrix products in f32, or bf16 (bfloat16 operands, float32 sums; weights stay f32)")
      ->check(CLI::IsMember({"f32", "bf16"}))->capture_default_str();
  cmd.add_option("--lr", t.lr, "peak learning rate of the optimizer (reached after --warmup)")->check(real_in(0, 10, true))->capture_default_str();
  add_optimizer_options(cmd, t.optimizer);
  cmd.add_option("--warmup", t.warmup, "steps of linear warm-up from 0 to --lr (0: none), then --decay")->check(whole_in(0, 100000000))->capture_default_str();
  cmd.add_option("--decay", t.decay, "after the warm-up: inverse-sqrt (constant without --warmup), or cosine down to --min-lr at the end of --epochs")
      ->check(CLI::IsMember({"inverse-sqrt", "cosine"}))->capture_default_str();
  cmd.add_option("--min-lr", t.min_lr, "cosine: the rate at the end")->check(real_in(0, 10))->capture_default_str();
  cmd.add_option("--cooldown", t.cooldown, "over this last part of the run (--epochs, or --minutes when that ends first) the rate falls linearly to 0")->check(real_in(0, 0.99))->capture_default_str();
  cmd.add_option("--label-smoothing", t.label_smoothing, "weight of the uniform distribution in the loss's targets")->check(real_in(0, 0.99))->capture_default_str();
  cmd.add_option("--clip", t.clip, "gradient norm clipping (0: none)")->check(real_in(0, 1e6))->capture_default_str();
  cmd.add_option("--teacher-forcing", t.teacher_forcing,
                 "scheduled sampling: probability of feeding the true token, per step: constant:1, linear:K,C,MIN, exponential:K, inverse_sigmoid:K")
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            try {
              TeacherForcingSchedule::parse(s);
              return "";
            } catch (const std::exception& e) {
              return e.what();
            }
          },
          "SCHEDULE"))
      ->capture_default_str();
  cmd.add_flag("--sample-feed", t.sample_feed, "scheduled sampling feeds a sample of the model's distribution, not its argmax");
  cmd.add_option("--patience", t.patience, "stop after this many validations without a better dev score (0: never)")->check(whole_in(0, 1000000))->capture_default_str();
  cmd.add_option("--seed", t.seed, "seed of initialisation, batch order, dropout and sampling")->check(whole_in(0, std::uint64_t(1) << 62))->capture_default_str();
  auto* resume = cmd.add_flag("--resume", t.resume, "continue the run folder's run from its last checkpoint");
  cmd.add_flag("--overwrite", t.overwrite, "replace the run that the run folder holds")->excludes(resume);
}

void add_optimizer_options(CLI::App& cmd, OptimizerFlags& o) {
  cmd.add_option("--optimizer", o.optimizer, "sgd, adam or adamw (decoupled weight decay)")
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}))->capture_default_str();
  cmd.add_option_function<double>("--weight-decay", [&o](const double& v) { o.weight_decay = v; },
                                  "L2 penalty (sgd, adam) or decoupled decay (adamw); default 0, adamw 0.01")
      ->check(real_in(0, 10));
  cmd.add_option_function<double>("--momentum", [&o](const double& v) { o.momentum = v; }, "sgd only: momentum (default 0)")
      ->check(real_in(0, 0.999));
  cmd.add_flag("--nesterov", o.nesterov, "sgd only: Nesterov momentum (needs --momentum > 0)");
  // After parsing, so that the error is a parse error like the options' own (one line, see --help).
  add_parse_check(cmd, [&o] { optimizer_options(o, 1.0); });
}

nn::OptimizerOptions optimizer_options(const OptimizerFlags& o, double lr) {
  const nn::OptimizerKind kind = nn::parse_optimizer_kind(o.optimizer);
  const bool sgd = kind == nn::OptimizerKind::sgd;
  if (!sgd && o.momentum)
    throw std::invalid_argument("--momentum is a setting of --optimizer sgd; " + o.optimizer + " does not use it");
  if (!sgd && o.nesterov)
    throw std::invalid_argument("--nesterov is a setting of --optimizer sgd; " + o.optimizer + " does not use it");
  if (o.nesterov && !(o.momentum.value_or(0.0) > 0.0))
    throw std::invalid_argument("--nesterov needs --momentum > 0");
  nn::OptimizerOptions options{.kind = kind, .lr = lr, .weight_decay = o.weight_decay.value_or(nn::default_weight_decay(kind))};
  if (sgd) {
    options.momentum = o.momentum.value_or(0.0);
    options.nesterov = o.nesterov;
  }
  return options;
}

ModelConfig model_config(const ModelFlags& m, std::size_t src_vocab, std::size_t tgt_vocab) {
  ModelConfig c;
  c.src_vocab = src_vocab;
  c.tgt_vocab = tgt_vocab;
  c.embedding_dim = m.embedding;
  c.hidden_dim = m.hidden;
  c.attention_dim = m.attention > 0 ? m.attention : m.hidden;
  c.dropout = m.dropout;
  c.encoder = parse_encoder_kind(m.encoder);
  c.encoder_layers = m.layers;
  c.bidirectional = !m.unidirectional && c.encoder != EncoderKind::transformer;
  c.context = parse_context_kind(m.context);
  c.decoder = parse_decoder_cell(m.decoder);
  c.decoder_layers = m.decoder_layers;
  c.tie_embeddings = m.tie_embeddings;
  c.norm_first = m.norm_first;
  c.positions = parse_position_kind(m.positions);
  c.max_positions = m.max_positions;
  c.heads = m.heads;
  c.feedforward_dim = m.feedforward > 0 ? m.feedforward : 2 * m.hidden;
  const bool has_heads = c.encoder == EncoderKind::transformer || c.decoder == DecoderCell::transformer ||
                         c.context == ContextKind::multi_head;
  if (has_heads && c.hidden_dim % c.heads != 0)
    throw std::invalid_argument("--heads " + std::to_string(c.heads) + " does not divide --hidden " + std::to_string(c.hidden_dim));
  return c;
}

StartMode start_mode(const TrainFlags& t) {
  return t.resume ? StartMode::resume : t.overwrite ? StartMode::overwrite : StartMode::fresh;
}

TrainSummary train_in_folder(const RunFolder& run, const RunSpec& spec, std::vector<Example> train,
                             std::vector<Example> dev, const TrainFlags& t) {
  if (train.empty()) throw std::runtime_error("no training examples");
  if (dev.empty()) throw std::runtime_error("no validation examples");
  if (spec.model.positions == PositionKind::learned) {
    // A learned position table covers max_positions: a longer source, target or decoded output
    // would fail mid-run, so the run is refused before it starts.
    std::size_t needed = t.max_decode + 1;  // decoded tokens and <eos>
    for (const std::vector<Example>* part : {&train, &dev})
      for (const Example& e : *part) needed = std::max({needed, e.source.size(), e.target.size() + 1});
    if (spec.model.max_positions < needed)
      throw std::invalid_argument("--max-positions " + std::to_string(spec.model.max_positions) + " is fewer than the " +
                                  std::to_string(needed) + " positions the data and the decoding limit (" +
                                  std::to_string(t.max_decode) + " tokens) need");
  }
  const StartMode mode = start_mode(t);
  const std::shared_ptr<nn::ProcessGroup> group = t.group ? t.group : nn::single_process();
  RunSpec bound = spec;  // the run's configuration records its optimizer
  bound.optimizer = optimizer_options(t.optimizer, t.lr);
  bound.precision = parse_precision(t.precision, "--precision");
  { const AutocastScope refused_here(*bound.precision); }  // bf16 on a CPU without it: refused before any write
  run.check_start(mode, bound);  // nothing is written before this passes
  group->barrier();             // under MPI: every process has checked the folder before one writes into it

  Generator gen(t.seed);
  Seq2Seq model(spec.model, gen);
  std::printf("model: %zu parameters; %zu training pairs, %zu validation sources; vocabularies of %zu and %zu symbols\n",
              model.num_parameters(), train.size(), dev.size(), spec.source_vocab.size() - kNumSpecials,
              spec.target_vocab.size() - kNumSpecials);
  TrainerOptions options;
  options.batch_size = t.batch;
  options.shard_size = t.shard;
  options.threads = t.threads;
  options.max_epochs = t.epochs;
  options.time_budget_seconds = t.minutes * 60;
  options.save_every_seconds = t.save_every * 60;
  options.stop_request = &stop_requested;
  options.optimizer = *bound.optimizer;
  options.warmup_steps = t.warmup;
  options.lr_decay = t.decay == "cosine" ? LrDecay::cosine : LrDecay::inverse_sqrt;
  options.min_lr = t.min_lr;
  options.cooldown_fraction = t.cooldown;
  options.label_smoothing = t.label_smoothing;
  options.clip_norm = t.clip;
  options.teacher_forcing = TeacherForcingSchedule::parse(t.teacher_forcing);
  options.sample_feed = t.sample_feed;
  options.patience = t.patience;
  options.log_every_steps = t.log_every;
  options.max_decode_length = t.max_decode;
  options.score_names = t.score_names;
  options.dev_scores = t.dev_scores;
  options.seed = t.seed;
  options.precision = *bound.precision;
  options.checkpoint_dir = run.checkpoint_dir();
  options.resume = t.resume;
  options.metrics_file = run.metrics_file();
  options.checkpoint_metadata = run.binding(bound);
  options.group = group;
  Trainer trainer(model, std::move(train), std::move(dev), options);  // checks the options, writes nothing

  if (group->is_root()) run.start(mode, bound);  // one process writes the run folder, as it writes checkpoints
  group->barrier();
  if (t.cooldown > 0 || options.lr_decay == LrDecay::cosine)
    std::printf("the learning rate reaches %g at step %zu, the end of epoch %zu (sooner if --minutes ends first: the schedule then ends with it)\n",
                trainer.lr_at(trainer.planned_steps()), trainer.planned_steps(), t.epochs);
  TrainSummary s;
  {
    const StopSignals stop_signals;
    s = trainer.run();
  }
  // A signal after the trainer's last look still stops the program; its work is saved (last.ckpt is
  // written at every end of a run).
  if (stop_requested.load() && !options.checkpoint_dir.empty()) s.stop_reason = StopReason::interrupted;
  std::printf("trained %zu steps (%zu epochs) in %.1f min, %.0f target tokens/s; stopped by %s\n", s.steps,
              s.epochs_completed, s.train_seconds / 60, s.target_tokens_per_second, to_string(s.stop_reason));

  std::vector<pictures::Series> curves;
  for (const MetricSeries& m : read_metrics_series(run.metrics_file(), "step", {"train_loss", "dev_loss"}))
    curves.push_back({m.name, m.x, m.y});
  if (group->is_root() && !curves.empty() && !curves[0].x.empty()) {
    // (the pictures library writes atomically)
    pictures::write_line_plot(run.loss_plot(), curves, {.title = "training", .x_label = "step", .y_label = "loss"});
    std::printf("loss curve: %s\n", run.loss_plot().string().c_str());
  }
  return s;
}

int interrupted_status(const std::string& program, const RunFolder& run, const TrainSummary& summary) {
  if (summary.stop_reason != StopReason::interrupted) {
    // A budget or a step limit that ends the run before its first validation leaves no model.
    if (!fs::exists(run.best_checkpoint()))
      throw std::runtime_error("training stopped (" + std::string(to_string(summary.stop_reason)) + ") at step " +
                               std::to_string(summary.steps) + ", before it saved a model to evaluate: give it more time (--minutes) or steps");
    return -1;
  }
  const int signal = stop_signal.load();
  std::fprintf(stderr, "%s: interrupted by %s at step %zu; %s saved; continue with --resume\n", program.c_str(),
               signal == SIGTERM ? "SIGTERM" : "SIGINT", summary.steps, (run.checkpoint_dir() / "last.ckpt").string().c_str());
  return 128 + (signal == SIGTERM ? SIGTERM : SIGINT);
}

namespace {

bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// The kind of a reason, for counting: the quoted text and the numbers of one report ("the word
// 'a.' has ...", "a word of 70 letters ...") become '...' and N, so that the summary counts
// 1,193 lines under one reason instead of listing each. Digits that belong to a name ("UTF-8",
// "UTF-16", "x86") are no number and stay.
std::string reason_kind(const std::string& reason) {
  std::string kind;
  for (std::size_t i = 0; i < reason.size(); ++i) {
    const char c = reason[i];
    if (c == '\'') {
      const std::size_t close = reason.find('\'', i + 1);
      if (close != std::string::npos) {
        kind += "'...'";
        i = close;
        continue;
      }
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      const bool in_name = i > 0 && (is_letter(reason[i - 1]) || (reason[i - 1] == '-' && i > 1 && is_letter(reason[i - 2])));
      std::size_t end = i;
      while (end + 1 < reason.size() && std::isdigit(static_cast<unsigned char>(reason[end + 1]))) ++end;
      kind += in_name ? reason.substr(i, end - i + 1) : "N";
      i = end;
      continue;
    }
    kind += c;
  }
  return kind;
}

}  // namespace

IssueSink IssueReport::sink() {
  return [this](const ParseIssue& issue) { add(issue.source, issue.line, issue.message, issue.text); };
}

void IssueReport::add(const std::string& source, std::size_t line, const std::string& reason, const std::string& text,
                      std::size_t lines) {
  if (total_ < shown_) {
    std::string shown = text.size() > 60 ? text.substr(0, 60) + "..." : text;
    std::fprintf(stderr, "%s: %s:%zu: %s%s%s\n", program_.c_str(), source.c_str(), line, reason.c_str(),
                 shown.empty() ? "" : ": ", shown.c_str());
  }
  total_ += lines;
  by_reason_[reason_kind(reason)] += lines;
}

void IssueReport::print_summary(const std::string& file) const {
  if (total_ == 0) return;
  std::string reasons;
  for (const auto& [reason, count] : by_reason_) reasons += (reasons.empty() ? "" : "; ") + std::to_string(count) + " " + reason;
  std::fprintf(stderr, "%s: skipped %zu lines of %s (%s)\n", program_.c_str(), total_, file.c_str(), reasons.c_str());
}

std::vector<Entry> drop_long(std::vector<Entry> entries, std::size_t max_length, IssueReport& report, const std::string& file) {
  std::vector<Entry> kept;
  for (Entry& e : entries) {
    bool long_target = false;
    for (const Symbols& t : e.targets) long_target |= t.size() > max_length;
    if (e.source.size() > max_length || long_target) {
      report.add(file, e.line, "longer than --max-length " + std::to_string(max_length) + " symbols", "", e.targets.size());
      continue;
    }
    kept.push_back(std::move(e));
  }
  return kept;
}

std::string safe_file_name(const std::string& text, const std::string& extension) {
  if (text.empty()) throw std::invalid_argument("safe_file_name: empty text has no file name");
  std::string name;
  bool changed = text.size() > 64;
  for (unsigned char c : text) {
    if (name.size() >= 64) break;
    const bool ok = (c < 128 && std::isalnum(c)) || c == '-' || c == '_';
    name += ok ? char(c) : '_';
    changed |= !ok;
  }
  if (changed) name += "-" + content_hash(text).substr(0, 8);
  return name + extension;
}

std::string shortened(const std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a character
  return text.substr(0, end) + "...";
}

HeatmapResult write_heatmap(const std::string& program, const std::string& what, const fs::path& file,
                            const Hypothesis& h, std::vector<std::string> x_labels, std::vector<std::string> y_labels,
                            const std::string& title) {
  x_labels.push_back("</s>");
  if (h.finished) y_labels.push_back("</s>");
  std::vector<double> weights;
  if (h.attention.size() < y_labels.size()) return HeatmapResult::no_attention;  // context none or mean
  for (std::size_t r = 0; r < y_labels.size(); ++r) {
    if (h.attention[r].size() != x_labels.size()) return HeatmapResult::no_attention;
    weights.insert(weights.end(), h.attention[r].begin(), h.attention[r].end());
  }
  try {
    // A title is a caption: a long input's whole text would make the picture wider than its cells.
    pictures::write_attention_heatmap(file, weights, y_labels.size(), x_labels.size(), x_labels, y_labels,
                                      {.title = shortened(title, 100)});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s: no heatmap: %s\n", program.c_str(), what.c_str(), e.what());
    return HeatmapResult::failed;
  }
  return HeatmapResult::written;
}

std::optional<std::size_t> checked_head(const ModelConfig& model, std::optional<std::size_t> head) {
  if (!head) return head;
  const bool has_heads = model.decoder == DecoderCell::transformer || model.context == ContextKind::multi_head;
  if (!has_heads)
    throw std::invalid_argument("--head " + std::to_string(*head) + ": the model's attention (" +
                                (model.decoder == DecoderCell::transformer ? std::string("transformer") : to_string(model.context)) +
                                ") has no heads (a transformer decoder or --context multi_head has)");
  if (*head >= model.heads)
    throw std::invalid_argument("--head " + std::to_string(*head) + " is not one of the model's " + std::to_string(model.heads) +
                                " heads (0 to " + std::to_string(model.heads - 1) + ")");
  return head;
}

CLI::Validator existing_file_or_stdin() {
  return CLI::Validator(
      [](std::string& file) { return file == "-" ? std::string() : CLI::ExistingFile(file); },
      "FILE or - (standard input)");
}

void add_version_flag(CLI::App& app, const std::string& program) {
  app.set_version_flag("--version", [program] {
    return program + " (seqgrad " SEQGRAD_VERSION ")\n" + seqgrad::backend_summary();
  });
}

void add_config_options(CLI::App& cmd) {
  cmd.add_option("--config", "read options from a TOML or INI file: one 'name = value' a line, the long options' names "
                             "without '--' (flags: true or false); an option on the command line wins over the file")
      ->check(CLI::ExistingFile)->configurable(false);
  cmd.add_flag("--dump-config")->description("print the options this command would use as such a file, and exit")->configurable(false);
}

namespace {

// The command-line arguments that a config file gives `cmd`: its options that the command line did
// not set. An unknown name, a section other than the command's, a name given twice, more values
// than the option takes, or a flag that is neither true nor false is a parse error naming the file
// and the name.
std::vector<std::string> config_arguments(const CLI::App& cmd, const std::string& file, const std::string& program) {
  const std::vector<CLI::ConfigItem> items = CLI::ConfigTOML().from_file(file);
  std::vector<std::string> args;
  std::set<std::string> given;
  for (const CLI::ConfigItem& item : items) {
    if (item.name == "++" || item.name == "--") continue;  // CLI11's marks of a section's start and end
    const std::string where = "--config " + file + ": '" + item.fullname() + "'";
    if (!item.parents.empty() && item.parents != std::vector<std::string>{cmd.get_name()})
      throw CLI::ValidationError(where + " is not in the [" + cmd.get_name() + "] section or at the top");
    std::string name = item.name;
    std::replace(name.begin(), name.end(), '_', '-');
    const CLI::Option* option = cmd.get_option_no_throw("--" + name);
    if (option == nullptr || !option->get_configurable())
      throw CLI::ValidationError(where + " is not an option of " + program + " " + cmd.get_name());
    if (!given.insert(name).second) throw CLI::ValidationError(where + " is given twice");
    if (item.inputs.size() > 1 && item.inputs.size() > std::size_t(std::max(1, option->get_expected_max())))
      throw CLI::ValidationError(where + " takes one value, not " + std::to_string(item.inputs.size()));
    if (option->count() > 0) continue;  // the command line wins
    if (item.inputs.empty() || (item.inputs.size() == 1 && item.inputs[0].empty())) continue;  // no value: the default
    if (option->get_expected_max() == 0) {  // a flag
      const std::string& v = item.inputs[0];
      if (v != "true" && v != "false")
        throw CLI::ValidationError(where + " is a flag: true or false, not '" + v + "'");
      if (v == "true") args.push_back("--" + name);
      continue;
    }
    args.push_back("--" + name);
    args.insert(args.end(), item.inputs.begin(), item.inputs.end());
  }
  return args;
}

// A value as TOML writes it: numbers and true/false bare, anything else quoted.
std::string toml_value(const std::string& v) {
  if (v == "true" || v == "false" || finite_number(v)) return v;
  std::string quoted = "\"";
  for (char c : v) quoted += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return quoted + "\"";
}

// --dump-config: each option with its description; the ones given (on the command line or in
// --config) as settings, the others as comments holding their defaults, so that the text read back
// with --config makes the same choices and no option the model would ignore.
std::string config_text(const CLI::App& cmd) {
  std::string out = "[" + cmd.get_name() + "]\n";
  for (const CLI::Option* option : cmd.get_options()) {
    if (!option->get_configurable() || option->get_lnames().empty()) continue;
    const std::string name = option->get_lnames().front();
    out += "\n# " + option->get_description() + "\n";
    if (option->count() == 0) {
      out += "# " + name + " = " + (option->get_expected_max() == 0 ? "false" : toml_value(option->get_default_str())) + "\n";
      continue;
    }
    std::vector<std::string> values = option->results();
    if (option->get_expected_max() == 0) values = {"true"};
    out += name + " = " + toml_value(values.empty() ? "" : values.back()) + "\n";
  }
  return out;
}

}  // namespace

int parse(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    // With --config, a first parse finds the file and what the command line sets; what it would
    // refuse (a required option, an option's partner, a check) may come from the file, so it is
    // judged by the second parse, over the command line followed by the file's options.
    bool with_config = false;
    for (int i = 1; i < argc; ++i)
      with_config = with_config || std::string(argv[i]) == "--config" || std::string(argv[i]).rfind("--config=", 0) == 0;
    if (!with_config) {
      app.parse(argc, argv);
    } else {
      checks_deferred = true;
      std::exception_ptr first;
      try {
        app.parse(argc, argv);
      } catch (const CLI::Success&) {
        checks_deferred = false;
        throw;  // --help, --version
      } catch (const CLI::ParseError&) {
        first = std::current_exception();
      }
      checks_deferred = false;
      std::vector<std::string> args(argv + 1, argv + argc);
      bool found = false;
      for (CLI::App* cmd : app.get_subcommands()) {
        const CLI::Option* config = cmd->get_option_no_throw("--config");
        if (config == nullptr || config->count() == 0) continue;
        const std::vector<std::string> extra = config_arguments(*cmd, config->as<std::string>(), program);
        args.insert(args.end(), extra.begin(), extra.end());
        found = true;
        break;  // one command per invocation
      }
      if (!found && first) std::rethrow_exception(first);
      std::reverse(args.begin(), args.end());  // CLI11 takes them last first
      app.clear();
      app.parse(args);
    }
    for (CLI::App* cmd : app.get_subcommands()) {
      const CLI::Option* dump = cmd->get_option_no_throw("--dump-config");
      if (dump != nullptr && dump->count() > 0) {
        std::printf("%s", config_text(*cmd).c_str());
        return 0;
      }
    }
    return -1;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "%s: %s (see --help)\n", program.c_str(), what.c_str());
    const int code = e.get_exit_code();
    return code > 0 && code < 128 ? code : 2;
  }
}

int guarded(const std::string& program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory\n", program.c_str());
  } catch (const std::exception& e) {
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "%s: %s\n", program.c_str(), what.c_str());
  }
  return 1;
}

std::size_t count_unknown(const seqgrad::nn::seq2seq::Symbols& symbols, const seqgrad::nn::seq2seq::Vocabulary& vocab) {
  std::size_t n = 0;
  for (const auto& s : symbols) n += !vocab.contains(s);
  return n;
}

std::vector<std::string> read_lines(const std::string& file, const std::string& option) {
  const std::string who = option.empty() ? file : option + " " + file;
  std::vector<std::string> lines;
  std::string line;
  const auto read = [&](std::istream& in) {
    while (std::getline(in, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (lines.empty()) seqgrad::nn::seq2seq::drop_byte_order_mark(line);
      lines.push_back(line);
    }
  };
  if (file.empty()) throw std::runtime_error(option + (option.empty() ? "" : ": ") + "an empty file name (give a file, or - for standard input)");
  if (file == "-") {
    read(std::cin);
    return lines;
  }
  std::error_code ec;
  if (!fs::exists(file, ec)) throw std::runtime_error(who + ": no such file");
  if (!fs::is_regular_file(file, ec) && !fs::is_fifo(file, ec)) throw std::runtime_error(who + ": not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(who + ": cannot be read");
  read(in);
  return lines;
}

}  // namespace recipe
