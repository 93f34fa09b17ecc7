// seqgrad's weights read by a reader that knows only the format: save_weights writes the interop
// modules (PyTorch's names) and safetensors::write a file of every other dtype; the test dumps every
// name, dtype, shape and value to JSON, and tests/interop/read_safetensors.py (json, struct, numpy)
// reads the files and compares, and also checks that the modules' file has exactly the names, dtypes
// and shapes of the file PyTorch wrote from the same modules (the interop modules, and the transformer
// decoder's).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>

#include "support/safetensors_edit.hpp"
#include "support/temp_path.hpp"
#include "torch_decoder.hpp"
#include "torch_modules.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;

namespace {

const fs::path kSource = SEQGRAD_SOURCE_DIR;

nlohmann::json dump(const nn::safetensors::NamedTensors& tensors, const nn::safetensors::Metadata& metadata) {
  nlohmann::json out = {{"metadata", metadata}, {"tensors", nlohmann::json::object()}};
  for (const auto& [name, t] : tensors) {
    nlohmann::json values = nlohmann::json::array();
    switch (t.dtype()) {
      case DType::f32:
        for (std::size_t i = 0; i < t.numel(); ++i) values.push_back(double(t.data<float>()[i]));  // exact
        break;
      case DType::f64:
        for (std::size_t i = 0; i < t.numel(); ++i) values.push_back(t.data<double>()[i]);
        break;
      case DType::i64:
        for (std::size_t i = 0; i < t.numel(); ++i) values.push_back(t.data<std::int64_t>()[i]);
        break;
      case DType::b8:
        for (std::size_t i = 0; i < t.numel(); ++i) values.push_back(t.data<bool>()[i]);
        break;
    }
    out["tensors"][name] = {{"dtype", nn::safetensors::dtype_tag(t.dtype())}, {"shape", t.shape()}, {"values", values}};
  }
  return out;
}

class PythonReader : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test_support::temp_path(std::string("python_reader_") +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  // Runs the reader on `file` against `expected`; returns its exit status and keeps its output in `log`.
  int reader(const fs::path& file, const nlohmann::json& expected, const std::string& extra = "") {
    const fs::path expected_path = fs::path(file).replace_extension(".expected.json");
    std::ofstream(expected_path) << expected.dump();
    const fs::path out = dir / "reader.log";
    const std::string command = std::string("'") + SEQGRAD_PYTHON + "' '" +
                                (kSource / "tests/interop/read_safetensors.py").string() + "' '" + file.string() +
                                "' '" + expected_path.string() + "' " + extra + " > '" + out.string() + "' 2>&1";
    const int status = std::system(command.c_str());
    log = test_support::read_file_bytes(out);
    std::printf("%s", log.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  fs::path dir;
  std::string log;
};

}  // namespace

TEST_F(PythonReader, ReadsSeqgradsWeightsWithPyTorchsNames) {
  std::ifstream in(kSource / "tests/data/interop/torch_modules.json");
  const auto cfg = test_support::torch_modules_config(nlohmann::json::parse(in));
  Generator gen(7);
  test_support::TorchModules model(cfg, gen);
  const fs::path file = dir / "model.safetensors";
  nn::save_weights(file, model, {{"written_by", "seqgrad"}});
  const nlohmann::json expected =
      dump(model.named_parameters(), {{"format", "pt"}, {"written_by", "seqgrad"}});
  const std::string same_names =
      "--same-names-as '" + (kSource / "tests/data/interop/torch_modules.safetensors").string() + "'";
  EXPECT_EQ(reader(file, expected, same_names), 0) << log;
  EXPECT_NE(log.find(std::to_string(model.named_parameters().size()) + " tensors, " +
                     std::to_string(model.num_parameters()) + " values, 2 metadata entries: OK"),
            std::string::npos)
      << log;

  // The reader notices a changed value, a missing name and other metadata (so its OK above means something).
  std::string bytes = test_support::read_file_bytes(file);
  bytes[bytes.size() - 3] ^= 0x01;  // the last tensor's last value
  test_support::write_file_bytes(dir / "changed.safetensors", bytes);
  EXPECT_EQ(reader(dir / "changed.safetensors", expected), 1) << log;
  EXPECT_NE(log.find("1 values differ"), std::string::npos) << log;
  nlohmann::json more = expected;
  more["tensors"]["extra.weight"] = {{"dtype", "F32"}, {"shape", {1}}, {"values", {0.0}}};
  more["metadata"]["epoch"] = "1";
  EXPECT_EQ(reader(file, more), 1) << log;
  EXPECT_NE(log.find("missing: extra.weight"), std::string::npos) << log;
  EXPECT_NE(log.find("metadata"), std::string::npos) << log;
}

// seqgrad -> PyTorch for the transformer decoder: PyTorch's decoder weights loaded into seqgrad and
// written again are, read by the format-only reader, exactly PyTorch's names, dtypes, shapes and
// values, so torch's load_state_dict(strict=True) takes the file and computes the fixture's outputs.
TEST_F(PythonReader, WritesPyTorchsDecoderWeightsBackUnchanged) {
  const nlohmann::json fixture = test_support::read_json(test_support::torch_decoder_fixture());
  const fs::path torch_file = fs::path(test_support::torch_decoder_fixture()).replace_extension(".safetensors");
  Generator gen(8);
  test_support::TorchDecoderModules model(fixture.at("config"), gen);
  const std::string first = model.named_parameters().front().first;
  const std::vector<double> initial = model.parameter(first).to_vector();
  nn::load_weights(torch_file, model);
  ASSERT_NE(model.parameter(first).to_vector(), initial);  // the file's values, not the initial ones
  const fs::path file = dir / "decoder.safetensors";
  nn::save_weights(file, model);
  const nlohmann::json expected = dump(model.named_parameters(), {{"format", "pt"}});
  EXPECT_EQ(reader(file, expected, "--same-names-as '" + torch_file.string() + "'"), 0) << log;
  EXPECT_NE(log.find(std::to_string(model.named_parameters().size()) + " tensors, " +
                     std::to_string(model.num_parameters()) + " values, 1 metadata entries: OK"),
            std::string::npos)
      << log;
  // The same values as PyTorch's file, name by name.
  const auto torch_tensors = nn::safetensors::read(torch_file).tensors;
  ASSERT_EQ(torch_tensors.size(), model.named_parameters().size());
  for (const auto& [name, p] : model.named_parameters())
    EXPECT_EQ(p.to_vector(), torch_tensors.at(name).to_vector()) << name;
}

TEST_F(PythonReader, ReadsEveryDtype) {
  Tensor b8 = Tensor::zeros({2, 2}, DType::b8);
  b8.data<bool>()[1] = b8.data<bool>()[2] = true;
  const nn::safetensors::NamedTensors tensors{
      {"f64", Tensor::from({1.0 / 3, -2.5e-300, 1e300}, {3}, DType::f64)},
      {"i64", Tensor::from_indices({std::numeric_limits<std::int64_t>::min(), -1, 0, 1LL << 53}, {2, 2})},
      {"bool", b8},
      {"scalar", Tensor::scalar(0.1f)},
      {"empty", Tensor::zeros({0, 4})},
  };
  const fs::path file = dir / "dtypes.safetensors";
  nn::safetensors::write(file, tensors, {{"note", "dtypes"}});
  EXPECT_EQ(reader(file, dump(tensors, {{"note", "dtypes"}})), 0) << log;
  EXPECT_NE(log.find("5 tensors, 12 values, 1 metadata entries: OK"), std::string::npos) << log;
}
