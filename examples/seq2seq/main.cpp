// seq2seq: train, evaluate and use a sequence-to-sequence model on your own tab-separated data.
//
//   seq2seq train     --run DIR --train pairs.tsv|- [--dev dev.tsv|-] [--chars | --subwords N] [model and trainer options]
//   seq2seq train     --run DIR --train-src src.txt --train-tgt tgt.txt [--dev-src S --dev-tgt T] ...
//   seq2seq train     --config train.toml [options: the command line wins]   (--dump-config writes one)
//   seq2seq evaluate  --run DIR --data test.tsv|- [--beam 4] [--hypotheses FILE|-]
//   seq2seq translate --run DIR [--input FILE|-] [--output FILE|-] [--beam 4] [--nbest N] [--scores] [--heatmaps N [--head H]]
//   seq2seq export    --run DIR --out model.safetensors [--overwrite]
//   seq2seq --version
//
// Data: one pair per line, source<TAB>target; symbols are split on spaces, or with --chars every
// UTF-8 character is a symbol. Malformed lines (no tab or several, an empty side, invalid UTF-8)
// are reported with their line numbers (the first 5, then a count per reason) and skipped; so are
// pairs with a side longer than --max-length symbols. Lines with the same source are one item
// with several accepted targets (each a training pair; at evaluation any of them counts as right);
// a line that repeats an earlier pair exactly is reported and skipped. One line per file says what
// was read ("data: FILE: 800 lines: 800 pairs of 790 distinct sources (10 merged ...), ..."). Without
// --dev, every --dev-every'th source of the training file, with all its targets, is held out for
// validation. The vocabularies are built from the training file.
// With --subwords N a SentencePiece model trained on the training text (subwords.model in the run
// folder) cuts each side into pieces, which are then the symbols (--max-length counts pieces);
// translate and evaluate cut their input with it and join the output pieces back into text, and
// evaluate scores that text (exact match of the strings; word error rate and BLEU on its words).
// At translate and evaluate time a symbol that is not in the vocabulary is read as <unk> (and
// counted on stderr); outputs are cut at 2 x --max-length symbols. A --heatmaps picture that
// cannot be drawn (one of a line too long for kMaxPictureSide pixels, say) is reported on stderr
// with its line; every line is still translated, and the exit status is then 1.
// "-" is standard input for one input option of a command (--train - --dev - is refused) and
// standard output for --output and --hypotheses. A file they name is written atomically once every
// line is decoded, and an existing one is refused unless --overwrite is given.
#include <cstdio>
#include <iostream>
#include <sstream>
#include <optional>

#include "export.hpp"
#include "recipe.hpp"
#include "subword_text.hpp"
#include "seqgrad/graph/atomic_file.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;

namespace {

const char* kProgram = "seq2seq";

Tokenization tokenization_of(const RunSpec& spec, const char* side) {
  return spec.settings.at(side) == "characters" ? Tokenization::characters : Tokenization::whitespace;
}

std::size_t max_length_of(const RunSpec& spec) { return std::stoull(spec.settings.at("max_length")); }

// The run's subword model (nullopt: the run's symbols are words or characters).
std::optional<Subwords> subwords_of(const RunFolder& run, const RunSpec& spec) {
  if (!spec.subword_model) return std::nullopt;
  return Subwords::from_bytes(*spec.subword_model, run.subword_model_file().string());
}

// Where translate and evaluate write their lines: standard output ("-"), flushed line by line so
// a pipe sees each answer as it comes, or a file written atomically by commit() (its temporary is
// created at once, so an unwritable or existing file is refused before any decoding).
class LineOutput {
 public:
  LineOutput(const std::string& file, const std::string& option, bool overwrite) {
    if (file == "-") return;
    std::error_code ec;
    if (fs::exists(file, ec) && !fs::is_directory(file, ec) && !overwrite)
      throw std::runtime_error(option + " " + file + ": the file exists (give --overwrite to replace it)");
    file_.emplace(file, overwrite ? ExistingFile::replace : ExistingFile::refuse, option);  // refuses a folder
  }
  void line(const std::string& text) {
    if (file_) {
      file_->write(text);
      file_->write("\n");
    } else {
      std::printf("%s\n", text.c_str());
      std::fflush(stdout);
    }
  }
  void commit() {
    if (file_) file_->commit();
  }
  bool is_stdout() const { return !file_; }

 private:
  std::optional<AtomicFile> file_;
};

struct TrainArgs {
  std::string run, train, dev;
  std::string train_src, train_tgt, dev_src, dev_tgt;  // the pairs as two files of lines
  bool chars = false;
  std::size_t dev_every = 10, max_length = 100;
  std::size_t subwords = 0;  // 0: no subword model
  recipe::ModelFlags model;
  recipe::TrainFlags train_flags;
};

// A file option's value as messages name it.
std::string shown_name(const std::string& file) { return file == "-" ? "<stdin>" : file; }

// The outputs of a subword run as text.
std::vector<std::string> decoded_texts(const Evaluation& e, const Vocabulary& target_vocab, const Subwords& subwords) {
  std::vector<std::string> texts;
  for (const Hypothesis& h : e.outputs) texts.push_back(subwords.decode(target_vocab.decode(h.tokens)));
  return texts;
}

// Scores of a subword run on text: its outputs decoded, against `references` (recipe::target_texts).
recipe::TextScores score_decoded(const Evaluation& e, const std::vector<std::vector<std::string>>& references,
                                 const Vocabulary& target_vocab, const Subwords& subwords) {
  return recipe::score_text(decoded_texts(e, target_vocab, subwords), references);
}

// Pairs as two files, line i of `src` the source and line i of `tgt` its target (as Marian's and
// OpenNMT's -src/-tgt), joined into TSV text. Files of different lengths, or a tab in a line (it
// would read as the separator), are refused naming the file and line.
std::string parallel_files_as_tsv(const std::string& src, const std::string& tgt) {
  const std::vector<std::string> sources = recipe::read_lines(src), targets = recipe::read_lines(tgt);
  if (sources.size() != targets.size())
    throw std::runtime_error(shown_name(src) + " has " + std::to_string(sources.size()) + " lines and " + shown_name(tgt) + " " +
                             std::to_string(targets.size()) + ": line i of one is the target of line i of the other");
  std::string tsv;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    for (const auto& [file, line] : {std::pair{&src, &sources[i]}, std::pair{&tgt, &targets[i]}})
      if (line->find('\t') != std::string::npos)
        throw std::runtime_error(shown_name(*file) + ":" + std::to_string(i + 1) + ": a tab in a line of a source or target file");
    tsv += sources[i] + "\t" + targets[i] + "\n";
  }
  return tsv;
}

// Where pairs come from: a TSV file ("-": standard input), or a source and a target file.
struct PairFiles {
  std::string tsv, src, tgt;
  bool given() const { return !tsv.empty() || !src.empty(); }
  std::string name() const { return !src.empty() ? shown_name(src) + " + " + shown_name(tgt) : shown_name(tsv); }
};

// Reads the pairs, reporting malformed lines; optionally drops over-long pairs. Says what it kept
// in one line on `summary`: "data: FILE: " and describe(PairCounts).
std::vector<Entry> read_pairs(const PairFiles& files, Tokenization tokens, std::size_t max_length, bool drop_long_pairs,
                              std::FILE* summary = stdout) {
  const std::string name = files.name();
  recipe::IssueReport report(kProgram);
  TsvOptions o;
  o.source_tokens = o.target_tokens = tokens;
  o.on_issue = report.sink();
  std::error_code ec;
  const std::string& file = files.tsv;
  if (files.src.empty() && fs::is_directory(file, ec)) throw std::runtime_error(file + ": a directory, not a TSV file");
  ReadResult r;
  if (!files.src.empty()) {
    std::istringstream joined(parallel_files_as_tsv(files.src, files.tgt));
    r = read_tsv(joined, o, name);
  } else {
    r = file == "-" ? read_tsv(std::cin, o, name) : read_tsv(fs::path(file), o);
  }
  if (drop_long_pairs) r.entries = recipe::drop_long(std::move(r.entries), max_length, report, name);
  report.print_summary(name);
  if (r.entries.empty())
    throw std::runtime_error(name + ": no usable pairs (" + std::to_string(r.lines) + " lines read, " +
                             std::to_string(report.total()) + " skipped)");
  std::fprintf(summary, "data: %s: %s\n", name.c_str(),
               describe(count_pairs(r.entries, r.lines, r.blank_lines, report.total())).c_str());
  return r.entries;
}

int train(const TrainArgs& a) {
  const PairFiles train_files{a.train, a.train_src, a.train_tgt}, dev_files{a.dev, a.dev_src, a.dev_tgt};
  int stdin_readers = 0;
  for (const std::string* f : {&a.train, &a.dev, &a.train_src, &a.train_tgt, &a.dev_src, &a.dev_tgt}) stdin_readers += *f == "-";
  if (stdin_readers > 1) throw std::runtime_error("'-' is given to several of --train, --dev and their -src/-tgt: standard input can be read once; give the others files");
  const Tokenization tokens = a.chars ? Tokenization::characters : Tokenization::whitespace;
  std::vector<Entry> entries = read_pairs(train_files, tokens, a.max_length, a.subwords == 0);
  RunSpec spec;
  std::optional<Subwords> subwords;
  std::vector<std::vector<std::string>> texts;  // of a subword run: each entry's targets as text
  if (a.subwords > 0) {  // the pieces are the symbols from here on; --max-length counts pieces
    subwords = recipe::train_subwords(entries, a.subwords);
    spec.subword_model = subwords->bytes();
    entries = recipe::to_pieces(std::move(entries), *subwords, a.max_length, kProgram, train_files.name(), &texts);
  }
  spec.source_vocab = Vocabulary::build(source_sequences(entries));
  spec.target_vocab = Vocabulary::build(target_sequences(entries));
  std::vector<Entry> train_entries, dev_entries;
  std::vector<std::vector<std::string>> dev_references;  // of a subword run: its dev targets as text
  if (dev_files.given()) {
    train_entries = std::move(entries);
    dev_entries = read_pairs(dev_files, tokens, a.max_length, a.subwords == 0);
    if (subwords) dev_entries = recipe::to_pieces(std::move(dev_entries), *subwords, a.max_length, kProgram, dev_files.name(), &dev_references);
  } else {
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const bool held_out = i % a.dev_every == a.dev_every - 1;
      (held_out ? dev_entries : train_entries).push_back(std::move(entries[i]));
      if (held_out && subwords) dev_references.push_back(std::move(texts[i]));
    }
    if (dev_entries.empty() || train_entries.empty())
      throw std::runtime_error(train_files.name() + ": " + std::to_string(entries.size()) + " usable pairs are too few to hold every " +
                               std::to_string(a.dev_every) + "th out for validation: give --dev FILE or more pairs");
  }
  spec.model = recipe::model_config(a.model, spec.source_vocab.size(), spec.target_vocab.size());
  const std::string side = a.chars ? "characters" : "whitespace";
  spec.settings = {{"source_tokens", side}, {"target_tokens", side}, {"max_length", std::to_string(a.max_length)},
                   {"validation", !dev_files.given() ? "every " + std::to_string(a.dev_every) + "th training pair" : "a file"}};
  if (subwords) spec.settings["subwords"] = std::to_string(a.subwords);
  if (!dev_files.given()) {
    const PairCounts held_out = count_pairs(dev_entries, 0, 0, 0), kept = count_pairs(train_entries, 0, 0, 0);
    std::printf("held out for validation: 1 source in %zu with all its targets, %zu sources (%zu pairs); training on "
                "the other %zu sources (%zu pairs)\n", a.dev_every, held_out.sources, held_out.pairs, kept.sources, kept.pairs);
  } else {  // a validation file may hold symbols the training data lacks: said, as evaluate says it
    std::size_t unknown_sources = 0, unknown_targets = 0;
    for (const Entry& e : dev_entries) {
      unknown_sources += recipe::count_unknown(e.source, spec.source_vocab);
      for (const Symbols& t : e.targets) unknown_targets += recipe::count_unknown(t, spec.target_vocab);
    }
    if (unknown_sources + unknown_targets > 0)
      std::fprintf(stderr, "%s: %zu source and %zu target symbols of %s are not in the training data's vocabularies (read as <unk>)\n",
                   kProgram, unknown_sources, unknown_targets, dev_files.name().c_str());
  }
  const RunFolder run(a.run);
  recipe::TrainFlags t = a.train_flags;
  t.max_decode = 2 * a.max_length;
  if (subwords) {  // validation scores the text (its error rate in words), as evaluate does
    t.dev_scores = [&](const Evaluation& e) { return score_decoded(e, dev_references, spec.target_vocab, *subwords).words; };
    t.score_names = ScoreNames::exact_match_words;
  }
  const TrainSummary summary =
      recipe::train_in_folder(run, spec, training_examples(train_entries, spec.source_vocab, spec.target_vocab),
                              evaluation_examples(dev_entries, spec.source_vocab, spec.target_vocab), t);
  if (const int status = recipe::interrupted_status(kProgram, run, summary); status >= 0) return status;
  const RunFolder::Loaded best = run.load_best();
  const Evaluation e = evaluate(*best.model, evaluation_examples(dev_entries, spec.source_vocab, spec.target_vocab), 128,
                                t.max_decode, 1);
  if (subwords) {
    const recipe::TextScores s = score_decoded(e, dev_references, spec.target_vocab, *subwords);
    std::printf("best checkpoint on validation (decoded text): exact-match accuracy %.2f%%  word error rate %.2f%%  BLEU %.2f\n",
                100 * s.words.accuracy(), 100 * s.words.phoneme_error_rate(), 100 * s.bleu);
    return 0;
  }
  std::printf("best checkpoint on validation: exact-match accuracy %.2f%%  token error rate %.2f%%\n",
              100 * e.scores.accuracy(), 100 * e.scores.phoneme_error_rate());
  return 0;
}

struct EvaluateArgs {
  std::string hypotheses;  // empty: none
  bool overwrite = false;
};

int evaluate_run(const std::string& dir, const std::string& data, std::size_t beam, const EvaluateArgs& a) {
  std::optional<LineOutput> hypotheses;
  if (!a.hypotheses.empty()) hypotheses.emplace(a.hypotheses, "--hypotheses", a.overwrite);
  const RunFolder run(dir);
  const RunFolder::Loaded l = run.load_best();
  const std::optional<Subwords> subwords = subwords_of(run, l.spec);
  const Tokenization tokens = tokenization_of(l.spec, "source_tokens");
  // With the hypotheses on standard output the rest goes to standard error, so a pipe gets only them.
  std::FILE* scores = hypotheses && hypotheses->is_stdout() ? stderr : stdout;
  std::vector<Entry> entries = read_pairs(PairFiles{data, "", ""}, tokens, 0, false, scores);
  std::vector<std::vector<std::string>> references;  // of a subword run: the targets as text
  if (subwords) entries = recipe::to_pieces(std::move(entries), *subwords, 0, kProgram, shown_name(data), &references);
  std::size_t unknown = 0;
  for (const Entry& e : entries) unknown += recipe::count_unknown(e.source, l.spec.source_vocab);
  if (unknown > 0) std::fprintf(stderr, "%s: %zu source symbols of %s are not in the vocabulary (read as <unk>)\n", kProgram, unknown, shown_name(data).c_str());
  const std::vector<Example> examples = evaluation_examples(entries, l.spec.source_vocab, l.spec.target_vocab);
  const Evaluation e = evaluate(*l.model, examples, 128, 2 * max_length_of(l.spec), beam);
  const bool chars_out = tokenization_of(l.spec, "target_tokens") == Tokenization::characters;
  if (subwords) {
    if (hypotheses) {
      for (const std::string& text : decoded_texts(e, l.spec.target_vocab, *subwords)) hypotheses->line(text);
      hypotheses->commit();
    }
    const recipe::TextScores s = score_decoded(e, references, l.spec.target_vocab, *subwords);
    std::fprintf(scores, "%zu sources (scored on the decoded text)  exact-match accuracy %.2f%%  word error rate %.2f%%  BLEU %.2f\n",
                 s.words.items, 100 * s.words.accuracy(), 100 * s.words.phoneme_error_rate(), 100 * s.bleu);
    return 0;
  }
  if (hypotheses) {
    for (const Hypothesis& h : e.outputs) hypotheses->line(l.spec.target_vocab.decode_to_string(h.tokens, chars_out ? "" : " "));
    hypotheses->commit();
  }
  // Each source is scored once, against every target it has in the file.
  std::fprintf(scores, "%zu sources  exact-match accuracy %.2f%%  token error rate %.2f%%", e.scores.items, 100 * e.scores.accuracy(),
              100 * e.scores.phoneme_error_rate());
  if (!chars_out) {
    std::vector<TokenIds> outputs;
    std::vector<std::vector<TokenIds>> refs;
    for (std::size_t i = 0; i < examples.size(); ++i) {
      outputs.push_back(e.outputs[i].tokens);
      refs.push_back({examples[i].target});
      for (const TokenIds& alt : examples[i].alternatives) refs.back().push_back(alt);
    }
    std::fprintf(scores, "  BLEU %.2f", 100 * corpus_bleu(outputs, refs).bleu);
  }
  std::fprintf(scores, "\n");
  return 0;
}

struct TranslateArgs {
  std::string input = "-", output = "-";
  std::size_t nbest = 0;  // 0: the best hypothesis alone, without the n-best format
  bool scores = false, overwrite = false;
  std::size_t heatmaps = 0;
  std::optional<std::size_t> head;  // the heatmaps draw this head's weights (default: their mean)
};

int translate(const std::string& dir, std::size_t beam, const TranslateArgs& a) {
  if (a.nbest > beam)
    throw std::runtime_error("--nbest " + std::to_string(a.nbest) + " is more than --beam " + std::to_string(beam) +
                             ": the search keeps --beam hypotheses; give --beam " + std::to_string(a.nbest) + " or more");
  const RunFolder run(dir);
  const RunFolder::Loaded l = run.load_best();
  const std::optional<Subwords> subwords = subwords_of(run, l.spec);
  const std::optional<std::size_t> head = recipe::checked_head(l.spec.model, a.head);
  LineOutput output(a.output, "--output", a.overwrite);
  const Tokenization in_tokens = tokenization_of(l.spec, "source_tokens");
  const bool chars_out = tokenization_of(l.spec, "target_tokens") == Tokenization::characters;
  const std::vector<std::string> lines = recipe::read_lines(a.input, "--input");
  const std::string name = a.input == "-" ? "<stdin>" : a.input;
  const auto text_of = [&](const Hypothesis& h) {
    return subwords ? subwords->decode(l.spec.target_vocab.decode(h.tokens)) : l.spec.target_vocab.decode_to_string(h.tokens, chars_out ? "" : " ");
  };
  recipe::IssueReport report(kProgram);
  std::size_t unknown = 0, failed_heatmaps = 0;
  if (a.heatmaps > 0) fs::create_directories(run.heatmap_dir());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    Symbols source;
    const bool valid = tokenize(lines[i], in_tokens, source);
    if (!valid) report.add(name, i + 1, "not valid UTF-8 (an empty line is written)", lines[i]);
    if (!valid || source.empty()) {
      if (a.nbest == 0) output.line("");  // in the n-best format the line's index is skipped instead
      continue;
    }
    if (subwords) source = subwords->encode(recipe::joined_text(source));
    unknown += recipe::count_unknown(source, l.spec.source_vocab);
    TokenIds ids = l.spec.source_vocab.encode(source);
    ids.push_back(kEos);
    const Tensor src = Tensor::from_indices(ids, {1, ids.size()});
    const Tensor len = Tensor::from_indices({static_cast<std::int64_t>(ids.size())}, {1});
    DecodeOptions options{.max_length = 2 * max_length_of(l.spec), .beam_width = beam};
    options.attention_head = head;
    const std::vector<Hypothesis> hypotheses =
        beam > 1 ? beam_search_nbest(*l.model, src, len, options, std::max<std::size_t>(a.nbest, 1))[0]
                 : greedy_decode(*l.model, src, len, options);
    const Hypothesis& h = hypotheses[0];
    const std::string out = text_of(h);
    if (a.nbest > 0) {
      for (const Hypothesis& n : hypotheses) output.line(std::to_string(i) + " ||| " + text_of(n) + " ||| " + std::to_string(n.score));
    } else {
      output.line(a.scores ? out + " ||| " + std::to_string(h.score) : out);
    }
    if (i < a.heatmaps) {
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
  output.commit();
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
  recipe::add_version_flag(app, kProgram);

  TrainArgs a;
  auto* train_cmd = app.add_subcommand("train", "train on a TSV file; the run folder gets the model, vocabularies, checkpoints, metrics and loss curve "
                                      "(Ctrl-C saves checkpoints/last.ckpt after the current step: continue with --resume)");
  train_cmd->add_option("--run", a.run, "run folder")->required();
  auto* train_tsv = train_cmd->add_option("--train", a.train, "training pairs (TSV; '-': standard input)")->check(recipe::existing_file_or_stdin());
  auto* dev_tsv = train_cmd->add_option("--dev", a.dev, "validation pairs (TSV; '-': standard input); default: every --dev-every'th source of --train, with all its targets")
      ->check(recipe::existing_file_or_stdin());
  // The pairs as two files of lines instead of one TSV file.
  auto* train_src = train_cmd->add_option("--train-src", a.train_src, "training sources, one a line (with --train-tgt, instead of --train)")
      ->check(recipe::existing_file_or_stdin())->excludes(train_tsv);
  auto* train_tgt = train_cmd->add_option("--train-tgt", a.train_tgt, "training targets, line i the target of line i of --train-src")
      ->check(recipe::existing_file_or_stdin())->excludes(train_tsv)->needs(train_src);
  train_src->needs(train_tgt);
  auto* dev_src = train_cmd->add_option("--dev-src", a.dev_src, "validation sources, one a line (with --dev-tgt, instead of --dev)")
      ->check(recipe::existing_file_or_stdin())->excludes(dev_tsv);
  auto* dev_tgt = train_cmd->add_option("--dev-tgt", a.dev_tgt, "validation targets, line i the target of line i of --dev-src")
      ->check(recipe::existing_file_or_stdin())->excludes(dev_tsv)->needs(dev_src);
  dev_src->needs(dev_tgt);
  recipe::add_parse_check(*train_cmd, [&a] {
    if (a.train.empty() && a.train_src.empty())
      throw std::invalid_argument("no training data: give --train FILE (TSV) or --train-src FILE --train-tgt FILE");
  });
  train_cmd->add_option("--dev-every", a.dev_every, "without --dev, hold out every N-th training source, with all its targets (N in [2, 1000])")
      ->check(CLI::Range(std::size_t{2}, std::size_t{1000}))->capture_default_str();
  train_cmd->add_flag("--chars", a.chars, "every UTF-8 character is a symbol (default: symbols are separated by spaces)");
  train_cmd->add_option("--subwords", a.subwords,
                        "train a SentencePiece (BPE) model of N pieces on the training sources and targets, kept in the run folder: "
                        "the pieces are the symbols, and translate and evaluate read and write plain text (N in [8, 1048576])")
      ->check(recipe::whole_in(Subwords::kMinSize, Subwords::kMaxSize))
      ->excludes("--chars");
  train_cmd->add_option("--max-length", a.max_length, "pairs with a side longer than this many symbols are skipped and reported (in [1, 10000])")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10000}))->capture_default_str();
  recipe::add_model_options(*train_cmd, a.model, true);
  a.train_flags.minutes = 10;
  a.train_flags.score_names = ScoreNames::exact_match;  // the names evaluate prints, not G2P's WER and PER
  recipe::add_train_options(*train_cmd, a.train_flags);
  recipe::add_config_options(*train_cmd);

  std::string run, data;
  std::size_t beam = 4;
  EvaluateArgs ev;
  TranslateArgs tr;
  auto* evaluate_cmd = app.add_subcommand("evaluate", "exact-match accuracy, token error rate and (space-separated targets) BLEU on a TSV file");
  evaluate_cmd->add_option("--run", run, "run folder")->required();
  evaluate_cmd->add_option("--data", data, "pairs to score (TSV; '-': standard input)")->required()->check(recipe::existing_file_or_stdin());
  evaluate_cmd->add_option("--beam", beam, "beam width (1: greedy; in [1, 64])")->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();
  evaluate_cmd->add_option("--hypotheses", ev.hypotheses,
                           "also write the decoded output of every scored input, one line each in the file's order (inputs with the same "
                           "source are one; '-': standard output, the scores then go to standard error)");
  evaluate_cmd->add_flag("--overwrite", ev.overwrite, "replace the --hypotheses file when it exists");

  auto* translate_cmd = app.add_subcommand("translate", "one output per input line, from a file or standard input");
  translate_cmd->add_option("--run", run, "run folder")->required();
  translate_cmd->add_option("--input", tr.input, "source lines ('-': standard input)")->capture_default_str();
  translate_cmd->add_option("--output", tr.output, "where the outputs go ('-': standard output; a file is written when every line is done)")
      ->capture_default_str();
  translate_cmd->add_flag("--overwrite", tr.overwrite, "replace the --output file when it exists");
  translate_cmd->add_option("--beam", beam, "beam width (1: greedy; in [1, 64])")->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();
  translate_cmd->add_option("--nbest", tr.nbest,
                            "the N best outputs of each line (N in [1, --beam]), best first, as 'INDEX ||| output ||| score' "
                            "(INDEX: the input line, from 0; an empty input line has none; the score as with --scores)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  translate_cmd->add_flag("--scores", tr.scores,
                          "append ' ||| score' to each output: its log-probability (natural log, <eos> included) divided by the length "
                          "penalty ((5 + length) / 6)^0.6, the length counting <eos>: the length-normalised score beam search ranks by; with --beam 1 (greedy) "
                          "the plain log-probability")
      ->excludes("--nbest");
  translate_cmd->add_option("--heatmaps", tr.heatmaps, "attention heatmaps of the first N inputs, in the run folder's heatmaps/ (N in [0, 1000])")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000}))->capture_default_str();
  translate_cmd->add_option("--head", tr.head, "the heatmaps draw this attention head (from 0) of a multi-head model (default: the mean over heads; "
                                               "a transformer decoder's: its last layer's cross-attention)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{63}))->needs("--heatmaps");

  std::string export_out;
  bool export_overwrite = false;
  auto* export_cmd = app.add_subcommand("export", "the best checkpoint's model weights alone (no optimizer state) as a safetensors file, "
                                                  "with the model configuration, vocabularies and tokenization in its metadata "
                                                  "(examples/seq2seq/torch_reference.py decodes with it in PyTorch)");
  export_cmd->add_option("--run", run, "run folder")->required();
  export_cmd->add_option("--out", export_out, "the safetensors file to write (atomically)")->required();
  export_cmd->add_flag("--overwrite", export_overwrite, "replace the --out file when it exists");

  if (const int code = recipe::parse(app, argc, argv, kProgram); code >= 0) return code;
  return recipe::guarded(kProgram, [&] {
    if (*train_cmd) return train(a);
    if (*evaluate_cmd) return evaluate_run(run, data, beam, ev);
    if (*export_cmd) {
      const recipe::ExportSummary e = recipe::export_weights(run, export_out, export_overwrite);
      std::printf("%s: %zu tensors (%zu values) of %s\n", export_out.c_str(), e.tensors, e.values, e.checkpoint.string().c_str());
      return 0;
    }
    return translate(run, beam, tr);
  });
}
