// Checkpoints: a round trip restores parameters, optimizer state and step count bit for bit (and
// training continues exactly as without the round trip); every kind of bad file is refused with an
// error naming the file and the problem, leaving model and optimizer untouched; a failed save
// leaves the previous checkpoint intact.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "seqgrad/nn/checkpoint.hpp"
#include "seqgrad/nn/layers.hpp"
#include "seqgrad/nn/linear.hpp"
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

std::string read_all(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& f, const std::string& data) {
  std::ofstream out(f, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
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
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const std::string good = read_all(file);
  const fs::path bad = dir / "truncated.ckpt";
  for (std::size_t keep : {std::size_t{0}, std::size_t{5}, std::size_t{19}, std::size_t{24}, std::size_t{100},
                           good.size() / 2, good.size() - 4, good.size() - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(good.size()) + " bytes");
    write_all(bad, good.substr(0, keep));
    expect_refused(bad, "truncated");
  }
}

TEST_F(Checkpoint, CorruptedBytesAreRefused) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  const std::string good = read_all(file);
  const fs::path bad = dir / "corrupt.ckpt";
  // Bytes in the step count, a name, tensor data and the CRC itself.
  for (std::size_t at : {std::size_t{21}, std::size_t{60}, good.size() / 2, good.size() - 10, good.size() - 2}) {
    SCOPED_TRACE("flipped byte " + std::to_string(at));
    std::string data = good;
    data[at] ^= 0x10;
    write_all(bad, data);
    expect_refused(bad, "checksum mismatch");
  }
  std::string data = good;
  data[0] = 'X';
  write_all(bad, data);
  expect_refused(bad, "bad magic");
  write_all(bad, good + "extra");
  expect_refused(bad, "unexpected bytes after the end");
  expect_refused(dir / "no_such_file.ckpt", "cannot open");
}

TEST_F(Checkpoint, NewerFormatVersionIsRefused) {
  Tiny m(1);
  nn::Adam opt(m.named_parameters());
  save_trained(m, opt);
  std::string data = read_all(file);
  const std::uint32_t newer = nn::kCheckpointFormatVersion + 1;
  std::memcpy(data.data() + 8, &newer, 4);
  write_all(file, data);
  expect_refused(file, "format version " + std::to_string(newer) + " is newer than this build reads");
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
  refused({.extra = true}, false, {"missing parameter 'extra' [2]"});
  refused({.norm = false}, false, {"the file has parameter 'norm.weight' [2] that the model does not have",
                                   "'norm.bias'"});
  refused({.out = 4}, false, {"parameter 'proj.weight' has shape [2,3] in the file, [4,3] in the model",
                              "parameter 'norm.bias' has shape [2] in the file, [4] in the model"});
  refused({.dtype = DType::f64}, false, {"parameter 'embed.weight' is float32 in the file, float64 in the model"});
  refused({.extra = true}, true, {"missing optimizer state 'exp_avg/extra'", "missing parameter 'extra'"});

  // The model matches but the optimizer does not: nothing is written, not even the parameters.
  Tiny m(9);
  nn::NamedParameters embedding_only{m.named_parameters()[0]};
  nn::Adam partial(embedding_only);
  Snapshot before = snapshot(m, &partial);
  try {
    nn::load_checkpoint(file, m, &partial);
    ADD_FAILURE() << "loaded optimizer state of other parameters";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("the file has optimizer state 'exp_avg/proj.weight' [2,3] that the "
                                         "optimizer does not have"),
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
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string error;
  try {
    nn::save_checkpoint(file, m, &opt);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_NE(error.find(file.string()), std::string::npos) << "no error naming the file: '" << error << "'";
  EXPECT_NE(error.find("write failed"), std::string::npos) << error;
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
