// What the seq2seq and g2p programs share and the user reads: the readers' summaries, file names
// made from user text, shortened user text in messages.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "recipe.hpp"

namespace {

std::string summary_of(const std::vector<std::string>& reasons) {
  recipe::IssueReport report("prog", 0);
  for (std::size_t i = 0; i < reasons.size(); ++i) report.add("in.tsv", i + 1, reasons[i]);
  testing::internal::CaptureStderr();
  report.print_summary("in.tsv");
  return testing::internal::GetCapturedStderr();
}

}  // namespace

// Reasons are counted by kind: quoted text and numbers fold, so one reason with different numbers
// is one count; digits of a name such as UTF-8 are no number and stay as written.
TEST(IssueReport, SummaryCountsReasonsByKindKeepingNames) {
  EXPECT_EQ(summary_of({"not valid UTF-8 (an empty line is written)", "not valid UTF-8 (an empty line is written)",
                        "the source is not valid UTF-16", "a word of 70 letters, more than the maximum 64",
                        "a word of 65 letters, more than the maximum 64", "the word 'a.' has 2 dots", "not x86 code"}),
            "prog: skipped 7 lines of in.tsv (2 a word of N letters, more than the maximum N; 2 not valid UTF-8 (an empty "
            "line is written); 1 not x86 code; 1 the source is not valid UTF-16; 1 the word '...' has N dots)\n");
  EXPECT_EQ(summary_of({"line -3 and 4-5"}), "prog: skipped 1 lines of in.tsv (1 line -N and N-N)\n");
  EXPECT_EQ(summary_of({}), "");
}

TEST(SafeFileName, PlainTextIsItsOwnNameAndEmptyTextHasNone) {
  EXPECT_EQ(recipe::safe_file_name("hello", ".png"), "hello.png");
  EXPECT_EQ(recipe::safe_file_name("../x", ".png"), "___x-" + seqgrad::nn::seq2seq::content_hash("../x").substr(0, 8) + ".png");
  EXPECT_THROW(recipe::safe_file_name("", ".png"), std::invalid_argument);
}

TEST(Shortened, CutsAtACharacterBoundary) {
  EXPECT_EQ(recipe::shortened("short", 10), "short");
  EXPECT_EQ(recipe::shortened("abcdefghijkl", 4), "abcd...");
  EXPECT_EQ(recipe::shortened("ab\xc3\xa9z", 3), "ab...");  // not half of the two-byte é
  EXPECT_EQ(recipe::shortened("ab\xc3\xa9z", 4), "ab\xc3\xa9...");
}
