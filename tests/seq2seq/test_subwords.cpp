// The subword model (SentencePiece BPE): trained from memory, its pieces join back into the exact
// text, two trainings on the same text give the same bytes, and bad sizes or bytes are named.
#include <gtest/gtest.h>

#include <set>

#include "seqgrad/nn/seq2seq/subwords.hpp"
#include "support/expect_error.hpp"

using namespace seqgrad::nn::seq2seq;
using seqgrad::test_support::expect_error;

namespace {

// Words that share stems and endings, so BPE has pairs worth merging.
std::vector<std::string> corpus() {
  const std::vector<std::string> stems = {"play", "walk", "talk", "jump", "cook", "paint", "éte"};
  const std::vector<std::string> endings = {"", "s", "ed", "ing", "er", "ers"};
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < 60; ++i) {
    std::string line;
    for (std::size_t w = 0; w < 3 + i % 4; ++w) {
      if (!line.empty()) line += ' ';
      line += stems[(i * 3 + w * 5) % stems.size()] + endings[(i + w * 7) % endings.size()];
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace

TEST(Subwords, PiecesJoinBackIntoTheExactText) {
  const std::vector<std::string> lines = corpus();
  const Subwords model = Subwords::train(lines, 64);
  EXPECT_EQ(model.size(), 64u);
  std::size_t pieces = 0, characters = 0;
  for (const std::string& line : lines) {
    const Symbols p = model.encode(line);
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p.front().rfind("\xE2\x96\x81", 0), 0u) << "the first piece starts a word: " << p.front();
    EXPECT_EQ(model.decode(p), line);
    pieces += p.size();
    characters += line.size();
  }
  // Merges happened: about whole stems and endings per piece (characters alone would give one per byte).
  EXPECT_LT(3 * pieces, characters) << pieces << " pieces for " << characters << " bytes";
  // A new sentence of known characters round-trips too, words the model never saw included.
  const std::string unseen = "walked talkers cooking é";
  EXPECT_EQ(model.decode(model.encode(unseen)), unseen);
}

TEST(Subwords, TrainingIsDeterministicAndTheBytesLoadBack) {
  const std::vector<std::string> lines = corpus();
  const Subwords a = Subwords::train(lines, 40), b = Subwords::train(lines, 40);
  EXPECT_EQ(a.bytes(), b.bytes());
  const Subwords c = Subwords::from_bytes(a.bytes(), "subwords.model");
  for (const std::string& line : lines) EXPECT_EQ(c.encode(line), a.encode(line));
  // Another size is another model.
  EXPECT_NE(Subwords::train(lines, 30).bytes(), a.bytes());
}

TEST(Subwords, BadSizesAndBytesAreNamed) {
  const std::vector<std::string> lines = corpus();
  expect_error<std::invalid_argument>([&] { Subwords::train(lines, 3); }, {"--subwords 3", "[8, "});
  expect_error<std::invalid_argument>([&] { Subwords::train(lines, 5000); }, {"--subwords 5000", "SentencePiece"});
  expect_error<std::invalid_argument>([&] { Subwords::train({}, 40); }, {"--subwords", "no text"});
  expect_error<std::runtime_error>([&] { Subwords::from_bytes("not a model", "run/subwords.model"); },
                                   {"run/subwords.model", "not a SentencePiece model"});
}
