// The run folder's guarantees, one test each, and corpus BLEU.
//   1. a start that fails validation writes nothing (config.json and vocabularies untouched)
//   2. a fresh start into a non-empty folder is refused; --resume without last.ckpt is an error
//   3. files are written atomically; a damaged config.json is refused naming the file
//   4. the configuration and vocabularies are bound to the checkpoint: swapped or dropped symbols refused
//   4b. a run on subwords keeps its subword model beside the vocabularies, bound the same way
//   5. leftover temporary files are removed at start; resume cuts the metrics log back to the checkpoint
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "seqgrad/autodiff/backward.hpp"
#include "seqgrad/nn/seq2seq/bleu.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/nn/seq2seq/run_folder.hpp"
#include "seqgrad/nn/seq2seq/subwords.hpp"
#include "seqgrad/nn/seq2seq/trainer.hpp"
#include "seqgrad/nn/seq2seq/trainer_checkpoint.hpp"
#include "seq2seq/record_messages.hpp"
#include "support/expect_error.hpp"
#include "support/file_bytes.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;
using seqgrad::test_support::expect_error;

namespace {

std::string slurp(const fs::path& f) { return test_support::read_file_bytes(f); }
void spit(const fs::path& f, const std::string& text) { test_support::write_file_bytes(f, text); }

const RunLayout kLayout{.source_vocab = "letters.json", .target_vocab = "phonemes.json"};

// Reversing words of 2-4 letters out of "abcdef".
struct Task {
  RunSpec spec;
  std::vector<Example> train, dev;
};
Task task(std::size_t hidden = 16) {
  Task t;
  const std::string letters = "abcdef";
  Generator gen(5);
  std::vector<Symbols> sources;
  for (int i = 0; i < 60; ++i) {
    Symbols s;
    for (std::size_t k = 0, n = 2 + gen.below(3); k < n; ++k) s.emplace_back(1, letters[gen.below(6)]);
    sources.push_back(s);
  }
  t.spec.source_vocab = t.spec.target_vocab = Vocabulary::build(sources);
  for (std::size_t i = 0; i < sources.size(); ++i) {
    Example e;
    e.source = t.spec.source_vocab.encode(sources[i]);
    e.target.assign(e.source.rbegin(), e.source.rend());
    (i % 6 == 5 ? t.dev : t.train).push_back(e);
  }
  ModelConfig& c = t.spec.model;
  c.src_vocab = c.tgt_vocab = t.spec.source_vocab.size();
  c.embedding_dim = 8;
  c.hidden_dim = hidden;
  c.attention_dim = 8;
  t.spec.settings = {{"tokens", "characters"}};
  return t;
}

TrainerOptions options(const RunFolder& run, const RunSpec& spec) {
  TrainerOptions o;
  o.batch_size = 10;
  o.shard_size = 5;
  o.max_epochs = 2;
  o.optimizer.lr = 0.01;
  o.reporter = nullptr;
  o.seed = 3;
  o.log_every_steps = 1;
  o.checkpoint_dir = run.checkpoint_dir();
  o.metrics_file = run.metrics_file();
  o.checkpoint_metadata = run.binding(spec);
  return o;
}

// A trained run in `dir` (2 epochs).
RunFolder trained(const fs::path& dir, const Task& t) {
  RunFolder run(dir, kLayout);
  run.check_start(StartMode::fresh, t.spec);
  run.start(StartMode::fresh, t.spec);
  Generator gen(1);
  Seq2Seq model(t.spec.model, gen);
  Trainer(model, t.train, t.dev, options(run, t.spec)).run();
  return run;
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return files;
}

}  // namespace

TEST(RunFolder, ATrainedRunLoadsWithItsSpec) {
  const Task t = task();
  const fs::path dir = test_support::fresh_temp_path("run_folder_loads");
  const RunFolder run = trained(dir, t);
  for (const fs::path& f : {run.config_file(), run.source_vocab_file(), run.target_vocab_file(), run.best_checkpoint(),
                            run.last_checkpoint(), run.metrics_file()})
    EXPECT_TRUE(fs::is_regular_file(f)) << f;
  const RunFolder::Loaded l = RunFolder(dir, kLayout).load_best();
  EXPECT_EQ(model_config_to_json(l.spec.model), model_config_to_json(t.spec.model));
  EXPECT_EQ(l.spec.source_vocab, t.spec.source_vocab);
  EXPECT_EQ(l.spec.settings, t.spec.settings);
  fs::remove_all(dir);
}

TEST(RunFolder, ModelConfigRoundTripsThroughJsonAndBadFieldsAreNamed) {
  ModelConfig c;
  c.src_vocab = 9;
  c.tgt_vocab = 11;
  c.encoder = EncoderKind::transformer;
  c.context = ContextKind::multi_head;
  c.dropout = 0.25;
  c.decoder = DecoderCell::lstm;
  EXPECT_EQ(model_config_to_json(model_config_from_json(model_config_to_json(c))), model_config_to_json(c));
  std::string j = model_config_to_json(c);
  expect_error<std::runtime_error>([&] { model_config_from_json(j.replace(j.find("\"hidden_dim\""), 12, "\"hidden_dimX\"")); },
                                   {"hidden_dim", "missing"});
  expect_error<std::runtime_error>([&] { model_config_from_json("[1]"); }, {"not a JSON object"});
  std::string extra = model_config_to_json(c);
  extra.insert(extra.find('{') + 1, "\"hiden_dim\":32,");  // a field no seqgrad reads is not passed over
  expect_error<std::runtime_error>([&] { model_config_from_json(extra); }, {"\"hiden_dim\"", "not a setting"});
  const std::string lstm = model_config_to_json(c);
  EXPECT_NE(lstm.find("\"decoder\":\"lstm\""), std::string::npos) << lstm;
  std::string rnn = lstm;
  rnn.replace(rnn.find("\"decoder\":\"lstm\""), 16, "\"decoder\":\"rnn\"");
  expect_error<std::runtime_error>([&] { model_config_from_json(rnn); }, {"decoder", "rnn", "gru, lstm"});
}

TEST(RunFolder, OptimizerOptionsRoundTripThroughJsonExactlyAndBadFieldsAreNamed) {
  using K = nn::OptimizerKind;
  for (const nn::OptimizerOptions& o : {nn::OptimizerOptions{.kind = K::sgd, .lr = 0.1 + 0.2, .momentum = 0.9, .nesterov = true},
                                        nn::OptimizerOptions{.kind = K::adam, .lr = 2e-3, .beta2 = 0.98, .eps = 1e-9},
                                        nn::OptimizerOptions{.kind = K::adamw, .lr = 1.0 / 3, .weight_decay = 0.01}})
    EXPECT_EQ(optimizer_options_from_json(optimizer_options_to_json(o)), o) << optimizer_options_to_json(o);
  EXPECT_EQ(optimizer_options_to_json({.kind = K::sgd, .lr = 0.5}),
            R"({"kind":"sgd","lr":0.5,"momentum":0.0,"nesterov":false,"weight_decay":0.0})");
  expect_error<std::runtime_error>([] { optimizer_options_from_json(R"({"kind":"adam","lr":0.1,"weight_decay":0,"beta1":0.9,"beta2":0.999,"eps":1e-8,"momentum":0.9})"); },
                                   {"\"momentum\"", "not a setting of adam"});
  expect_error<std::runtime_error>([] { optimizer_options_from_json(R"({"kind":"sgd","weight_decay":0,"momentum":0,"nesterov":false})"); },
                                   {"\"lr\"", "missing"});
  expect_error<std::runtime_error>([] { optimizer_options_from_json(R"({"kind":"rmsprop"})"); }, {"rmsprop", "sgd, adam, adamw"});
  expect_error<std::runtime_error>([] { optimizer_options_from_json(R"({"kind":"sgd","lr":"fast","weight_decay":0,"momentum":0,"nesterov":false})"); },
                                   {"\"lr\"", "\"fast\""});
  expect_error<std::runtime_error>([] { optimizer_options_from_json(R"({"kind":"sgd","lr":1,"weight_decay":0,"momentum":0,"nesterov":1})"); },
                                   {"\"nesterov\"", "true or false"});
}

// config.json records the optimizer; a resume with other optimizer settings is refused naming
// config.json and the setting, before anything is written.
TEST(RunFolder, TheOptimizerIsRecordedAndAResumeWithAnotherIsRefused) {
  Task t = task();
  t.spec.optimizer = nn::OptimizerOptions{.kind = nn::OptimizerKind::sgd, .lr = 0.05, .momentum = 0.9};
  const fs::path dir = test_support::fresh_temp_path("run_folder_optimizer");
  RunFolder run(dir, kLayout);
  run.check_start(StartMode::fresh, t.spec);
  run.start(StartMode::fresh, t.spec);
  EXPECT_NE(slurp(run.config_file()).find(R"("momentum": 0.9)"), std::string::npos) << slurp(run.config_file());
  EXPECT_EQ(run.read_spec().optimizer, t.spec.optimizer);
  Generator gen(1);
  Seq2Seq model(t.spec.model, gen);
  TrainerOptions o = options(run, t.spec);
  o.optimizer = *t.spec.optimizer;
  o.max_steps = 2;
  Trainer(model, t.train, t.dev, o).run();
  run.check_start(StartMode::resume, t.spec);  // the same optimizer resumes

  const auto before = snapshot(dir);
  Task other = t;
  other.spec.optimizer->momentum = 0.5;
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::resume, other.spec); },
                                   {"config.json", "optimizer", "\"momentum\" is 0.9 in the run, 0.5 in this command"});
  other.spec.optimizer = nn::OptimizerOptions{.kind = nn::OptimizerKind::adamw, .lr = 0.05};
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::resume, other.spec); },
                                   {"config.json", "optimizer", "\"kind\" is \"sgd\" in the run, \"adamw\" in this command"});
  EXPECT_EQ(snapshot(dir), before);

  // A run whose config.json records no optimizer (an older seqgrad's) is not resumed with one.
  const fs::path old_dir = test_support::fresh_temp_path("run_folder_optimizer_old");
  const RunFolder old_run = trained(old_dir, task());
  EXPECT_EQ(old_run.read_spec().optimizer, std::nullopt);
  expect_error<std::runtime_error>([&] { old_run.check_start(StartMode::resume, t.spec); },
                                   {"config.json", "optimizer", "records none"});
  fs::remove_all(dir);
  fs::remove_all(old_dir);
}

// The products' precision is recorded, but it is not part of the run's identity: the checkpoints
// bind the same hash whatever it is, a resume in the other precision passes and rewrites config.json
// with it, a run of an older seqgrad (no "precision") still loads, and a bad value is named.
TEST(RunFolder, ThePrecisionIsRecordedAndAResumeMayChangeIt) {
  Task t = task();
  t.spec.precision = Precision::bf16;
  const fs::path dir = test_support::fresh_temp_path("run_folder_precision");
  const RunFolder run = trained(dir, t);
  EXPECT_NE(slurp(run.config_file()).find(R"("precision": "bf16")"), std::string::npos) << slurp(run.config_file());
  EXPECT_EQ(run.read_spec().precision, Precision::bf16);
  Task f32 = t;
  f32.spec.precision = Precision::f32;
  EXPECT_EQ(run.binding(f32.spec), run.binding(t.spec));
  Task unrecorded = t;
  unrecorded.spec.precision.reset();
  EXPECT_EQ(run.binding(unrecorded.spec), run.binding(t.spec));
  run.check_start(StartMode::resume, f32.spec);
  run.start(StartMode::resume, f32.spec);
  EXPECT_EQ(run.read_spec().precision, Precision::f32);
  EXPECT_NO_THROW(run.load_best());  // config.json changed only in its precision: still bound
  std::string config = slurp(run.config_file());
  config.replace(config.find(R"("f32")"), 5, R"("f16")");
  std::ofstream(run.config_file(), std::ios::binary) << config;
  expect_error<std::runtime_error>([&] { run.read_spec(); }, {"config.json", "precision", "f16"});
  fs::remove_all(dir);
}

// 1. A start that fails (another --hidden on resume, a non-empty folder) writes nothing.
TEST(RunFolder, AFailedStartLeavesTheFolderUntouched) {
  const Task t = task();
  const fs::path dir = test_support::fresh_temp_path("run_folder_failed_start");
  const RunFolder run = trained(dir, t);
  const auto before = snapshot(dir);
  const Task other = task(/*hidden=*/24);
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::resume, other.spec); }, {"config.json", "hidden_dim", "16", "24"});
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::fresh, t.spec); }, {dir.string(), "--overwrite"});
  Task fewer = t;  // the data changed: another vocabulary
  fewer.spec.source_vocab = Vocabulary::build({{"a", "b"}});
  fewer.spec.model.src_vocab = fewer.spec.source_vocab.size();
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::resume, fewer.spec); }, {"letters.json"});
  EXPECT_EQ(snapshot(dir), before);
  fs::remove_all(dir);
}

// 2. No silent replacement, no silent fresh start on --resume.
TEST(RunFolder, FreshStartIntoARunAndResumeWithoutCheckpointAreErrors) {
  const Task t = task();
  const fs::path dir = test_support::fresh_temp_path("run_folder_fresh_start");
  const RunFolder run = trained(dir, t);
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::fresh, t.spec); }, {"not empty", "--resume", "--overwrite"});
  run.check_start(StartMode::resume, t.spec);  // fine: there is a last.ckpt
  fs::remove(run.last_checkpoint());
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::resume, t.spec); }, {"nothing to resume", "last.ckpt"});
  // The trainer itself refuses too.
  Generator gen(1);
  Seq2Seq model(t.spec.model, gen);
  TrainerOptions o = options(run, t.spec);
  o.resume = true;
  expect_error<std::runtime_error>([&] { Trainer(model, t.train, t.dev, o).run(); }, {"nothing to resume", "last.ckpt"});
  // --overwrite replaces the run's files and keeps what is not the run's.
  spit(dir / "notes.txt", "mine");
  run.check_start(StartMode::overwrite, t.spec);
  run.start(StartMode::overwrite, t.spec);
  EXPECT_FALSE(fs::exists(run.best_checkpoint()));
  EXPECT_FALSE(fs::exists(run.metrics_file()));
  EXPECT_EQ(slurp(dir / "notes.txt"), "mine");
  fs::remove_all(dir);
}

// --overwrite replaces a run and nothing else: a folder without a run's config.json, or with a file
// of the run's name that the run did not write, is refused before anything is removed.
TEST(RunFolder, OverwriteRefusesWhatIsNotTheRunsAndRemovesNothing) {
  const Task t = task();
  const fs::path mine = test_support::fresh_temp_path("run_folder_overwrite_mine");
  fs::create_directories(mine / "heatmaps");
  spit(mine / "config.json", "{\"my\": \"settings\"}");
  spit(mine / "metrics.jsonl", "my numbers");
  spit(mine / "heatmaps" / "figure1.png", "my figure");
  const RunFolder not_a_run(mine, kLayout);
  auto before = snapshot(mine);
  expect_error<std::runtime_error>([&] { not_a_run.check_start(StartMode::overwrite, t.spec); },
                                   {(mine / "config.json").string(), "not a seqgrad run's configuration", "nothing was removed"});
  EXPECT_EQ(snapshot(mine), before);
  fs::remove(mine / "config.json");
  spit(mine / "notes.txt", "mine");  // no config.json: only the run's own names may be there
  before = snapshot(mine);
  expect_error<std::runtime_error>([&] { not_a_run.check_start(StartMode::overwrite, t.spec); },
                                   {mine.string(), "no seqgrad run", "notes.txt", "nothing was removed"});
  EXPECT_EQ(snapshot(mine), before);
  fs::remove_all(mine);

  // A start killed before it wrote config.json left the run's own names only: replaced.
  const fs::path killed = test_support::fresh_temp_path("run_folder_overwrite_killed_start");
  fs::create_directories(killed / "checkpoints");
  spit(killed / "letters.json", "[");
  spit(killed / ".config.json.tmp-AbC123", "{");
  const RunFolder interrupted(killed, kLayout);
  interrupted.check_start(StartMode::overwrite, t.spec);
  interrupted.start(StartMode::overwrite, t.spec);
  EXPECT_NO_THROW(interrupted.read_spec());
  fs::remove_all(killed);

  const fs::path dir = test_support::fresh_temp_path("run_folder_overwrite_foreign");
  const RunFolder run = trained(dir, t);
  fs::remove(run.loss_plot());
  fs::create_directories(run.loss_plot());  // a folder where the run's picture goes
  spit(run.loss_plot() / "f", "mine");
  before = snapshot(dir);
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::overwrite, t.spec); },
                                   {run.loss_plot().string(), "nothing was removed"});
  EXPECT_EQ(snapshot(dir), before);
  fs::remove_all(run.loss_plot());
  fs::create_directories(run.heatmap_dir());
  spit(run.heatmap_dir() / "notes.txt", "mine");  // not a heat map
  before = snapshot(dir);
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::overwrite, t.spec); },
                                   {(run.heatmap_dir() / "notes.txt").string(), "nothing was removed"});
  EXPECT_EQ(snapshot(dir), before);
  fs::remove(run.heatmap_dir() / "notes.txt");
  spit(run.heatmap_dir() / "hello.png", "a heat map");
  run.check_start(StartMode::overwrite, t.spec);  // the run's own files only: fine
  run.start(StartMode::overwrite, t.spec);
  EXPECT_FALSE(fs::exists(run.heatmap_dir()));
  fs::remove_all(dir);
}

// 3. A damaged config.json is refused naming the file. (The files are written through
// seqgrad::AtomicFile, whose own tests are tests/test_atomic_file.cpp.)
TEST(RunFolder, ADamagedConfigIsNamed) {
  const fs::path dir = test_support::fresh_temp_path("run_folder_damaged_config");
  const Task t = task();
  const RunFolder run = trained(dir, t);
  spit(run.config_file(), "");  // what a kill during a non-atomic write left
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"config.json", "empty"});
  spit(run.config_file(), "{\"format\": ");
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"config.json", "not valid JSON"});
  spit(run.source_vocab_file(), "[");
  expect_error<std::runtime_error>([&] { RunFolder(dir, kLayout).read_spec(); }, {"config.json"});
  fs::remove_all(dir);
}

// 4. The vocabularies and the configuration are bound to the checkpoint.
TEST(RunFolder, SwappedOrDroppedSymbolsAndAnEditedConfigAreRefused) {
  const Task t = task();
  const fs::path dir = test_support::fresh_temp_path("run_folder_binding");
  const RunFolder run = trained(dir, t);
  const std::string letters = slurp(run.source_vocab_file()), config = slurp(run.config_file());

  Symbols swapped = t.spec.source_vocab.symbols();
  std::swap(swapped[4], swapped[5]);
  spit(run.source_vocab_file(), Vocabulary::from_symbols(swapped).to_json());
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"letters.json", "does not match", "best.ckpt"});

  Symbols dropped = t.spec.source_vocab.symbols();
  dropped.pop_back();
  spit(run.source_vocab_file(), Vocabulary::from_symbols(dropped).to_json());
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"letters.json"});
  spit(run.source_vocab_file(), letters);
  run.load_best();  // restored: loads again

  std::string edited = config;
  edited.replace(edited.find("\"dropout\": 0.0"), 14, "\"dropout\": 0.5");
  spit(run.config_file(), edited);
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"config.json", "does not match"});

  // Another hidden size: the tensors no longer fit the model, and the error blames config.json
  // (its hash in the checkpoint differs), naming the checkpoint and the shapes too.
  edited = config;
  edited.replace(edited.find("\"hidden_dim\": 16"), 16, "\"hidden_dim\": 32");
  spit(run.config_file(), edited);
  try {
    run.load_best();
    ADD_FAILURE() << "a config.json with another hidden_dim was accepted";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(what.starts_with(run.config_file().string() + ": does not match the checkpoint")) << what;
    for (const char* fragment : {"best.ckpt", "does not fit the checkpoint's tensors", "has shape"})
      EXPECT_NE(what.find(fragment), std::string::npos) << fragment << " not in: " << what;
  }
  spit(run.config_file(), config);
  run.load_best();  // restored: loads again
  fs::remove_all(dir);
}

// 4b. The subword model is written with the run, read back with it, and bound to the checkpoints:
// an edited, replaced or missing subwords.model is refused naming the file.
TEST(RunFolder, TheSubwordModelIsKeptAndBoundToTheCheckpoints) {
  Task t = task();
  const std::vector<std::string> text = {"abc abd abe", "bcd bce", "abcde edcba", "fab fac fad"};
  t.spec.subword_model = Subwords::train(text, 20).bytes();
  t.spec.settings["subwords"] = "20";
  const fs::path dir = test_support::fresh_temp_path("run_folder_subwords");
  const RunFolder run = trained(dir, t);
  EXPECT_EQ(slurp(run.subword_model_file()), *t.spec.subword_model);
  EXPECT_EQ(run.load_best().spec.subword_model, t.spec.subword_model);

  const std::string model = slurp(run.subword_model_file());
  spit(run.subword_model_file(), Subwords::train(text, 21).bytes());  // another valid model
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"subwords.model", "does not match", "best.ckpt"});
  std::string flipped = model;
  flipped[flipped.size() / 2] ^= 1;
  spit(run.subword_model_file(), flipped);
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"subwords.model", "does not match"});
  fs::remove(run.subword_model_file());
  expect_error<std::runtime_error>([&] { run.load_best(); }, {"subwords.model", "missing"});
  spit(run.subword_model_file(), model);
  run.load_best();  // restored: loads again

  // A resume whose data trains another subword model is refused before anything is written.
  RunSpec other = t.spec;
  other.subword_model = Subwords::train(text, 21).bytes();
  expect_error<std::runtime_error>([&] { run.check_start(StartMode::resume, other); }, {"subwords.model", "differs"});
  // A spec must say "subwords" exactly when it has a model.
  other.settings.erase("subwords");
  expect_error<std::invalid_argument>([&] { run.check_start(StartMode::overwrite, other); }, {"subword model"});
  fs::remove_all(dir);
}

// 5. Leftover temporaries go at the next start; resume leaves no duplicate metrics records.
TEST(RunFolder, LeftoverTemporariesAreRemovedAndResumeCutsTheMetricsLog) {
  const Task t = task();
  const fs::path dir = test_support::fresh_temp_path("run_folder_leftovers");
  RunFolder run(dir, kLayout);
  run.check_start(StartMode::fresh, t.spec);
  run.start(StartMode::fresh, t.spec);
  Generator gen(1);
  Seq2Seq model(t.spec.model, gen);
  TrainerOptions o = options(run, t.spec);
  o.max_steps = 3;  // an interruption after step 3 (last.ckpt at step 3)
  Trainer(model, t.train, t.dev, o).run();
  // What a kill after step 5 leaves: records of steps 4 and 5, half a line, a temporary checkpoint.
  std::ofstream(run.metrics_file(), std::ios::app) << "{\"step\":4,\"train_loss\":1}\n{\"step\":5,\"train_loss\":1}\n{\"step\":6,\"tr";
  // And the temporaries of every kind of file a run writes, pictures included (one pattern).
  fs::create_directories(run.heatmap_dir());
  const std::vector<fs::path> leftovers{run.checkpoint_dir() / ".last.ckpt.tmp-AbC123", dir / ".config.json.tmp-x1Y2z3",
                                        dir / ".loss.png.tmp-Qx7Z9a", run.heatmap_dir() / ".hello.png.tmp-000aZz"};
  for (const fs::path& f : leftovers) spit(f, "partial");
  spit(run.heatmap_dir() / "notes.tmp-AbC123", "the user's");

  run.check_start(StartMode::resume, t.spec);
  run.start(StartMode::resume, t.spec);
  for (const fs::path& f : leftovers) EXPECT_FALSE(fs::exists(f)) << f;
  EXPECT_EQ(slurp(run.heatmap_dir() / "notes.tmp-AbC123"), "the user's");
  o.max_steps = 0;
  o.resume = true;
  const auto messages = std::make_shared<test::RecordMessages>();
  o.reporter = messages;
  Trainer(model, t.train, t.dev, o).run();
  ASSERT_FALSE(messages->messages.empty());
  EXPECT_NE(messages->messages[0].find("removed the last 3 lines of " + run.metrics_file().string()), std::string::npos)
      << messages->messages[0];
  const auto series = read_metrics_series(run.metrics_file(), "step", {"train_loss"});
  const std::vector<double>& steps = series.at(0).x;
  ASSERT_EQ(steps.size(), 10u);  // 50 examples in batches of 10, 2 epochs: each step logged once
  for (std::size_t i = 0; i < steps.size(); ++i) EXPECT_EQ(steps[i], double(i + 1));
  fs::remove_all(dir);
}

TEST(MetricsLog, TruncateKeepsRecordsUpToTheStep) {
  const fs::path dir = test_support::fresh_temp_path("run_folder_truncate");
  fs::create_directories(dir);
  const fs::path f = dir / "m.jsonl";
  spit(f, "{\"step\":1}\n{\"step\":2,\"dev_loss\":1}\n{\"step\":3}\n{\"step\":2}\n");
  EXPECT_EQ(truncate_metrics_log(f, "step", 2), 2u);
  EXPECT_EQ(slurp(f), "{\"step\":1}\n{\"step\":2,\"dev_loss\":1}\n");
  EXPECT_EQ(truncate_metrics_log(f, "step", 2), 0u);
  fs::remove_all(dir);
}

TEST(Bleu, MatchesAHandComputedCorpusScore) {
  // Output 1 "a b c d e" against "a b c d f": n-gram matches 4/5, 3/4, 2/3, 1/2.
  // Output 2 "a b c" against {"a b c x", "a b"}: 3/3, 2/2, 1/1, 0/0; closest length: 4 and 2 tie, the shorter (2).
  // p = 7/8, 5/6, 3/4, 1/2; c = 8 > r = 5 + 2, so no brevity penalty.
  const TokenId a = 4, b = 5, c = 6, d = 7, e = 8, f = 9, x = 10;
  const BleuScore s = corpus_bleu({{a, b, c, d, e}, {a, b, c}}, {{{a, b, c, d, f}}, {{a, b, c, x}, {a, b}}});
  ASSERT_EQ(s.precisions.size(), 4u);
  EXPECT_DOUBLE_EQ(s.precisions[0], 7.0 / 8);
  EXPECT_DOUBLE_EQ(s.precisions[1], 5.0 / 6);
  EXPECT_DOUBLE_EQ(s.precisions[2], 3.0 / 4);
  EXPECT_DOUBLE_EQ(s.precisions[3], 1.0 / 2);
  EXPECT_EQ(s.reference_length, 7u);
  EXPECT_DOUBLE_EQ(s.brevity_penalty, 1.0);
  EXPECT_NEAR(s.bleu, std::pow(105.0 / 384.0, 0.25), 1e-12);  // 0.72313...
  EXPECT_NEAR(s.bleu, 0.7231, 1e-4);
}

TEST(Bleu, BrevityPenaltyClippingAndZeroCases) {
  // "a b" against "a b c d": p1 = p2 = 1, c = 2 < r = 4: BP = exp(1 - 4/2).
  const BleuScore s = corpus_bleu({{4, 5}}, {{{4, 5, 6, 7}}}, 2);
  EXPECT_DOUBLE_EQ(s.brevity_penalty, std::exp(-1.0));
  EXPECT_DOUBLE_EQ(s.bleu, std::exp(-1.0));
  // "a a a a" against "a b": the unigram "a" counts once only.
  EXPECT_DOUBLE_EQ(corpus_bleu({{4, 4, 4, 4}}, {{{4, 5}}}, 1).precisions[0], 0.25);
  EXPECT_EQ(corpus_bleu({{4, 5, 6}}, {{{7, 8, 9}}}).bleu, 0.0);
  EXPECT_EQ(corpus_bleu({{}}, {{{4}}}).bleu, 0.0);
  EXPECT_THROW(corpus_bleu({{4}}, {}), std::invalid_argument);
  EXPECT_THROW(corpus_bleu({{4}}, {{}}), std::invalid_argument);
}

// At the run folder's level (the checkpoint reader's own checks are nn's tests): a checkpoint path
// that is a directory, NaN weights in a checksum-valid checkpoint, and trainer metadata that is not
// a number are refused with messages naming the file and the field.
TEST(RunFolder, DirectoryCheckpointNanWeightsAndNonNumericMetadataAreRefused) {
  const Task t = task();
  const fs::path dir = test_support::fresh_temp_path("run_folder_bad_checkpoint");
  const RunFolder run = trained(dir, t);
  fs::create_directories(dir / "adir");
  expect_error<std::runtime_error>([&] { run.load(dir / "adir"); }, {"adir", "not a regular file"});

  RunFolder::Loaded l = run.load_best();
  const auto params = l.model->named_parameters();
  std::vector<double> values = params.front().second.to_vector();
  values[0] = std::nan("");
  {
    NoGradGuard no_grad;
    Tensor p = params.front().second;
    p.copy_from_(Tensor::from(values, p.shape(), p.dtype()));
  }
  // nn's checkpoints refuse non-finite weights when saving (and loading); RunFolder::load checks again.
  expect_error<std::runtime_error>([&] { nn::save_checkpoint(dir / "nan.ckpt", *l.model, nullptr, run.binding(t.spec)); },
                                   {"nan.ckpt", params.front().first, "NaN"});
  EXPECT_FALSE(fs::exists(dir / "nan.ckpt"));

  Generator gen(1);
  Seq2Seq model(t.spec.model, gen);
  nn::Adam adam(model.named_parameters(), {.lr = 0.01});
  nn::CheckpointMetadata metadata = run.binding(t.spec);
  TrainerOptions o = options(run, t.spec);
  metadata.merge(TrainerCheckpointMetadata{.seed = o.seed, .optimizer = nn::to_string(o.optimizer)}.to_metadata());
  metadata["trainer.step"] = "12abc";
  nn::save_checkpoint(run.last_checkpoint(), model, &adam, metadata);
  o.resume = true;
  expect_error<std::runtime_error>([&] { Trainer(model, t.train, t.dev, o).run(); }, {"last.ckpt", "trainer.step", "12abc"});
  fs::remove_all(dir);
}
