#pragma once
// What the seq2seq and g2p programs share: the model's and the trainer's command-line options (each
// validated by CLI11 as it is parsed, ranges in --help), training into a run folder (validated
// before anything is written), the readers' reports as the user sees them, file names made from
// user text, and the pictures (every picture call of both programs is in recipe.cpp).
#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "seqgrad/nn/process_group.hpp"
#include "seqgrad/nn/seq2seq/seq2seq.hpp"
#include "seqgrad/nn/seq2seq/run_folder.hpp"

namespace recipe {

namespace sq = seqgrad::nn::seq2seq;

struct ModelFlags {
  std::string encoder = "gru", context = "additive", decoder = "gru", positions = "sinusoidal";
  std::size_t layers = 1, embedding = 64, hidden = 256, attention = 0 /* 0: hidden */, heads = 4, feedforward = 0 /* 0: 2 x hidden */;
  std::size_t decoder_layers = 1, max_positions = 256;
  bool unidirectional = false, tie_embeddings = false, norm_first = false;
  double dropout = 0.0;
};

// --optimizer --weight-decay --momentum --nesterov (the learning rate is the caller's --lr).
struct OptimizerFlags {
  std::string optimizer = "adam";
  std::optional<double> weight_decay;  // not given: the optimizer's default (adamw 0.01, else 0)
  std::optional<double> momentum;      // sgd only; not given: 0
  bool nesterov = false;               // sgd only, with --momentum > 0
};

struct TrainFlags {
  double minutes = 15;
  double save_every = 5;  // minutes between saves of last.ckpt within an epoch (0: only at validations)
  std::size_t epochs = 100, batch = 64, shard = 32, threads = 0, warmup = 0, patience = 0, log_every = 100, max_decode = 40;
  double lr = 2e-3, cooldown = 0.0, min_lr = 0.0, label_smoothing = 0.0, clip = 1.0;
  std::string decay = "inverse-sqrt", teacher_forcing = "constant:1", precision = "f32";
  bool sample_feed = false, resume = false, overwrite = false;
  OptimizerFlags optimizer;
  std::uint64_t seed = 1;
  // How the validation lines name the dev scores (seq2seq: exact-match accuracy; g2p: WER and PER).
  sq::ScoreNames score_names = sq::ScoreNames::wer_per;
  // The validations' scores from the decoded outputs (a subword run's on its text); null: on token ids.
  std::function<sq::SequenceScores(const sq::Evaluation&)> dev_scores;
  // The processes that train together (under mpirun: seqgrad::distributed::world()); null: this one alone.
  std::shared_ptr<seqgrad::nn::ProcessGroup> group;
};

// Validators that, unlike CLI11's own, refuse NaN and "-1" for unsigned options; they state their
// range in --help.
// The whole of `text` as a finite number (no NaN, no infinity, nothing after it); nullopt otherwise.
std::optional<double> finite_number(const std::string& text);
CLI::Validator real_in(double lo, double hi, bool lo_open = false);  // a finite number in [lo, hi] ((lo, hi] when lo_open)
CLI::Validator whole_in(std::uint64_t lo, std::uint64_t hi);         // digits only, in [lo, hi]

// Adds --encoder --layers --unidirectional --decoder --decoder-layers --context --embedding --hidden
// --attention --heads --ff --tie-embeddings --norm-first --positions --max-positions --dropout (all:
// `all_model_options`; else only --hidden and --dropout). Once `cmd` is parsed, an option that the
// chosen model does not use (--heads with a GRU encoder and additive attention) is a parse error
// naming it.
void add_model_options(CLI::App& cmd, ModelFlags& m, bool all_model_options);
// A check that runs once `cmd` is parsed; its std::invalid_argument becomes a parse error (one line,
// like the options' own). CLI11 keeps one such callback per command: every check goes through here.
void add_parse_check(CLI::App& cmd, std::function<void()> check);
// Adds --minutes --save-every --epochs --batch --shard --threads --lr, the optimizer's options, --warmup --decay
// --cooldown --min-lr --label-smoothing --clip --teacher-forcing --sample-feed --patience --seed
// --resume --overwrite --precision.
void add_train_options(CLI::App& cmd, TrainFlags& t);
// Adds --optimizer --weight-decay --momentum --nesterov; once `cmd` is parsed, a flag that the chosen
// optimizer does not use (--momentum with adam) is a parse error naming it.
void add_optimizer_options(CLI::App& cmd, OptimizerFlags& o);
// The optimizer the flags choose, with learning rate `lr`; throws std::invalid_argument naming the
// option that the chosen optimizer does not use or that needs another (--nesterov without --momentum).
seqgrad::nn::OptimizerOptions optimizer_options(const OptimizerFlags& o, double lr);

sq::ModelConfig model_config(const ModelFlags& m, std::size_t src_vocab, std::size_t tgt_vocab);
sq::StartMode start_mode(const TrainFlags& t);

// Checks the run folder for this start (writing nothing), then starts it, trains, prints the
// summary and draws the loss curve (loss.png). While it trains, SIGINT or SIGTERM asks the trainer
// to stop after its current step and save last.ckpt (stop reason `interrupted`, also when the signal
// came after the trainer's last look); a second one ends the process at once.
sq::TrainSummary train_in_folder(const sq::RunFolder& run, const sq::RunSpec& spec, std::vector<sq::Example> train,
                                 std::vector<sq::Example> dev, const TrainFlags& t);
// After train_in_folder: -1 when the run was not interrupted (and throws, saying why, when it saved
// no model to evaluate); else one line "<program>: interrupted by SIGINT at step N; last.ckpt saved
// in DIR; continue with --resume" on stderr and the exit status of the signal (130 for SIGINT, 143
// for SIGTERM), which the caller returns.
int interrupted_status(const std::string& program, const sq::RunFolder& run, const sq::TrainSummary& summary);

// The readers' reports as a user sees them: the first `shown` with file and line, then one count per reason.
class IssueReport {
 public:
  explicit IssueReport(std::string program, std::size_t shown = 5) : program_(std::move(program)), shown_(shown) {}
  sq::IssueSink sink();
  // `lines`: the lines this one report stands for (a source dropped with all its targets).
  void add(const std::string& source, std::size_t line, const std::string& reason, const std::string& text = "",
           std::size_t lines = 1);
  // "<program>: skipped N lines of FILE: 3 not ..., 2 longer than ..." (nothing when none)
  void print_summary(const std::string& file) const;
  std::size_t total() const { return total_; }

 private:
  std::string program_;
  std::size_t shown_, total_ = 0;
  std::map<std::string, std::size_t> by_reason_;
};

// Entries whose source or any target is longer than max_length symbols, removed and reported.
std::vector<sq::Entry> drop_long(std::vector<sq::Entry> entries, std::size_t max_length, IssueReport& report,
                                 const std::string& file);

// A file name for user text: the text itself when it is made of ASCII letters, digits, '-' and '_'
// only (and at most 64 bytes); else those characters kept, every other byte '_', cut to 64 bytes,
// and a hash of the whole text appended ("___x-6f1c0a3e.png" for "../x"), so different texts
// never share a name. Never a path, never hidden. Empty text has no name: std::invalid_argument
// (callers skip empty inputs before they draw).
std::string safe_file_name(const std::string& text, const std::string& extension);

// The first `max_bytes` of UTF-8 text (never half a character), with "..." when cut: user text in
// messages and picture titles.
std::string shortened(const std::string& text, std::size_t max_bytes);

enum class HeatmapResult { written, no_attention, failed };
// The attention heatmap of one decoded output, written atomically, its title shortened. A picture
// that cannot be drawn (too large: kMaxPictureSide; a full disk) costs only itself: one line
// "<program>: <what>: no heatmap: <reason>" goes to standard error (`what` names the input as the
// user knows it, e.g. "--heatmaps: line 7 of in.txt") and the caller carries on with the next
// input. no_attention: the model has no attention weights to draw (context none or mean); nothing
// is written or said.
HeatmapResult write_heatmap(const std::string& program, const std::string& what, const std::filesystem::path& file,
                            const sq::Hypothesis& h, std::vector<std::string> x_labels, std::vector<std::string> y_labels,
                            const std::string& title);

// The attention head that --head asks pictures of (nullopt: the mean over heads), checked against
// the model: std::invalid_argument naming --head when the model's attention has no heads or fewer.
std::optional<std::size_t> checked_head(const sq::ModelConfig& model, std::optional<std::size_t> head);

// A file option that also takes "-", standard input: CLI::ExistingFile for anything else.
CLI::Validator existing_file_or_stdin();

// --version: "<program> (seqgrad <the CMake project version>)" and the GEMM backend line, exit 0
// (with or without a subcommand).
void add_version_flag(CLI::App& app, const std::string& program);

// Adds --config FILE (options from a TOML or INI file; the command line wins) and --dump-config (print
// the options this command would use, in that format, and exit 0), both handled by parse.
void add_config_options(CLI::App& cmd);

// Parses the command line; a parse error is one line "<program>: <message>" on stderr (help as usual).
// Returns -1 when parsing succeeded, else the exit status (0 after --dump-config).
int parse(CLI::App& app, int argc, char** argv, const std::string& program);
// Runs `body`, turning any exception into one line "<program>: <what>" and exit status 1.
int guarded(const std::string& program, const std::function<int()>& body);

// How many of `symbols` are not in `vocab` (read as <unk>: the programs say how many).
std::size_t count_unknown(const seqgrad::nn::seq2seq::Symbols& symbols, const seqgrad::nn::seq2seq::Vocabulary& vocab);

// Reads lines of a file, or of standard input when `file` is "-". `option`, when given, opens the
// messages of a refusal (e.g. "--input").
std::vector<std::string> read_lines(const std::string& file, const std::string& option = "");

}  // namespace recipe
