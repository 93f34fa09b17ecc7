// The CMUdict reader on a committed sample of the real file (tests/data/cmudict_sample.js: 275
// entry lines of cmu-pronouncing-dictionary@3.0.0 with alternates, all 22 "# comment" lines and
// apostrophes) and on a file of deliberately malformed lines (tests/data/cmudict_malformed.js),
// the crc32 split, and (when scripts/fetch_cmudict.sh has fetched it) the whole dictionary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "cmudict.hpp"
#include "support/expect_error.hpp"

using namespace g2p;
using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;

namespace {

const fs::path kData = fs::path(SEQGRAD_SOURCE_DIR) / "tests" / "data";

const Entry& find(const ReadResult& r, const std::string& word) {
  auto it = std::find_if(r.entries.begin(), r.entries.end(), [&](const Entry& e) { return e.key == word; });
  if (it == r.entries.end()) throw std::runtime_error("no entry " + word);
  return *it;
}

std::size_t pronunciations(const ReadResult& r) {
  std::size_t n = 0;
  for (const auto& e : r.entries) n += e.targets.size();
  return n;
}

struct Collected {
  std::vector<ParseIssue> issues;
  IssueSink sink() {
    return [this](const ParseIssue& i) { issues.push_back(i); };
  }
  std::vector<std::size_t> lines() const {
    std::vector<std::size_t> out;
    for (const auto& i : issues) out.push_back(i.line);
    return out;
  }
};

}  // namespace

TEST(CmuDict, ReadsTheSample) {
  Collected c;
  const auto r = read_cmudict(kData / "cmudict_sample.js", {.on_issue = c.sink()});
  // Counted independently (python3: regex over the lines, words of [A-Za-z'] with optional (N)).
  EXPECT_EQ(r.lines, 278u);
  EXPECT_EQ(r.entries.size(), 227u);
  // "a.", "a.'s", "a.d.", "a.m.", "a.s" are the file's own words with other characters.
  EXPECT_EQ(c.lines(), (std::vector<std::size_t>{21, 22, 23, 24, 25}));
  EXPECT_EQ(r.skipped_lines, 5u);
  EXPECT_EQ(c.issues[2].text, "  \"a.d.\": \"EY2 D IY1\",");
  // 270 pronunciations; "the" has DH AH0 and DH AH1, one once stress is gone.
  EXPECT_EQ(pronunciations(r), 269u);

  const Entry& a = find(r, "a");
  EXPECT_EQ(a.source, (Symbols{"a"}));
  EXPECT_EQ(a.targets, (std::vector<Symbols>{{"AH"}, {"EY"}}));  // a, a(2)
  const Entry& bout = find(r, "'bout");
  EXPECT_EQ(bout.source, (Symbols{"'", "b", "o", "u", "t"}));
  EXPECT_EQ(bout.targets, (std::vector<Symbols>{{"B", "AW", "T"}}));
  // "# place, danish" is not part of the pronunciation.
  EXPECT_EQ(find(r, "aalborg").targets[0], (Symbols{"AO", "L", "B", "AO", "R", "G"}));
  EXPECT_EQ(find(r, "gdp").targets, (std::vector<Symbols>{{"G", "IY", "D", "IY", "P", "IY"}}));
  // Four variants, in variant order.
  const Entry& abkhazian = find(r, "abkhazian");
  ASSERT_EQ(abkhazian.targets.size(), 4u);
  EXPECT_EQ(abkhazian.targets[3], (Symbols{"AE", "B", "K", "AE", "Z", "Y", "AH", "N"}));
  EXPECT_EQ(find(r, "the").targets, (std::vector<Symbols>{{"DH", "AH"}, {"DH", "IY"}}));
}

TEST(CmuDict, KeepStress) {
  const auto r = read_cmudict(kData / "cmudict_sample.js", {.keep_stress = true, .on_issue = {}});
  EXPECT_EQ(pronunciations(r), 270u);
  EXPECT_EQ(find(r, "a").targets, (std::vector<Symbols>{{"AH0"}, {"EY1"}}));
  EXPECT_EQ(find(r, "aalborg").targets[0], (Symbols{"AO1", "L", "B", "AO0", "R", "G"}));
  EXPECT_EQ(find(r, "the").targets, (std::vector<Symbols>{{"DH", "AH0"}, {"DH", "AH1"}, {"DH", "IY0"}}));
}

TEST(CmuDict, MalformedLinesAreReportedWithTheirNumbersAndSkipped) {
  Collected c;
  const auto r = read_cmudict(kData / "cmudict_malformed.js", {.keep_stress = true, .on_issue = c.sink()});
  // 4 "bad word" (space), 5 "ad-hoc", 7 a broken quote, 8 empty pronunciation, 9 lower-case
  // phonemes, 10 stress digit 3, 11 good(2) again, 13 variant (1), 14 text after the
  // pronunciation, 17 a comment and no phonemes, 18 garbage.
  EXPECT_EQ(c.lines(), (std::vector<std::size_t>{4, 5, 7, 8, 9, 10, 11, 13, 14, 17, 18}));
  EXPECT_EQ(r.skipped_lines, 11u);
  EXPECT_EQ(r.lines, 22u);
  for (const auto& issue : c.issues) {
    EXPECT_EQ(issue.source, (kData / "cmudict_malformed.js").string());
    EXPECT_FALSE(issue.message.empty());
  }
  EXPECT_NE(c.issues[0].message.find("letters and apostrophes"), std::string::npos) << c.issues[0].message;
  EXPECT_NE(c.issues[6].message.find("variant 2 of 'good' was given before"), std::string::npos) << c.issues[6].message;

  std::vector<std::string> words;
  for (const auto& e : r.entries) words.push_back(e.key);
  EXPECT_EQ(words, (std::vector<std::string>{"good", "it's", "quiet", "crlf", "last"}));
  EXPECT_EQ(find(r, "good").targets, (std::vector<Symbols>{{"G", "UH1", "D"}, {"G", "UH0", "D"}}));
  EXPECT_EQ(find(r, "it's").targets, (std::vector<Symbols>{{"IH1", "T", "S"}}));
  // quiet(3) came first in the file; the base word is still variant 1.
  const Entry& quiet = find(r, "quiet");
  EXPECT_EQ(quiet.line, 15u);
  EXPECT_EQ(quiet.targets, (std::vector<Symbols>{{"K", "W", "AY1", "AH0", "T"}, {"K", "W", "AY1", "T"}}));
  EXPECT_EQ(find(r, "crlf").targets, (std::vector<Symbols>{{"K", "R", "L", "F"}}));  // no "\r" symbol

  // Without stress, good's two pronunciations are one.
  const auto plain = read_cmudict(kData / "cmudict_malformed.js", {.on_issue = {}});
  EXPECT_EQ(find(plain, "good").targets, (std::vector<Symbols>{{"G", "UH", "D"}}));
}

TEST(CmuDict, StreamWithoutFrameLines) {
  std::istringstream in("  \"it's\": \"IH1 T S\",\n\"one\":\"W AH1 N\"\n");
  const auto r = read_cmudict(in, {.on_issue = [](const ParseIssue& i) { ADD_FAILURE() << i.message; }});
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[1].targets, (std::vector<Symbols>{{"W", "AH", "N"}}));
  EXPECT_THROW(read_cmudict(kData / "no_such_file.js"), std::runtime_error);
}

// A pronunciation of invalid UTF-8 is reported as such, not as an empty one (which a comment-only
// pronunciation is).
TEST(CmuDict, InvalidUtf8IsCalledSo) {
  std::istringstream in("\"bad\": \"B \xff\xfe D\",\n\"none\": \"# just a comment\",\n\"ok\": \"OW1 K EY1\"\n");
  Collected c;
  const auto r = read_cmudict(in, {.on_issue = c.sink()}, "utf.js");
  ASSERT_EQ(c.issues.size(), 2u);
  EXPECT_EQ(c.issues[0].line, 1u);
  EXPECT_EQ(c.issues[0].message, "a pronunciation that is not valid UTF-8");
  EXPECT_EQ(c.issues[1].message, "empty pronunciation");
  ASSERT_EQ(r.entries.size(), 1u);
  EXPECT_EQ(r.entries[0].key, "ok");
}

// A 20 MB word must not become training data (batching it would end in std::bad_alloc). Lines, words and pronunciations beyond the stated maxima are reported and skipped.
TEST(CmuDict, OverlongLinesWordsAndPronunciationsAreReportedAndSkipped) {
  std::string pron;
  for (int i = 0; i < 70; ++i) pron += "AH0 ";
  std::istringstream in("\"" + std::string(20 << 20, 'a') + "\": \"EY1\",\n" +  // 1: a 20 MB line
                        "\"" + std::string(65, 'b') + "\": \"B IY1\",\n" +      // 2: 65 letters
                        "\"" + std::string(64, 'c') + "\": \"S IY1\",\n" +      // 3: 64 letters: fine
                        "\"long\": \"" + pron + "\",\n" +                      // 4: 70 phonemes
                        "\"ok\": \"OW1 K EY1\"\n");
  Collected c;
  const auto r = read_cmudict(in, {.on_issue = c.sink()}, "big.js");
  EXPECT_EQ(c.lines(), (std::vector<std::size_t>{1, 2, 4}));
  EXPECT_EQ(r.lines, 5u);
  EXPECT_EQ(r.skipped_lines, 3u);
  ASSERT_EQ(c.issues.size(), 3u);
  EXPECT_NE(c.issues[0].message.find("a line longer than 4096 bytes"), std::string::npos) << c.issues[0].message;
  EXPECT_EQ(c.issues[0].text.size(), 4096u);
  EXPECT_NE(c.issues[1].message.find("a word of 65 letters, more than the maximum 64"), std::string::npos)
      << c.issues[1].message;
  EXPECT_NE(c.issues[2].message.find("a pronunciation of 70 phonemes, more than the maximum 64"), std::string::npos)
      << c.issues[2].message;
  ASSERT_EQ(r.entries.size(), 2u);
  EXPECT_EQ(r.entries[0].key, std::string(64, 'c'));
  EXPECT_EQ(r.entries[1].key, "ok");
}

// A directory is refused with its name, not read as an empty dictionary.
TEST(CmuDict, DirectoryIsRefusedNamingIt) {
  seqgrad::test_support::expect_error<std::runtime_error>([] { read_cmudict(kData); }, {kData.string(), "directory"});
}

// Expected buckets computed independently with python3: zlib.crc32(word.encode()) % 100
// ("a" 3904355907 -> 7, "'bout" 1648856842 -> 42, "water" 4214428890 -> 90,
//  "table" 4129918790 -> 90, "aalborg" 867992198 -> 98, "eight" 1711947398 -> 98, "hello" 907060870 -> 70).
TEST(CmuDict, SplitByCrc32OfTheWord) {
  EXPECT_EQ(split_bucket("a"), 7u);
  EXPECT_EQ(split_bucket("'bout"), 42u);
  EXPECT_EQ(split_bucket("water"), 90u);
  EXPECT_EQ(split_bucket("table"), 90u);
  EXPECT_EQ(split_bucket("aalborg"), 98u);
  EXPECT_EQ(split_bucket("eight"), 98u);
  EXPECT_EQ(split_bucket("hello"), 70u);
  EXPECT_EQ(split_of("a"), Split::train);
  EXPECT_EQ(split_of("hello"), Split::train);
  EXPECT_EQ(split_of("water"), Split::dev);
  EXPECT_EQ(split_of("aalborg"), Split::test);
  EXPECT_STREQ(split_name(Split::dev), "dev");

  const auto r = read_cmudict(kData / "cmudict_sample.js", {.on_issue = {}});
  const auto s = split_entries(r.entries);
  // python3 over the sample's words: 208 / 12 / 7.
  EXPECT_EQ(s.train.size(), 208u);
  EXPECT_EQ(s.dev.size(), 12u);
  EXPECT_EQ(s.test.size(), 7u);
  // The alternates stay with their word.
  const auto in_test = std::find_if(s.test.begin(), s.test.end(), [](const Entry& e) { return e.key == "aalborg"; });
  ASSERT_NE(in_test, s.test.end());
  EXPECT_EQ(in_test->targets.size(), 2u);
}

// The whole dictionary, when fetched (scripts/fetch_cmudict.sh). Expected numbers from python3
// over the same file: 124,920 words of letters and apostrophes with 133,962 pronunciations
// (133,659 without stress), 1,193 lines of other words, split 112,597 / 6,165 / 6,158.
TEST(CmuDict, FullDictionaryWhenFetched) {
  const fs::path file = fs::path(SEQGRAD_SOURCE_DIR) / "data" / "cache" / "cmudict" / "index.js";
  if (!fs::exists(file)) GTEST_SKIP() << "run scripts/fetch_cmudict.sh to fetch " << file;
  const auto r = read_cmudict(file, {.on_issue = {}});
  EXPECT_EQ(r.entries.size(), 124920u);
  EXPECT_EQ(r.skipped_lines, 1193u);
  EXPECT_EQ(pronunciations(r), 133659u);
  const auto s = split_entries(r.entries);
  EXPECT_EQ(s.train.size(), 112597u);
  EXPECT_EQ(s.dev.size(), 6165u);
  EXPECT_EQ(s.test.size(), 6158u);
  const auto stressed = read_cmudict(file, {.keep_stress = true, .on_issue = {}});
  EXPECT_EQ(pronunciations(stressed), 133962u);
}
