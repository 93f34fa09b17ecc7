// What the seq2seq and g2p programs share and the user reads: the readers' summaries (over-long
// sources dropped with all their lines counted), file names
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

// A source dropped for its length goes with all its targets: the report counts every line it stood
// for, so the summary's lines add up (lines = pairs + skipped + blank).
TEST(DropLong, CountsEveryLineOfADroppedSource) {
  namespace sq = seqgrad::nn::seq2seq;
  std::vector<sq::Entry> entries = {{"a", 1, {"a"}, {{"A"}}}, {"b", 2, {"b"}, {{"B", "B", "B"}, {"B"}}},
                                    {"c c c", 4, {"c", "c", "c"}, {{"C"}}}};
  recipe::IssueReport report("prog", 0);
  const std::vector<sq::Entry> kept = recipe::drop_long(std::move(entries), 2, report, "in.tsv");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].key, "a");
  EXPECT_EQ(report.total(), 3u);  // both lines of "b", the line of "c c c"
  testing::internal::CaptureStderr();
  report.print_summary("in.tsv");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "prog: skipped 3 lines of in.tsv (3 longer than --max-length N symbols)\n");
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
