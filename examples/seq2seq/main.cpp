// seq2seq: train, evaluate and use a sequence-to-sequence model on your own tab-separated data.
//
//   seq2seq train     --run DIR --train pairs.tsv [--dev dev.tsv] [--chars] [model and trainer options]
//   seq2seq evaluate  --run DIR --data test.tsv [--beam 4]
//   seq2seq translate --run DIR [--input FILE|-] [--beam 4] [--heatmaps N]
//
// Data: one pair per line, source<TAB>target; symbols are split on spaces, or with --chars every
// UTF-8 character is a symbol. Malformed lines (no tab or several, an empty side, invalid UTF-8)
// are reported with their line numbers (the first 5, then a count per reason) and skipped; so are
// pairs with a side longer than --max-length symbols. Without --dev, every --dev-every'th pair of
// the training file is held out for validation. The vocabularies are built from the training file.
// At translate and evaluate time a symbol that is not in the vocabulary is read as <unk> (and
// counted on stderr); outputs are cut at 2 x --max-length symbols. A --heatmaps picture that
// cannot be drawn (one of a line too long for kMaxPictureSide pixels, say) is reported on stderr
// with its line; every line is still translated, and the exit status is then 1.
#include <cstdio>
#include <iostream>

#include "recipe.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;

namespace {

const char* kProgram = "seq2seq";

Tokenization tokenization_of(const RunSpec& spec, const char* side) {
  return spec.settings.at(side) == "characters" ? Tokenization::characters : Tokenization::whitespace;
}

std::size_t max_length_of(const RunSpec& spec) { return std::stoull(spec.settings.at("max_length")); }

struct TrainArgs {
  std::string run, train, dev;
  bool chars = false;
  std::size_t dev_every = 10, max_length = 100;
  recipe::ModelFlags model;
  recipe::TrainFlags train_flags;
};

// Reads a TSV file, reporting its malformed lines; optionally drops over-long pairs.
std::vector<Entry> read_pairs(const std::string& file, Tokenization tokens, std::size_t max_length, bool drop_long_pairs) {
  recipe::IssueReport report(kProgram);
  TsvOptions o;
  o.source_tokens = o.target_tokens = tokens;
  o.on_issue = report.sink();
  std::error_code ec;
  if (fs::is_directory(file, ec)) throw std::runtime_error(file + ": a directory, not a TSV file");
  ReadResult r = read_tsv(fs::path(file), o);
  if (drop_long_pairs) r.entries = recipe::drop_long(std::move(r.entries), max_length, report, file);
  report.print_summary(file);
  if (r.entries.empty())
    throw std::runtime_error(file + ": no usable pairs (" + std::to_string(r.lines) + " lines read, " +
                             std::to_string(report.total()) + " skipped)");
  return r.entries;
}

int train(const TrainArgs& a) {
  const Tokenization tokens = a.chars ? Tokenization::characters : Tokenization::whitespace;
  std::vector<Entry> entries = read_pairs(a.train, tokens, a.max_length, true);
  RunSpec spec;
  spec.source_vocab = Vocabulary::build(source_sequences(entries));
  spec.target_vocab = Vocabulary::build(target_sequences(entries));
  std::vector<Entry> train_entries, dev_entries;
  if (!a.dev.empty()) {
    train_entries = std::move(entries);
    dev_entries = read_pairs(a.dev, tokens, a.max_length, true);
  } else {
    for (std::size_t i = 0; i < entries.size(); ++i)
      (i % a.dev_every == a.dev_every - 1 ? dev_entries : train_entries).push_back(std::move(entries[i]));
    if (dev_entries.empty() || train_entries.empty())
      throw std::runtime_error(a.train + ": " + std::to_string(entries.size()) + " usable pairs are too few to hold every " +
                               std::to_string(a.dev_every) + "th out for validation: give --dev FILE or more pairs");
  }
  spec.model = recipe::model_config(a.model, spec.source_vocab.size(), spec.target_vocab.size());
  const std::string side = a.chars ? "characters" : "whitespace";
  spec.settings = {{"source_tokens", side}, {"target_tokens", side}, {"max_length", std::to_string(a.max_length)},
                   {"validation", a.dev.empty() ? "every " + std::to_string(a.dev_every) + "th training pair" : "a file"}};
  std::printf("data: %zu training and %zu validation pairs from %s%s\n", train_entries.size(), dev_entries.size(),
              a.train.c_str(), a.dev.empty() ? "" : (" and " + a.dev).c_str());
  const RunFolder run(a.run);
  recipe::TrainFlags t = a.train_flags;
  t.max_decode = 2 * a.max_length;
  const TrainSummary summary =
      recipe::train_in_folder(run, spec, training_examples(train_entries, spec.source_vocab, spec.target_vocab),
                              evaluation_examples(dev_entries, spec.source_vocab, spec.target_vocab), t);
  if (const int status = recipe::interrupted_status(kProgram, run, summary); status >= 0) return status;
  const RunFolder::Loaded best = run.load_best();
  const Evaluation e = evaluate(*best.model, evaluation_examples(dev_entries, spec.source_vocab, spec.target_vocab), 128,
                                t.max_decode, 1);
  std::printf("best checkpoint on validation: exact-match accuracy %.2f%%  token error rate %.2f%%\n",
              100 * e.scores.accuracy(), 100 * e.scores.phoneme_error_rate());
  return 0;
}

std::size_t count_unknown(const Symbols& symbols, const Vocabulary& vocab) {
  std::size_t n = 0;
  for (const auto& s : symbols) n += !vocab.contains(s);
  return n;
}

int evaluate_run(const std::string& dir, const std::string& data, std::size_t beam) {
  const RunFolder::Loaded l = RunFolder(dir).load_best();
  const Tokenization tokens = tokenization_of(l.spec, "source_tokens");
  const std::vector<Entry> entries = read_pairs(data, tokens, 0, false);
  std::size_t unknown = 0;
  for (const Entry& e : entries) unknown += count_unknown(e.source, l.spec.source_vocab);
  if (unknown > 0) std::fprintf(stderr, "%s: %zu source symbols of %s are not in the vocabulary (read as <unk>)\n", kProgram, unknown, data.c_str());
  const std::vector<Example> examples = evaluation_examples(entries, l.spec.source_vocab, l.spec.target_vocab);
  const Evaluation e = evaluate(*l.model, examples, 128, 2 * max_length_of(l.spec), beam);
  std::printf("%zu pairs  exact-match accuracy %.2f%%  token error rate %.2f%%", e.scores.items, 100 * e.scores.accuracy(),
              100 * e.scores.phoneme_error_rate());
  if (tokenization_of(l.spec, "target_tokens") == Tokenization::whitespace) {
    std::vector<TokenIds> outputs;
    std::vector<std::vector<TokenIds>> refs;
    for (std::size_t i = 0; i < examples.size(); ++i) {
      outputs.push_back(e.outputs[i].tokens);
      refs.push_back({examples[i].target});
      for (const TokenIds& alt : examples[i].alternatives) refs.back().push_back(alt);
    }
    std::printf("  BLEU %.2f", 100 * corpus_bleu(outputs, refs).bleu);
  }
  std::printf("\n");
  return 0;
}

int translate(const std::string& dir, const std::string& input, std::size_t beam, std::size_t heatmaps) {
  const RunFolder run(dir);
  const RunFolder::Loaded l = run.load_best();
  const Tokenization in_tokens = tokenization_of(l.spec, "source_tokens");
  const bool chars_out = tokenization_of(l.spec, "target_tokens") == Tokenization::characters;
  const std::vector<std::string> lines = recipe::read_lines(input);
  const std::string name = input == "-" ? "<stdin>" : input;
  recipe::IssueReport report(kProgram);
  std::size_t unknown = 0, failed_heatmaps = 0;
  if (heatmaps > 0) fs::create_directories(run.heatmap_dir());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Symbols source;
    if (!tokenize(lines[i], in_tokens, source)) {
      report.add(name, i + 1, "not valid UTF-8 (an empty line is written)", lines[i]);
      std::printf("\n");
      continue;
    }
    if (source.empty()) {
      std::printf("\n");
      continue;
    }
    unknown += count_unknown(source, l.spec.source_vocab);
    TokenIds ids = l.spec.source_vocab.encode(source);
    ids.push_back(kEos);
    const Tensor src = Tensor::from_indices(ids, {1, ids.size()});
    const Tensor len = Tensor::from_indices({static_cast<std::int64_t>(ids.size())}, {1});
    const DecodeOptions options{.max_length = 2 * max_length_of(l.spec), .beam_width = beam};
    const Hypothesis h = beam > 1 ? beam_search(*l.model, src, len, options)[0] : greedy_decode(*l.model, src, len, options)[0];
    const std::string out = l.spec.target_vocab.decode_to_string(h.tokens, chars_out ? "" : " ");
    std::printf("%s\n", out.c_str());
    std::fflush(stdout);
    if (i < heatmaps) {
      const fs::path png = run.heatmap_dir() / recipe::safe_file_name(lines[i], ".png");
      const std::string what = "--heatmaps: line " + std::to_string(i + 1) + " of " + name;
      switch (recipe::write_heatmap(kProgram, what, png, h, source, l.spec.target_vocab.decode(h.tokens), lines[i] + " -> " + out)) {
        case recipe::HeatmapResult::written: std::fprintf(stderr, "%s: heatmap %s\n", kProgram, png.string().c_str()); break;
        case recipe::HeatmapResult::no_attention:
          std::fprintf(stderr, "%s: %s: no heatmap: the model's context (%s) has no attention weights\n", kProgram,
                       what.c_str(), to_string(l.spec.model.context).c_str());
          break;
        case recipe::HeatmapResult::failed: ++failed_heatmaps; break;
      }
    }
  }
  report.print_summary(name);
  if (unknown > 0) std::fprintf(stderr, "%s: %zu input symbols not in the vocabulary were read as <unk>\n", kProgram, unknown);
  if (failed_heatmaps > 0)
    std::fprintf(stderr, "%s: --heatmaps: %zu heatmaps could not be drawn (each named above); every line is translated\n",
                 kProgram, failed_heatmaps);
  return failed_heatmaps > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train, evaluate and use an attention encoder-decoder on tab-separated pairs (source<TAB>target per line)"};
  app.require_subcommand(1);

  TrainArgs a;
  auto* train_cmd = app.add_subcommand("train", "train on a TSV file; the run folder gets the model, vocabularies, checkpoints, metrics and loss curve "
                                      "(Ctrl-C saves checkpoints/last.ckpt after the current step: continue with --resume)");
  train_cmd->add_option("--run", a.run, "run folder")->required();
  train_cmd->add_option("--train", a.train, "training pairs (TSV)")->required()->check(CLI::ExistingFile);
  train_cmd->add_option("--dev", a.dev, "validation pairs (TSV); default: every --dev-every'th training pair")->check(CLI::ExistingFile);
  train_cmd->add_option("--dev-every", a.dev_every, "without --dev, hold out every N-th training pair (N in [2, 1000])")
      ->check(CLI::Range(std::size_t{2}, std::size_t{1000}))->capture_default_str();
  train_cmd->add_flag("--chars", a.chars, "every UTF-8 character is a symbol (default: symbols are separated by spaces)");
  train_cmd->add_option("--max-length", a.max_length, "pairs with a side longer than this many symbols are skipped and reported (in [1, 10000])")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))->capture_default_str();
  recipe::add_model_options(*train_cmd, a.model, true);
  a.train_flags.minutes = 10;
  recipe::add_train_options(*train_cmd, a.train_flags);

  std::string run, data, input = "-";
  std::size_t beam = 4, heatmaps = 0;
  auto* evaluate_cmd = app.add_subcommand("evaluate", "exact-match accuracy, token error rate and (space-separated targets) BLEU on a TSV file");
  evaluate_cmd->add_option("--run", run, "run folder")->required();
  evaluate_cmd->add_option("--data", data, "pairs to score (TSV)")->required()->check(CLI::ExistingFile);
  evaluate_cmd->add_option("--beam", beam, "beam width (1: greedy; in [1, 64])")->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();

  auto* translate_cmd = app.add_subcommand("translate", "one output per input line, from a file or standard input");
  translate_cmd->add_option("--run", run, "run folder")->required();
  translate_cmd->add_option("--input", input, "source lines ('-': standard input)")->capture_default_str();
  translate_cmd->add_option("--beam", beam, "beam width (1: greedy; in [1, 64])")->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();
  translate_cmd->add_option("--heatmaps", heatmaps, "attention heatmaps of the first N inputs, in the run folder's heatmaps/ (N in [0, 1000])")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000}))->capture_default_str();

  if (const int code = recipe::parse(app, argc, argv, kProgram); code >= 0) return code;
  return recipe::guarded(kProgram, [&] {
    if (*train_cmd) return train(a);
    if (*evaluate_cmd) return evaluate_run(run, data, beam);
    return translate(run, input, beam, heatmaps);
  });
}
