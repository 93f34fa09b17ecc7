// The safetensors reader and writer on their own: round trips of every dtype seqgrad holds, files laid
// out otherwise than seqgrad writes them (padding, data not in name order, no tensors), PyTorch's
// file, and every way a header or data region can be damaged or hostile, each refused with an
// error naming the file and the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <limits>

#include "seqgrad/nn/safetensors.hpp"
#include "support/safetensors_edit.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;
namespace sf = seqgrad::nn::safetensors;
using seqgrad::test_support::raw_safetensors;
using seqgrad::test_support::read_file_bytes;
using seqgrad::test_support::write_file_bytes;

namespace {

std::string le_bytes(const std::vector<float>& values) {
  return {reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)};
}

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = seqgrad::test_support::temp_path(std::string("safetensors_") +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    file = dir / "t.safetensors";
  }
  void TearDown() override { fs::remove_all(dir); }

  // Reading `bytes` (from a file and from memory) throws a runtime_error naming the file and
  // holding `expected`.
  void expect_refused(const std::string& bytes, const std::string& expected) {
    write_file_bytes(file, bytes);
    try {
      sf::read(file);
      ADD_FAILURE() << "read a bad file; expected '" << expected << "'";
    } catch (const std::runtime_error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("safetensors::read: " + file.string() + ": "), std::string::npos) << what;
      EXPECT_NE(what.find(expected), std::string::npos) << what;
    }
    try {
      sf::parse(std::as_bytes(std::span(bytes.data(), bytes.size())), "in memory");
      ADD_FAILURE() << "parsed bad bytes; expected '" << expected << "'";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("in memory: "), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
  // One F32 tensor "a" of two elements, described by `entry`, with `data` as the data region.
  void expect_entry_refused(const std::string& entry, const std::string& expected,
                            const std::string& data = le_bytes({1, 2})) {
    expect_refused(raw_safetensors("{\"a\":" + entry + "}", data), expected);
  }

  fs::path dir, file;
};

}  // namespace

TEST_F(Safetensors, EveryDtypeRoundTripsBitwise) {
  Tensor f32 = Tensor::from({1.5, -2.25, 3e-8, 7}, {2, 2});
  Tensor f64 = Tensor::from({1.0 / 3, -1e300}, {2}, DType::f64);
  Tensor i64 = Tensor::from_indices({-5, std::numeric_limits<std::int64_t>::max(), 0}, {3, 1});
  Tensor b8 = Tensor::zeros({3}, DType::b8);
  b8.data<bool>()[0] = b8.data<bool>()[2] = true;
  Tensor scalar = Tensor::scalar(4, DType::i64);
  Tensor empty = Tensor::zeros({0, 3});
  const sf::NamedTensors tensors{{"z.f32", f32}, {"f64", f64}, {"m.i64", i64}, {"b8", b8}, {"scalar", scalar}, {"empty", empty}};
  sf::write(file, tensors, {{"note", "ünïcode ok"}});
  const std::string bytes = read_file_bytes(file);

  const auto serialized = sf::serialize(tensors, {{"note", "ünïcode ok"}});
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(serialized.data()), serialized.size()), bytes);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u) << "the header is padded to a multiple of 8";
  EXPECT_EQ(bytes[8], '{');

  for (const sf::Contents& c : {sf::read(file), sf::parse(std::as_bytes(std::span(bytes.data(), bytes.size())))}) {
    EXPECT_EQ(c.metadata, (sf::Metadata{{"note", "ünïcode ok"}}));
    ASSERT_EQ(c.tensors.size(), tensors.size());
    for (const auto& [name, t] : tensors) {
      const Tensor& got = c.tensors.at(name);
      EXPECT_EQ(got.shape(), t.shape()) << name;
      EXPECT_EQ(got.dtype(), t.dtype()) << name;
      if (t.numel() > 0) {
        EXPECT_EQ(0, std::memcmp(got.raw_data(), t.raw_data(), t.numel() * dtype_size(t.dtype()))) << name;
      }
    }
  }
  // The header, as a reader of the format sees it: offsets tile the data in name order.
  const auto parts = seqgrad::test_support::split_safetensors(bytes);
  EXPECT_EQ(parts.header["b8"], (nlohmann::json{{"dtype", "BOOL"}, {"shape", {3}}, {"data_offsets", {0, 3}}}));
  EXPECT_EQ(parts.header["empty"], (nlohmann::json{{"dtype", "F32"}, {"shape", {0, 3}}, {"data_offsets", {3, 3}}}));
  EXPECT_EQ(parts.header["scalar"]["shape"], nlohmann::json::array());
  EXPECT_EQ(parts.header["z.f32"]["data_offsets"][1], parts.data.size());
  const auto plain = sf::serialize({{"a", f32}});
  EXPECT_EQ(seqgrad::test_support::split_safetensors(std::string(reinterpret_cast<const char*>(plain.data()), plain.size()))
                .header.count("__metadata__"),
            0u)
      << "no __metadata__ without metadata";
}

TEST_F(Safetensors, ReadsLayoutsOtherWritersMake) {
  // Data in another order than the names, a header padded with spaces, a scalar; no metadata.
  const std::string header =
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"data_offsets":[8,12],"shape":[],"dtype":"F32"}})";
  const sf::Contents c = [&] {
    write_file_bytes(file, raw_safetensors(header + "     ", le_bytes({1, 2, 3})));
    return sf::read(file);
  }();
  EXPECT_TRUE(c.metadata.empty());
  EXPECT_EQ(c.tensors.at("b").to_vector(), (std::vector<double>{1, 2}));
  EXPECT_EQ(c.tensors.at("a").to_vector(), (std::vector<double>{3}));
  EXPECT_EQ(c.tensors.at("a").shape(), Shape{});
  // No tensors at all.
  write_file_bytes(file, raw_safetensors("{}", ""));
  EXPECT_TRUE(sf::read(file).tensors.empty());
  write_file_bytes(file, raw_safetensors(R"({"__metadata__":{"k":"v"}})", ""));
  EXPECT_EQ(sf::read(file).metadata.at("k"), "v");
}

TEST_F(Safetensors, ReadsPyTorchsFile) {
  const auto c = sf::read(fs::path(SEQGRAD_SOURCE_DIR) / "tests/data/interop/torch_modules.safetensors");
  EXPECT_EQ(c.metadata.at("format"), "pt");
  EXPECT_EQ(c.tensors.at("embed.weight").shape(), (Shape{11, 8}));
  EXPECT_EQ(c.tensors.at("gru.weight_ih_l1_reverse").shape(), (Shape{18, 12}));
  EXPECT_EQ(c.tensors.at("encoder_layer.self_attn.in_proj_weight").dtype(), DType::f32);
}

TEST_F(Safetensors, WhatIsNotAFileIsRefused) {
  const auto refused = [&](const fs::path& path, const std::string& expected) {
    try {
      sf::read(path);
      ADD_FAILURE() << "read " << path;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(path.string() + ": " + expected), std::string::npos) << e.what();
    }
  };
  refused(dir, "is a directory, not a file");
  refused(dir / "missing.safetensors", "cannot open: No such file or directory");
  refused("/dev/null", "is not a regular file");
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  refused(dir / "fifo", "is not a regular file");  // and does not wait for a writer
}

TEST_F(Safetensors, DamagedLengthsAreRefused) {
  expect_refused("", "truncated: 0 bytes, fewer than the 8 of the header length");
  expect_refused("1234567", "truncated: 7 bytes");
  expect_refused(raw_safetensors("{}", "").substr(0, 8) + "{", "truncated: the header length is 2 bytes, but only 1 bytes follow");
  std::string huge(8, '\xff');
  expect_refused(huge + "{}", "header length 18446744073709551615 is beyond the limit of 100000000 bytes");
  std::string just_over(8, '\0');
  const std::uint64_t n = sf::kMaxHeaderBytes + 1;
  std::memcpy(just_over.data(), &n, 8);
  expect_refused(just_over, "is beyond the limit");
}

TEST_F(Safetensors, MalformedHeadersAreRefused) {
  expect_refused(raw_safetensors("", ""), "malformed JSON header");
  expect_refused(raw_safetensors("{\"a\":", ""), "malformed JSON header");
  expect_refused(raw_safetensors("{} x", ""), "malformed JSON header");
  expect_refused(raw_safetensors("{\"a\":\"\xff\"}", ""), "malformed JSON header");  // not UTF-8
  expect_refused(raw_safetensors("[1,2]", ""), "the header is JSON array, not an object");
  expect_refused(raw_safetensors("\"text\"", ""), "the header is JSON string, not an object");
  expect_refused(raw_safetensors(std::string(100000, '[') + std::string(100000, ']'), ""), "nested deeper");
  expect_refused(raw_safetensors(R"({"a":{"shape":[[2]]}})", ""), "nested deeper");
  expect_refused(raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 le_bytes({1, 2})),
                 "the name 'a' appears twice");
  expect_entry_refused(R"({"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]})",
                       "the field 'dtype' appears twice in one entry");
  expect_refused(raw_safetensors(R"({"__metadata__":[1]})", ""), "__metadata__ must be an object of strings, not array");
  expect_refused(raw_safetensors(R"({"__metadata__":{"step":3}})", ""),
                 "__metadata__ must map strings to strings; 'step' is number");
}

TEST_F(Safetensors, MalformedEntriesAreRefused) {
  expect_entry_refused("7", "tensor 'a' is described by number, not an object");
  expect_refused(raw_safetensors(R"({"":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", ""), "a tensor has an empty name");
  expect_entry_refused(R"({"shape":[2],"data_offsets":[0,8]})", "tensor 'a' has no 'dtype'");
  expect_entry_refused(R"({"dtype":"F32","data_offsets":[0,8]})", "tensor 'a' has no 'shape'");
  expect_entry_refused(R"({"dtype":"F32","shape":[2]})", "tensor 'a' has no 'data_offsets'");
  expect_entry_refused(R"({"dtype":"F32","shape":[2],"data_offsets":[0,8],"strides":[1]})",
                       "tensor 'a' has an unknown field 'strides'");
  expect_entry_refused(R"({"dtype":32,"shape":[2],"data_offsets":[0,8]})", "tensor 'a': dtype must be a string, not 32");
  expect_entry_refused(R"({"dtype":"F33","shape":[2],"data_offsets":[0,8]})", "tensor 'a' has unknown dtype 'F33'");
  expect_entry_refused(R"({"dtype":"F16","shape":[4],"data_offsets":[0,8]})",
                       "tensor 'a' has dtype F16, which seqgrad cannot hold");
  expect_entry_refused(R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})", "tensor 'a': shape must be an array");
  expect_entry_refused(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})",
                       "tensor 'a': shape must hold non-negative integers, not -2");
  expect_entry_refused(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})", "shape must hold non-negative integers");
  expect_entry_refused(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})",
                       "tensor 'a': data_offsets must be [begin, end], not [0]");
  expect_entry_refused(R"({"dtype":"F32","shape":[2],"data_offsets":{"begin":0}})", "data_offsets must be [begin, end]");
  expect_entry_refused(R"({"dtype":"F32","shape":[2],"data_offsets":[0,-8]})", "data_offsets must hold non-negative integers");
  expect_entry_refused(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})",
                       "tensor 'a': data_offsets [8, 0] end before they begin");
  expect_entry_refused(R"({"dtype":"F32","shape":[4611686018427387904,4611686018427387904],"data_offsets":[0,8]})",
                       "has more elements than memory can hold");
  expect_entry_refused(R"({"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]})",
                       "has more bytes than memory can hold");
  expect_entry_refused(R"({"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]})",
                       "data_offsets must hold non-negative integers");  // beyond uint64: a float in JSON
  // The byte count disagrees with dtype and shape.
  expect_entry_refused(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})",
                       "tensor 'a' is F32 [3], 12 bytes, but its data_offsets [0, 8] span 8");
  expect_entry_refused(R"({"dtype":"F64","shape":[2],"data_offsets":[0,8]})", "is F64 [2], 16 bytes");
  // A hostile name is shown cut short.
  expect_refused(raw_safetensors("{\"" + std::string(5000, 'n') + "\":7}", ""), "...(5000 bytes)");
}

TEST_F(Safetensors, OffsetsMustTileTheDataRegion) {
  const auto two = [](const std::string& a, const std::string& b) {
    return R"({"a":{"dtype":"F32","shape":[2],"data_offsets":)" + a + R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":)" +
           b + "}}";
  };
  const std::string data16 = le_bytes({1, 2, 3, 4});
  const std::string good = raw_safetensors(two("[8,16]", "[0,8]"), data16);
  EXPECT_EQ(sf::parse(std::as_bytes(std::span(good.data(), good.size()))).tensors.at("a").to_vector(),
            (std::vector<double>{3, 4}));
  expect_refused(raw_safetensors(two("[0,8]", "[4,12]"), data16.substr(0, 12)), "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
  expect_refused(raw_safetensors(two("[0,8]", "[0,8]"), data16.substr(0, 8)), "overlap");
  expect_refused(raw_safetensors(two("[0,8]", "[12,20]"), data16 + "1234"),
                 "4 bytes of the data region belong to no tensor, before 'b' [12, 20]");
  expect_refused(raw_safetensors(two("[4,12]", "[12,20]"), data16 + "1234"), "4 bytes of the data region belong to no tensor, before 'a'");
  expect_refused(raw_safetensors(two("[0,8]", "[8,16]"), data16 + "xyz"),
                 "3 unexpected bytes after the end of the last tensor's data (the tensors need 16 bytes, the data "
                 "region holds 19)");
  expect_refused(raw_safetensors(two("[0,8]", "[8,16]"), data16.substr(0, 10)),
                 "truncated: tensor 'b' has data_offsets [8, 16], beyond the data region's 10 bytes");
  expect_refused(raw_safetensors("{}", "x"), "1 unexpected bytes after the end");
}

TEST_F(Safetensors, BoolBytesMustBeZeroOrOne) {
  expect_refused(raw_safetensors(R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})", std::string("\x01\x00\x02", 3)),
                 "tensor 'm' is BOOL but holds the byte 2");
}

TEST_F(Safetensors, WriterRefusesWhatItCannotWrite) {
  const Tensor t = Tensor::zeros({2});
  EXPECT_THROW(sf::write(file, {{"a", t}, {"a", t}}), std::invalid_argument);
  EXPECT_THROW(sf::write(file, {{"", t}}), std::invalid_argument);
  EXPECT_THROW(sf::write(file, {{"__metadata__", t}}), std::invalid_argument);
  EXPECT_THROW(sf::write(file, {{"a", Tensor()}}), std::invalid_argument);
  EXPECT_THROW(sf::write(file, {{"a", t}}, {{"k", "\xff"}}), std::invalid_argument);  // not UTF-8
  EXPECT_FALSE(fs::exists(file));
  try {
    sf::write(dir / "no" / "such" / "folder" / "t.safetensors", {{"a", t}});
    ADD_FAILURE() << "wrote into a missing folder";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("safetensors::write: " + (dir / "no" / "such" / "folder" / "t.safetensors").string()),
              std::string::npos)
        << e.what();
  }
}
