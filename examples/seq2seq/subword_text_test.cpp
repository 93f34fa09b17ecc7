// A subword run's text: pieces made from whitespace-split pairs, over-long pairs dropped by their
// length in pieces, and the scores of decoded text (exact match of strings, word error rate and
// BLEU on whitespace words), checked against counts by hand.
#include <gtest/gtest.h>

#include "subword_text.hpp"

namespace sq = seqgrad::nn::seq2seq;

TEST(SubwordText, ScoresAreOnTheDecodedWords) {
  // 1: exact; 2: one word of 2 wrong, right by its second reference; 3: one word missing of 3.
  const std::vector<std::string> outputs = {"the cat", "a dog", "red blue"};
  const std::vector<std::vector<std::string>> refs = {{"the cat"}, {"the bird", "a dog"}, {"red blue green"}};
  const recipe::TextScores s = recipe::score_text(outputs, refs);
  EXPECT_EQ(s.words.items, 3u);
  EXPECT_EQ(s.words.exact, 2u);
  EXPECT_DOUBLE_EQ(s.words.accuracy(), 2.0 / 3.0);
  EXPECT_EQ(s.words.edits, 1u);
  EXPECT_EQ(s.words.reference_tokens, 2u + 2u + 3u);  // "a dog" is closest to its second reference
  EXPECT_DOUBLE_EQ(s.words.phoneme_error_rate(), 1.0 / 7.0);
  // BLEU is corpus_bleu on word ids: the same words give 1, no shared word 0.
  EXPECT_DOUBLE_EQ(recipe::score_text({"a b c d e"}, {{"a b c d e"}}).bleu, 1.0);
  EXPECT_DOUBLE_EQ(recipe::score_text({"x y z w"}, {{"a b c d"}}).bleu, 0.0);
  EXPECT_THROW(recipe::score_text({"a"}, {}), std::invalid_argument);
}

TEST(SubwordText, PairsBecomePiecesAndLongOnesAreDropped) {
  std::vector<sq::Entry> entries(2);
  entries[0].line = 1, entries[0].source = {"walking", "talked"}, entries[0].targets = {{"talked", "walking"}};
  entries[1].line = 2, entries[1].source = {"walked"}, entries[1].targets = {{"walked"}, {"talking"}};
  const sq::Subwords subwords = recipe::train_subwords(entries, 24);
  const std::vector<sq::Entry> pieces = recipe::to_pieces(entries, subwords, 0, "prog", "in.tsv");
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(subwords.decode(pieces[0].source), "walking talked");
  EXPECT_EQ(subwords.decode(pieces[1].targets[1]), "talking");
  // The shortest pair in pieces stays with a limit of its own length; the longer one goes.
  const std::size_t short_length = std::max(pieces[1].source.size(), std::max(pieces[1].targets[0].size(), pieces[1].targets[1].size()));
  ASSERT_LT(short_length, pieces[0].source.size());
  testing::internal::CaptureStderr();
  const std::vector<sq::Entry> kept = recipe::to_pieces(entries, subwords, short_length, "prog", "in.tsv");
  const std::string report = testing::internal::GetCapturedStderr();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].line, 2u);
  EXPECT_NE(report.find("in.tsv (in subword pieces)"), std::string::npos) << report;

  // The references are the text as read, a character the model lacks ("ä") included.
  std::vector<sq::Entry> unseen(1);
  unseen[0].line = 7, unseen[0].source = {"walked"}, unseen[0].targets = {{"wälked", "talked"}, {"walked"}};
  std::vector<std::vector<std::string>> texts;
  const std::vector<sq::Entry> unseen_pieces = recipe::to_pieces(unseen, subwords, 0, "prog", "in.tsv", &texts);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(texts[0], (std::vector<std::string>{"wälked talked", "walked"}));
  EXPECT_EQ(unseen_pieces[0].targets[1], subwords.encode("walked"));
  // Entries are told apart by their first line: two with one line are a caller's error, named.
  std::vector<sq::Entry> twice = {entries[0], entries[0]};
  EXPECT_THROW(recipe::to_pieces(twice, subwords, 0, "prog", "in.tsv", &texts), std::invalid_argument);
}
