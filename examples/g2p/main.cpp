// Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary: spell a word, hear its phonemes.
//
//   g2p train   [--minutes 15] [--threads N] [--keep-stress] [--out runs/g2p] [model options] ...
//   g2p predict --out runs/g2p WORD...      (phonemes of any word, and its attention heatmap)
//   g2p predict --out runs/g2p --input FILE (one word a line; '-': standard input)
//   g2p evaluate --out runs/g2p             (phoneme and word error rates on the test split)
//
// A recipe over the seq2seq program's code (examples/seq2seq/recipe.hpp): CMUdict becomes pairs of
// letters and phonemes, then the same run folder and trainer. The model by default: a bidirectional
// GRU encoder over the word's letters, additive (Bahdanau) attention, a GRU decoder over phonemes
// (the seq2seq program's model options choose others, a Transformer encoder-decoder among them). The
// split is fixed by the word's crc32 (see cmudict.hpp); alternate pronunciations are extra correct
// answers (and extra training pairs).
#include <cctype>
#include <cstdio>

#include "cmudict.hpp"
#include "recipe.hpp"
#include "seqgrad/distributed/mpi.hpp"
#include "seqgrad/ops/backend.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
using namespace g2p;
namespace fs = std::filesystem;

namespace {

const char* kProgram = "g2p";
const RunLayout kLayout{.source_vocab = "letters.json", .target_vocab = "phonemes.json"};

SplitEntries load_dictionary(const fs::path& file, bool keep_stress) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw std::runtime_error(file.string() + ": not found; run scripts/fetch_cmudict.sh first (or give --data)");
  if (!fs::is_regular_file(file, ec)) throw std::runtime_error(file.string() + ": not a regular file");
  recipe::IssueReport report(kProgram);
  const ReadResult read = read_cmudict(file, {.keep_stress = keep_stress, .on_issue = report.sink()});
  report.print_summary(file.string());
  std::printf("read %zu words from %s (%zu lines skipped)\n", read.entries.size(), file.string().c_str(), read.skipped_lines);
  if (read.entries.empty())
    throw std::runtime_error(file.string() + ": no dictionary entries (" + std::to_string(read.lines) + " lines read, " +
                             std::to_string(read.skipped_lines) + " skipped)");
  SplitEntries split = split_entries(read.entries);
  for (const auto& [name, part] : {std::pair{"train", &split.train}, {"dev", &split.dev}, {"test", &split.test}})
    if (part->empty()) throw std::runtime_error(file.string() + ": no words fall in the " + std::string(name) + " split");
  return split;
}

RunFolder::Loaded load_run(const fs::path& dir) {
  const RunFolder run(dir, kLayout);
  if (!fs::exists(run.config_file())) throw std::runtime_error("no model in " + dir.string() + " (run `g2p train` first)");
  RunFolder::Loaded l = run.load_best();
  if (!l.spec.settings.contains("keep_stress"))
    throw std::runtime_error(run.config_file().string() + ": no \"keep_stress\" setting (not a g2p run)");
  return l;
}

void report(const char* split, const Evaluation& e) {
  std::printf("%s: %zu words  WER %.2f%%  PER %.2f%%\n", split, e.scores.items, 100 * e.scores.word_error_rate(),
              100 * e.scores.phoneme_error_rate());
}

int train(const fs::path& data, const fs::path& dir, const recipe::ModelFlags& m, const recipe::TrainFlags& t,
          bool keep_stress, std::size_t beam) {
  const SplitEntries split = load_dictionary(data, keep_stress);
  std::printf("split: %zu train / %zu dev / %zu test words\n", split.train.size(), split.dev.size(), split.test.size());
  RunSpec spec;
  spec.source_vocab = Vocabulary::build(source_sequences(split.train));
  spec.target_vocab = Vocabulary::build(target_sequences(split.train));
  spec.model = recipe::model_config(m, spec.source_vocab.size(), spec.target_vocab.size());
  spec.settings = {{"keep_stress", keep_stress ? "true" : "false"}};
  const RunFolder run(dir, kLayout);
  const TrainSummary summary =
      recipe::train_in_folder(run, spec, training_examples(split.train, spec.source_vocab, spec.target_vocab),
                              evaluation_examples(split.dev, spec.source_vocab, spec.target_vocab), t);
  if (const int status = recipe::interrupted_status(kProgram, run, summary); status >= 0) return status;
  // The best checkpoint on dev, scored on test.
  const RunFolder::Loaded best = load_run(dir);
  report(("test (beam " + std::to_string(beam) + ")").c_str(),
         evaluate(*best.model, evaluation_examples(split.test, spec.source_vocab, spec.target_vocab), 256, 40, beam));
  return 0;
}

int evaluate_run(const fs::path& data, const fs::path& dir, std::size_t beam) {
  const RunFolder::Loaded l = load_run(dir);
  const SplitEntries split = load_dictionary(data, l.spec.settings.at("keep_stress") == "true");
  report("dev", evaluate(*l.model, evaluation_examples(split.dev, l.spec.source_vocab, l.spec.target_vocab), 256, 40, beam));
  report("test", evaluate(*l.model, evaluation_examples(split.test, l.spec.source_vocab, l.spec.target_vocab), 256, 40, beam));
  return 0;
}

int predict(const fs::path& dir, std::vector<std::string> words, const std::string& input, std::size_t beam,
            std::optional<std::size_t> head) {
  if (!input.empty())
    for (std::string& w : recipe::read_lines(input, "--input"))
      if (w.find_first_not_of(" \t") != std::string::npos) words.push_back(w);
  if (words.empty()) throw std::runtime_error("predict: no words (give them as arguments or with --input FILE, '-' for standard input)");
  const RunFolder::Loaded l = load_run(dir);
  DecodeOptions options{.max_length = 40, .beam_width = beam};
  options.attention_head = recipe::checked_head(l.spec.model, head);
  const fs::path heatmaps = RunFolder(dir, kLayout).heatmap_dir();
  fs::create_directories(heatmaps);
  std::size_t failed = 0, unknown = 0;
  for (std::size_t n = 0; n < words.size(); ++n) {
    std::string word = words[n];
    if (word.empty()) {  // an argument "": nothing to spell, and no name for its heatmap
      std::fprintf(stderr, "%s: predict: word %zu is empty: skipped\n", kProgram, n + 1);
      continue;
    }
    for (char& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    Symbols letters;
    for (char ch : word) letters.emplace_back(1, ch);
    unknown += recipe::count_unknown(letters, l.spec.source_vocab);
    TokenIds ids = l.spec.source_vocab.encode(letters);  // letters outside the vocabulary: <unk>
    ids.push_back(kEos);  // the encoder reads up to its end-of-sequence symbol
    const Tensor src = Tensor::from_indices(ids, {1, ids.size()});
    const Tensor len = Tensor::from_indices({static_cast<std::int64_t>(ids.size())}, {1});
    const Hypothesis h = beam_search(*l.model, src, len, options)[0];
    const Symbols out = l.spec.target_vocab.decode(h.tokens);
    std::string phones;
    for (const auto& p : out) phones += (phones.empty() ? "" : " ") + p;
    // Heatmap: input letters (and <eos>) across, output phonemes (and <eos>) down; the file name
    // is made safe (a word is user text) and stays inside the run folder. One failed picture is
    // reported on stderr and does not abandon the other words.
    const fs::path png = heatmaps / recipe::safe_file_name(word, ".png");
    const std::string what = "word " + std::to_string(n + 1) + " ('" + recipe::shortened(word, 40) + "')";
    std::string shown = png.string();
    switch (recipe::write_heatmap(kProgram, what, png, h, letters, out, word + " -> " + phones)) {
      case recipe::HeatmapResult::written: break;
      case recipe::HeatmapResult::no_attention: shown = "(no attention to draw)"; break;
      case recipe::HeatmapResult::failed:
        shown = "(no heatmap)";
        ++failed;
        break;
    }
    std::printf("%-16s %-40s %s\n", word.c_str(), phones.c_str(), shown.c_str());
  }
  if (unknown > 0) std::fprintf(stderr, "%s: predict: %zu letters not in the model's alphabet were read as <unk>\n", kProgram, unknown);
  return failed > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  seqgrad::distributed::print_only_on_root(*seqgrad::distributed::world());  // under mpirun: rank 0 prints
  CLI::App app{"Grapheme-to-phoneme conversion with attention on the CMU Pronouncing Dictionary"};
  app.require_subcommand(1);
  std::string out = "runs/g2p", data = "data/cache/cmudict/index.js";
  app.add_option("--out", out, "run folder (model, vocabularies, checkpoints, metrics, pictures)")->capture_default_str();
  app.add_option("--data", data, "the dictionary's index.js (scripts/fetch_cmudict.sh fetches it)")->capture_default_str();

  auto* train_cmd = app.add_subcommand("train", "train on the train split, validate on dev, score the best on test "
                                      "(Ctrl-C saves last.ckpt after the current step: continue with --resume)");
  recipe::ModelFlags m;  // a bidirectional GRU encoder, additive attention, embeddings of 64
  recipe::TrainFlags t;
  t.group = seqgrad::distributed::world();  // the mpirun job's processes, or this one alone
  bool keep_stress = false;
  std::size_t train_beam = 4;
  recipe::add_model_options(*train_cmd, m, true);
  recipe::add_train_options(*train_cmd, t);
  recipe::add_config_options(*train_cmd);
  train_cmd->add_option("--beam", train_beam, "beam width of the final test scoring (in [1, 64])")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();
  train_cmd->add_flag("--keep-stress", keep_stress, "keep the vowels' stress digits (AH0 rather than AH)");

  auto* predict_cmd = app.add_subcommand("predict", "phonemes of words (any words) and their attention heatmaps");
  std::vector<std::string> words;
  std::string input;
  std::size_t beam = 4;
  predict_cmd->add_option("words", words, "words to pronounce");
  predict_cmd->add_option("--input", input, "also the words of this file, one a line ('-': standard input)");
  predict_cmd->add_option("--beam", beam, "beam width (in [1, 64])")->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();
  std::optional<std::size_t> head;
  predict_cmd->add_option("--head", head, "the heatmaps draw this attention head (from 0) of a multi-head model (default: the mean over heads; "
                                          "a transformer decoder's: its last layer's cross-attention)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{63}));

  auto* evaluate_cmd = app.add_subcommand("evaluate", "word and phoneme error rates of a trained model on dev and test");
  evaluate_cmd->add_option("--beam", beam, "beam width (1: greedy; in [1, 64])")->check(CLI::Range(std::size_t{1}, std::size_t{64}))->capture_default_str();

  recipe::add_version_flag(app, kProgram);
  if (const int code = recipe::parse(app, argc, argv, kProgram); code >= 0) return code;
  std::printf("seqgrad %s\n", seqgrad::backend_summary().c_str());
  return recipe::guarded(kProgram, [&] {
    if (*train_cmd) return train(data, out, m, t, keep_stress, train_beam);
    if (*predict_cmd) return predict(out, words, input, beam, head);
    return evaluate_run(data, out, beam);
  });
}
