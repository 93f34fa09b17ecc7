// Checkpoints and weights files (safetensors): a round trip restores parameters, optimizer state and
// step count bit for bit (and training continues exactly as without the round trip); every kind of
// bad file is refused with an error naming the file and the problem, leaving model and optimizer
// untouched; a failed save leaves the previous checkpoint intact. The format's own checks (any
// safetensors file) are in test_safetensors.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
#include "seqgrad/ops/linalg.hpp"
#include "support/file_size_limit.hpp"
#include "support/safetensors_edit.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;

namespace {

struct TinyConfig {
  std::size_t out = 2;       // proj: Linear(3, out), norm: LayerNorm(out)
  bool norm = true;
  bool extra = false;        // one more top-level parameter
  DType dtype = DType::f32;
};

struct Tiny : nn::Module {
  explicit Tiny(std::uint64_t seed, TinyConfig c = {}) {
    Generator gen(seed);
    embed = register_module("embed", std::make_shared<nn::Embedding>(6, 3, gen, nn::EmbeddingOptions{.dtype = c.dtype}));
    proj = register_module("proj", std::make_shared<nn::Linear>(3, c.out, gen, nn::LinearOptions{.dtype = c.dtype}));
    if (c.norm) register_module("norm", std::make_shared<nn::LayerNorm>(c.out, nn::LayerNormOptions{.dtype = c.dtype}));
    if (c.extra) register_parameter("extra", Tensor::ones({2}, c.dtype));
  }
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::Linear> proj;
};

// Gives every parameter a seeded random gradient and takes one optimizer step.
void train_step(nn::Module& m, nn::Optimizer& opt, std::uint64_t seed) {
  Generator gen(seed);
  for (auto& [_, p] : m.named_parameters()) p.grad() = randn(p.shape(), p.dtype(), gen);
  opt.step();
}

std::vector<char> bytes_of(const Tensor& t) {
  const char* p = static_cast<const char*>(t.raw_data());
  return {p, p + t.numel() * dtype_size(t.dtype())};
}

// Everything load_checkpoint may change, as bytes, for "left unchanged" checks.
struct Snapshot {
  std::vector<std::vector<char>> tensors;
  std::int64_t steps = 0;
  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const nn::Module& m, const nn::Optimizer* opt) {
  Snapshot s;
  for (auto& [_, p] : m.named_parameters()) s.tensors.push_back(bytes_of(p));
  if (opt) {
    for (auto& [_, t] : opt->state()) s.tensors.push_back(bytes_of(t));
    s.steps = opt->step_count();
  }
  return s;
}

std::string read_all(const fs::path& f) { return seqgrad::test_support::read_file_bytes(f); }
void write_all(const fs::path& f, const std::string& data) { seqgrad::test_support::write_file_bytes(f, data); }

using seqgrad::test_support::join_safetensors;
using seqgrad::test_support::resealed;
using seqgrad::test_support::split_safetensors;

// Where the data of tensor `name` begins in the file's bytes.
std::size_t data_position(const std::string& file_bytes, const std::string& name) {
  std::uint64_t n = 0;
  std::memcpy(&n, file_bytes.data(), 8);
  return 8 + n + split_safetensors(file_bytes).header.at(name).at("data_offsets").at(0).get<std::size_t>();
}

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = seqgrad::test_support::temp_path(std::string("ckpt_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    file = dir / "model.ckpt";
  }
  void TearDown() override { fs::remove_all(dir); }

  // A trained model and optimizer saved to `file`.
  void save_trained(Tiny& m, nn::Adam& opt) {
    train_step(m, opt, 100);
    train_step(m, opt, 101);
    nn::save_checkpoint(file, m, &opt, {{"epoch", "3"}, {"rng", "12345"}});
  }

  // `parts` with metadata `key` set to `value` (checksum made right again), written to `bad`, must be
  // refused with `expected`.
  void expect_metadata_refused(test_support::SafetensorsParts parts, const std::string& key, const std::string& value,
                               const fs::path& bad, const std::string& expected) {
    parts.header["__metadata__"][key] = value;
    write_all(bad, join_safetensors(resealed(parts)));
    expect_refused(bad, expected);
  }

  // The bytes of a trained model's checkpoint (saved to `file`), for the tests that damage them.
  std::string trained_checkpoint_bytes() {
    Tiny m(1);
    nn::Adam opt(m.named_parameters());
    save_trained(m, opt);
    return read_all(file);
  }

  // Loading `bad` into a fresh model/optimizer throws a runtime_error that names the file and
  // contains `expected`, and changes nothing.
  void expect_refused(const fs::path& bad, const std::string& expected) {
    Tiny m(7);
    nn::Adam opt(m.named_parameters());
    train_step(m, opt, 5);
    const Snapshot before = snapshot(m, &opt);
    try {
      nn::load_checkpoint(bad, m, &opt);
      ADD_FAILURE() << "loaded a bad file; expected an error containing '" << expected << "'";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(bad.string()), std::string::npos) << what;
      EXPECT_NE(what.find(expected), std::string::npos) << what;
    }
    EXPECT_TRUE(snapshot(m, &opt) == before) << "a refused load changed the model or optimizer";
  }

  fs::path dir, file;
};

}  // namespace

TEST_F(Checkpoint, RoundTripIsBitwise) {
  Tiny a(1);
  nn::Adam opt_a(a.named_parameters(), {.lr = 0.01});
  save_trained(a, opt_a);

  Tiny b(2);  // other initial weights
  nn::Adam opt_b(b.named_parameters(), {.lr = 0.01});
  ASSERT_FALSE(snapshot(a, &opt_a) == snapshot(b, &opt_b));
  const nn::LoadedCheckpoint loaded = nn::load_checkpoint(file, b, &opt_b);
  EXPECT_TRUE(snapshot(a, &opt_a) == snapshot(b, &opt_b));
  EXPECT_EQ(opt_b.step_count(), 2);
  EXPECT_EQ(loaded.step_count, 2);
  EXPECT_EQ(loaded.metadata, (nn::CheckpointMetadata{{"epoch", "3"}, {"rng", "12345"}}));
  EXPECT_EQ(opt_b.state_buffer(0, "step").item(), 2.0);

  // Training on from the loaded state is exactly training on without the round trip.
  train_step(a, opt_a, 102);
  train_step(b, opt_b, 102);
  EXPECT_TRUE(snapshot(a, &opt_a) == snapshot(b, &opt_b));
}

// The metadata alone, read before anything is loaded (what a trainer compares with its settings):
// the caller's entries as saved, after the same verification as a load.
TEST_F(Checkpoint, MetadataIsReadWithoutLoadingAndVerified) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  EXPECT_EQ(nn::read_checkpoint_metadata(file), (nn::CheckpointMetadata{{"epoch", "3"}, {"rng", "12345"}}));
  std::string data = read_all(file);
  data[data.size() - 1] ^= 0x10;
  const fs::path bad = dir / "corrupt.ckpt";
  write_all(bad, data);
  try {
    nn::read_checkpoint_metadata(bad);
    ADD_FAILURE() << "read the metadata of a corrupted file";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(bad.string()), std::string::npos) << what;
    EXPECT_NE(what.find("checksum mismatch"), std::string::npos) << what;
  }
}

TEST_F(Checkpoint, ModelOnlyAndSGDState) {
  Tiny a(1);
  nn::SGD sgd(a.named_parameters(), {.lr = 0.1, .momentum = 0.9});
  train_step(a, sgd, 3);
  nn::save_checkpoint(file, a, &sgd);

  Tiny b(2);
  nn::load_checkpoint(file, b);  // the optimizer state in the file is not needed for inference
  EXPECT_TRUE(snapshot(a, nullptr) == snapshot(b, nullptr));

  nn::SGD sgd_b(b.named_parameters(), {.lr = 0.1, .momentum = 0.9});
  nn::load_checkpoint(file, b, &sgd_b);
  EXPECT_TRUE(snapshot(a, &sgd) == snapshot(b, &sgd_b));

  nn::save_checkpoint(file, a);  // no optimizer: loading one must fail
  expect_refused(file, "holds no optimizer state");
}

TEST_F(Checkpoint, TruncatedFilesAreRefused) {
  const std::string good = trained_checkpoint_bytes();
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, good.data(), 8);
  const fs::path bad = dir / "truncated.ckpt";
  // In the length, in the header, at the start of the data, in the middle, near and at the end.
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{8}, std::size_t{19}, std::size_t{100},
                           8 + header_bytes, 8 + header_bytes + 1, good.size() / 2, good.size() - 4, good.size() - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(good.size()) + " bytes");
    write_all(bad, good.substr(0, keep));
    expect_refused(bad, "truncated");
  }
}

TEST_F(Checkpoint, CorruptedBytesAreRefused) {
  const std::string good = trained_checkpoint_bytes();
  const fs::path bad = dir / "corrupt.ckpt";
  // Bytes of parameters and of optimizer state, the first and the last byte of the data.
  for (std::size_t at : {data_position(good, "proj.weight") + 2, data_position(good, "optimizer.exp_avg_sq.embed.weight"),
                         data_position(good, "embed.weight"), good.size() - 1, good.size() / 2}) {
    SCOPED_TRACE("flipped byte " + std::to_string(at));
    std::string data = good;
    data[at] ^= 0x10;
    write_all(bad, data);
    expect_refused(bad, "checksum mismatch");
  }
  // Changes to the header that keep it well-formed: a metadata value, the step count, a tensor's
  // name, its shape (same number of elements), its dtype (same number of bytes).
  const auto edited = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto parts = split_safetensors(good);
    edit(parts.header);
    write_all(bad, join_safetensors(parts));
    return bad;
  };
  expect_refused(edited([](auto& h) { h["__metadata__"]["epoch"] = "4"; }), "checksum mismatch");
  expect_refused(edited([](auto& h) { h["__metadata__"]["seqgrad.step_count"] = "3"; }), "checksum mismatch");
  expect_refused(edited([](auto& h) { h["__metadata__"]["added"] = "x"; }), "checksum mismatch");
  expect_refused(edited([](auto& h) { h["__metadata__"].erase("epoch"); }), "checksum mismatch");
  expect_refused(edited([](auto& h) {
                   h["proj.wfight"] = h["proj.weight"];
                   h.erase("proj.weight");
                 }),
                 "checksum mismatch");
  expect_refused(edited([](auto& h) { h["proj.weight"]["shape"] = {3, 2}; }), "checksum mismatch");
  expect_refused(edited([](auto& h) { h["optimizer.step.proj.bias"]["dtype"] = "F64"; }), "checksum mismatch");
  expect_refused(edited([](auto& h) { h["__metadata__"].erase("seqgrad.crc32"); }), "has no seqgrad.crc32");

  write_all(bad, good + "extra");
  expect_refused(bad, "5 unexpected bytes after the end");
  expect_refused(dir / "no_such_file.ckpt", "cannot open");
  fs::create_directory(dir / "a_directory.ckpt");
  expect_refused(dir / "a_directory.ckpt", "is a directory, not a file");
  write_all(bad, std::string("SGRDCKPT\x01\0\0\0", 12));  // the old format: its magic read as a header length
  expect_refused(bad, "beyond the limit of 100000000 bytes");
}

TEST_F(Checkpoint, ChecksumIsTheDocumentedOne) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const auto parts = split_safetensors(read_all(file));
  EXPECT_EQ(resealed(parts).header, parts.header);  // recomputed from checkpoint.hpp's definition alone
}

TEST_F(Checkpoint, FormatVersionsOtherThanThisOneAreRefused) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  auto parts = split_safetensors(read_all(file));
  EXPECT_EQ(parts.header["__metadata__"]["seqgrad.checkpoint_version"], std::to_string(nn::kCheckpointFormatVersion));
  const fs::path bad = dir / "version.ckpt";
  const std::string newer = std::to_string(nn::kCheckpointFormatVersion + 1);
  expect_metadata_refused(parts, "seqgrad.checkpoint_version", newer, bad, "checkpoint format version " + newer + " is newer than this build reads");
  expect_metadata_refused(parts, "seqgrad.checkpoint_version", "1", bad, "checkpoint format version 1 is no longer read");
  expect_metadata_refused(parts, "seqgrad.checkpoint_version", "two", bad, "seqgrad.checkpoint_version 'two' is not a version number");

  // A weights file is not a checkpoint.
  nn::save_weights(bad, m);
  expect_refused(bad, "not a seqgrad training checkpoint");
}

TEST_F(Checkpoint, BadValuesInAChecksumValidFileAreRefused) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const std::string good = read_all(file);
  const fs::path bad = dir / "values.ckpt";
  // Sets element `index` of tensor `name` (float32) and makes the checksum fit again.
  const auto poked = [&](const std::string& name, std::size_t index, float value) {
    auto parts = split_safetensors(good);
    const auto offset = parts.header[name]["data_offsets"][0].get<std::size_t>() + index * sizeof(float);
    std::memcpy(parts.data.data() + offset, &value, sizeof value);
    write_all(bad, join_safetensors(resealed(parts)));
    return bad;
  };
  expect_refused(poked("proj.weight", 1, std::nanf("")), "parameter 'proj.weight' holds NaN at element 1");
  expect_refused(poked("norm.bias", 0, -INFINITY), "parameter 'norm.bias' holds -inf at element 0");
  expect_refused(poked("optimizer.exp_avg.embed.weight", 17, INFINITY),
                 "optimizer state 'optimizer.exp_avg.embed.weight' holds inf at element 17");

  auto parts = split_safetensors(good);
  const std::int64_t negative = -1;
  std::memcpy(parts.data.data() + parts.header["optimizer.step.proj.bias"]["data_offsets"][0].get<std::size_t>(),
              &negative, 8);
  write_all(bad, join_safetensors(resealed(parts)));
  expect_refused(bad, "optimizer state 'optimizer.step.proj.bias' holds a negative step count");

  parts = split_safetensors(good);
  expect_metadata_refused(parts, "seqgrad.step_count", "2x", bad, "seqgrad.step_count '2x' is not an integer");
  expect_metadata_refused(parts, "seqgrad.step_count", "-3", bad, "negative step count -3");

  // Without NaN, the same edits load (the refusals above are the values', not the resealing's).
  write_all(bad, join_safetensors(resealed(split_safetensors(good))));
  Tiny other(5);
  nn::Adam other_opt(other.named_parameters());
  EXPECT_EQ(nn::load_checkpoint(bad, other, &other_opt).step_count, 2);
  EXPECT_TRUE(snapshot(m, &opt) == snapshot(other, &other_opt));
}

TEST_F(Checkpoint, NonFiniteValuesAreNotSaved) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const std::string good = read_all(file);
  m.proj->weight.data<float>()[3] = std::nanf("");
  try {
    nn::save_checkpoint(file, m, &opt);
    ADD_FAILURE() << "saved a NaN weight";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(file.string() + ": tensor 'proj.weight' holds NaN at element 3; nothing was written"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(read_all(file), good);  // the last good checkpoint survives
  EXPECT_THROW(nn::save_weights(dir / "w.safetensors", m), std::runtime_error);
  EXPECT_FALSE(fs::exists(dir / "w.safetensors"));
}

TEST_F(Checkpoint, ReservedMetadataKeysAreRefused) {
  Tiny m(1);
  EXPECT_THROW(nn::save_checkpoint(file, m, nullptr, {{"format", "np"}}), std::invalid_argument);
  EXPECT_THROW(nn::save_checkpoint(file, m, nullptr, {{"seqgrad.step_count", "9"}}), std::invalid_argument);
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(Checkpoint, FileHoldsWhatTheHeaderDocuments) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const auto contents = nn::safetensors::read(file);  // any safetensors reader can read it
  EXPECT_EQ(contents.metadata.at("format"), "pt");
  EXPECT_EQ(contents.metadata.at("seqgrad.step_count"), "2");
  EXPECT_EQ(contents.metadata.at("seqgrad.optimizer"), "Adam");
  EXPECT_EQ(contents.metadata.at("epoch"), "3");
  EXPECT_EQ(contents.metadata.at("seqgrad.crc32").size(), 8u);
  for (const auto& [name, p] : m.named_parameters()) {
    ASSERT_TRUE(contents.tensors.count(name)) << name;
    EXPECT_EQ(bytes_of(contents.tensors.at(name)), bytes_of(p)) << name;
  }
  for (const auto& [name, t] : opt.state()) {
    const std::string in_file = "optimizer." + name.substr(0, name.find('/')) + "." + name.substr(name.find('/') + 1);
    ASSERT_TRUE(contents.tensors.count(in_file)) << in_file;
    EXPECT_EQ(bytes_of(contents.tensors.at(in_file)), bytes_of(t)) << in_file;
  }
  EXPECT_EQ(contents.tensors.size(), m.named_parameters().size() + opt.state().size());
}

TEST_F(Checkpoint, OtherModelsAreRefusedNamingWhatDiffers) {
  Tiny saved(1);
  nn::Adam opt(saved.named_parameters());
  save_trained(saved, opt);

  const auto refused = [&](TinyConfig config, bool with_optimizer, std::vector<std::string> expected) {
    Tiny m(9, config);
    nn::Adam other_opt(m.named_parameters());
    const Snapshot before = snapshot(m, &other_opt);
    try {
      nn::load_checkpoint(file, m, with_optimizer ? &other_opt : nullptr);
      ADD_FAILURE() << "loaded into a different model";
    } catch (const std::runtime_error& e) {
      for (const auto& part : expected) EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
    EXPECT_TRUE(snapshot(m, &other_opt) == before);
  };
  refused({.extra = true}, false, {"missing parameters (in the model, not in the file): 'extra' [2]"});
  refused({.norm = false}, false,
          {"unexpected tensors (in the file, not in the model): 'norm.bias' [2], 'norm.weight' [2]"});
  refused({.out = 4}, false, {"parameter 'proj.weight' has shape [2,3] in the file, [4,3] in the model",
                              "parameter 'norm.bias' has shape [2] in the file, [4] in the model"});
  refused({.dtype = DType::f64}, false, {"parameter 'embed.weight' is F32 in the file, F64 (float64) in the model"});
  refused({.extra = true}, true, {"missing optimizer state (in the optimizer, not in the file): 'optimizer.step.extra' [], "
                                  "'optimizer.exp_avg.extra' [2]",
                                  "missing parameters (in the model, not in the file): 'extra'"});

  // The model matches but the optimizer does not: nothing is written, not even the parameters.
  Tiny m(9);
  nn::NamedParameters embedding_only{m.named_parameters()[0]};
  nn::Adam partial(embedding_only);
  Snapshot before = snapshot(m, &partial);
  try {
    nn::load_checkpoint(file, m, &partial);
    ADD_FAILURE() << "loaded optimizer state of other parameters";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unexpected optimizer state (in the file, not in the optimizer): "
                                         "'optimizer.exp_avg.norm.bias' [2]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(snapshot(m, &partial) == before);

  nn::SGD sgd(m.named_parameters());
  before = snapshot(m, &sgd);
  try {
    nn::load_checkpoint(file, m, &sgd);
    ADD_FAILURE() << "loaded Adam state into SGD";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the file holds Adam state, the optimizer is SGD"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(snapshot(m, &sgd) == before);
}

TEST_F(Checkpoint, OverwriteReplacesTheFile) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  train_step(m, opt, 200);
  nn::save_checkpoint(file, m, &opt, {{"epoch", "4"}});
  Tiny other(2);
  nn::Adam other_opt(other.named_parameters());
  EXPECT_EQ(nn::load_checkpoint(file, other, &other_opt).metadata.at("epoch"), "4");
  EXPECT_TRUE(snapshot(m, &opt) == snapshot(other, &other_opt));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no temporary left
}

TEST_F(Checkpoint, FailedWriteLeavesTheOldFileIntact) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const std::string good = read_all(file);
  train_step(m, opt, 300);

  // The disk fills up in the middle of the write: a file-size limit makes write() fail with EFBIG.
  std::string error;
  try {
    const test_support::FileSizeLimit full_disk(64);
    nn::save_checkpoint(file, m, &opt);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }

  EXPECT_NE(error.find(file.string()), std::string::npos) << "no error naming the file: '" << error << "'";
  EXPECT_NE(error.find("cannot write"), std::string::npos) << error;
  EXPECT_NE(error.find(std::strerror(EFBIG)), std::string::npos) << error;  // the system's reason
  EXPECT_EQ(read_all(file), good);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // temporary removed
}

TEST_F(Checkpoint, UnwritableTargetsThrowNamingTheFile) {
  Tiny m(1);
  const fs::path missing_dir = dir / "no" / "such" / "dir" / "model.ckpt";
  try {
    nn::save_checkpoint(missing_dir, m);
    FAIL() << "saved into a directory that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(missing_dir.string()), std::string::npos) << e.what();
  }
  // The target is a directory: the rename fails and the temporary file is removed.
  fs::create_directory(dir / "taken");
  EXPECT_THROW(nn::save_checkpoint(dir / "taken", m), std::runtime_error);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

// ---- weights files ----

TEST_F(Checkpoint, WeightsRoundTripBitwiseWithMetadata) {
  Tiny a(1), b(2);
  ASSERT_FALSE(snapshot(a, nullptr) == snapshot(b, nullptr));
  const fs::path weights = dir / "model.safetensors";
  nn::save_weights(weights, a, {{"vocab", "letters"}});
  const nn::LoadedWeights loaded = nn::load_weights(weights, b);
  EXPECT_TRUE(snapshot(a, nullptr) == snapshot(b, nullptr));
  EXPECT_EQ(loaded.metadata, (nn::safetensors::Metadata{{"format", "pt"}, {"vocab", "letters"}}));
  EXPECT_TRUE(loaded.missing.empty());
  EXPECT_TRUE(loaded.unexpected.empty());
  // A format of the caller's own is kept.
  nn::save_weights(weights, a, {{"format", "seqgrad"}});
  EXPECT_EQ(nn::load_weights(weights, b).metadata.at("format"), "seqgrad");
}

TEST_F(Checkpoint, LoadingInsideAWeightTransposeScopeIsRefused) {
  // Loading overwrites weights whose transposed copies the scope may hold.
  Tiny a(1), b(2);
  const fs::path weights = dir / "model.safetensors";
  nn::save_weights(weights, a);
  nn::save_checkpoint(dir / "ckpt.safetensors", a, nullptr);
  const auto before = snapshot(b, nullptr);
  {
    WeightTransposeScope scope;
    EXPECT_THROW(nn::load_weights(weights, b), std::logic_error);
    EXPECT_THROW(nn::load_checkpoint(dir / "ckpt.safetensors", b, nullptr), std::logic_error);
  }
  EXPECT_TRUE(snapshot(b, nullptr) == before);
  nn::load_weights(weights, b);  // fine once the scope has ended
  EXPECT_TRUE(snapshot(a, nullptr) == snapshot(b, nullptr));
}

TEST_F(Checkpoint, WeightsOfOtherModelsStrictAndNot) {
  Tiny saved(1);
  const fs::path weights = dir / "model.safetensors";
  nn::save_weights(weights, saved);

  // Strict: names missing from the file and names the model lacks are listed together; nothing changes.
  Tiny other(9, {.norm = false, .extra = true});
  const Snapshot before = snapshot(other, nullptr);
  try {
    nn::load_weights(weights, other);
    ADD_FAILURE() << "loaded other names strictly";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    for (const char* part : {"load_weights: ", "missing parameters (in the model, not in the file): 'extra' [2]",
                             "unexpected tensors (in the file, not in the model): 'norm.bias' [2], 'norm.weight' [2]",
                             "with .strict = false"})
      EXPECT_NE(what.find(part), std::string::npos) << what;
    EXPECT_NE(what.find(weights.string()), std::string::npos) << what;
  }
  EXPECT_TRUE(snapshot(other, nullptr) == before);

  // Not strict: what both have is loaded, the rest reported.
  const nn::LoadedWeights loaded = nn::load_weights(weights, other, {.strict = false});
  EXPECT_EQ(loaded.missing, std::vector<std::string>{"extra"});
  EXPECT_EQ(loaded.unexpected, (std::vector<std::string>{"norm.bias", "norm.weight"}));
  EXPECT_EQ(bytes_of(other.proj->weight), bytes_of(saved.proj->weight));
  EXPECT_EQ(bytes_of(other.embed->weight), bytes_of(saved.embed->weight));
  EXPECT_EQ(other.parameter("extra").to_vector(), (std::vector<double>{1, 1}));

  // Shapes and dtypes must match even when not strict.
  Tiny wider(9, {.out = 4});
  const Snapshot wider_before = snapshot(wider, nullptr);
  EXPECT_THROW(nn::load_weights(weights, wider, {.strict = false}), std::runtime_error);
  EXPECT_TRUE(snapshot(wider, nullptr) == wider_before);
  Tiny f64(9, {.dtype = DType::f64});
  try {
    nn::load_weights(weights, f64, {.strict = false});
    ADD_FAILURE() << "loaded float32 into float64";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("parameter 'embed.weight' is F32 in the file, F64 (float64) in the model"),
              std::string::npos)
        << e.what();
  }

  // A checkpoint holds the weights and more: strictly refused, loadable without strict.
  nn::Adam opt(saved.named_parameters());
  save_trained(saved, opt);
  Tiny from_checkpoint(3);
  EXPECT_THROW(nn::load_weights(file, from_checkpoint), std::runtime_error);
  const auto partial = nn::load_weights(file, from_checkpoint, {.strict = false});
  EXPECT_TRUE(partial.missing.empty());
  EXPECT_EQ(partial.unexpected.size(), opt.state().size());
  EXPECT_TRUE(snapshot(from_checkpoint, nullptr) == snapshot(saved, nullptr));
}

TEST_F(Checkpoint, NonFiniteWeightsAreRefusedNamingTheTensor) {
  Tiny m(1);
  const fs::path weights = dir / "nan.safetensors";
  // Written with the format-level writer, which does not judge values.
  Tensor poisoned = m.proj->bias.clone();
  poisoned.data<float>()[1] = std::nanf("");
  nn::safetensors::NamedTensors tensors;
  for (const auto& [name, p] : m.named_parameters()) tensors.emplace_back(name, name == "proj.bias" ? poisoned : p);
  nn::safetensors::write(weights, tensors);
  Tiny other(2);
  const Snapshot before = snapshot(other, nullptr);
  for (bool strict : {true, false}) {
    try {
      nn::load_weights(weights, other, {.strict = strict});
      ADD_FAILURE() << "loaded a NaN weight";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("parameter 'proj.bias' holds NaN at element 1"), std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(snapshot(other, nullptr) == before);
  }
}

TEST_F(Checkpoint, DamagedWeightsFilesAreRefusedNamingTheFile) {
  Tiny m(1);
  const fs::path weights = dir / "model.safetensors";
  nn::save_weights(weights, m);
  const std::string good = read_all(weights);
  Tiny other(2);
  const Snapshot before = snapshot(other, nullptr);
  const auto refused = [&](const std::string& bytes, const std::string& expected) {
    write_all(weights, bytes);
    try {
      nn::load_weights(weights, other);
      ADD_FAILURE() << "loaded a damaged file; expected '" << expected << "'";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("load_weights: " + weights.string() + ": " + expected), std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(snapshot(other, nullptr) == before);
  };
  refused(good.substr(0, good.size() - 1), "truncated");
  refused(good + "x", "1 unexpected bytes after the end");
  refused(good.substr(0, 4), "truncated: 4 bytes");
  auto parts = split_safetensors(good);
  parts.header["proj.weight"]["shape"] = {2, 2};
  refused(join_safetensors(parts), "tensor 'proj.weight' is F32 [2,2], 16 bytes, but its data_offsets");
}
