// The seq2seq data side: vocabularies (round trips, file formats, bad files), padded batches (every
// tensor's values), the length-bucketed batcher (each example once per epoch, seeded and
// reproducible, resumable exactly) and the TSV reader (malformed lines reported by line number and
// skipped).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include "seqgrad/graph/random.hpp"
#include "seqgrad/nn/seq2seq/batch.hpp"
#include "seqgrad/nn/seq2seq/batcher.hpp"
#include "seqgrad/nn/seq2seq/readers.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"
#include "support/expect_error.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;
using seqgrad::test_support::temp_path;

namespace {

std::vector<std::int64_t> ints(const Tensor& t) {
  const auto* p = t.data<std::int64_t>();
  return {p, p + t.numel()};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Vocabulary

TEST(Vocabulary, SpecialsComeFirst) {
  Vocabulary v;
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v.symbol(kPad), "<pad>");
  EXPECT_EQ(v.symbol(kSos), "<sos>");
  EXPECT_EQ(v.symbol(kEos), "<eos>");
  EXPECT_EQ(v.symbol(kUnk), "<unk>");
  EXPECT_EQ(v.id("<eos>"), kEos);
}

TEST(Vocabulary, BuildSortedAndFirstSeenAreDeterministic) {
  const std::vector<Symbols> data = {{"k", "a", "t"}, {"d", "a"}, {"k"}};
  const auto sorted = Vocabulary::build(data, Vocabulary::Order::sorted);
  EXPECT_EQ(sorted.symbols(), (Symbols{"<pad>", "<sos>", "<eos>", "<unk>", "a", "d", "k", "t"}));
  const auto seen = Vocabulary::build(data, Vocabulary::Order::first_seen);
  EXPECT_EQ(seen.symbols(), (Symbols{"<pad>", "<sos>", "<eos>", "<unk>", "k", "a", "t", "d"}));
  // Sorted order does not depend on the order of the data.
  EXPECT_EQ(Vocabulary::build({{"k"}, {"d", "a"}, {"t", "a", "k"}}), sorted);
}

TEST(Vocabulary, EncodeMapsUnknownToUnkAndDecodeStopsAtEos) {
  const auto v = Vocabulary::build({{"HH", "AH", "L", "OW"}});
  const TokenIds ids = v.encode({"HH", "EH", "L", "OW"});
  EXPECT_EQ(ids, (TokenIds{v.id("HH"), kUnk, v.id("L"), v.id("OW")}));
  // <sos> and <pad> skipped, <unk> kept, nothing after <eos>.
  EXPECT_EQ(v.decode({kSos, v.id("HH"), kPad, kUnk, v.id("L"), kEos, v.id("OW"), kPad}),
            (Symbols{"HH", "<unk>", "L"}));
  EXPECT_EQ(v.decode_to_string({v.id("HH"), v.id("AH"), kEos}, " "), "HH AH");
  EXPECT_THROW(v.decode({v.id("HH"), 99}), std::out_of_range);
  EXPECT_THROW(v.decode({-1}), std::out_of_range);
}

TEST(Vocabulary, EncodeDecodeRoundTrip) {
  const std::vector<Symbols> data = {{"h", "e", "l", "l", "o"}, {"w", "o", "r", "l", "d", "'"}};
  const auto v = Vocabulary::build(data);
  for (const auto& seq : data) EXPECT_EQ(v.decode(v.encode(seq)), seq);
}

TEST(Vocabulary, TextAndJsonRoundTrips) {
  const auto v = Vocabulary::build({{"AA", "B", "CH", "a b", "é"}}, Vocabulary::Order::first_seen);
  EXPECT_EQ(Vocabulary::from_text(v.to_text()), v);
  EXPECT_EQ(Vocabulary::from_json(v.to_json()), v);
  const auto text_file = temp_path("vocab.txt"), json_file = temp_path("vocab.json");
  v.save_text(text_file);
  v.save_json(json_file);
  EXPECT_EQ(Vocabulary::load_text(text_file), v);
  EXPECT_EQ(Vocabulary::load_json(json_file), v);
  // The text file is one symbol per line, id = line index.
  std::ifstream in(text_file);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  EXPECT_EQ(lines, v.symbols());
  fs::remove(text_file);
  fs::remove(json_file);
}

TEST(Vocabulary, BadFilesAndSymbolsAreRefused) {
  EXPECT_THROW(Vocabulary::from_text("<pad>\n<sos>\n<eos>\n"), std::runtime_error);           // too short
  EXPECT_THROW(Vocabulary::from_text("<pad>\n<eos>\n<sos>\n<unk>\na\n"), std::runtime_error);  // specials swapped
  EXPECT_THROW(Vocabulary::from_text("<pad>\n<sos>\n<eos>\n<unk>\na\na\n"), std::runtime_error);  // duplicate
  EXPECT_THROW(Vocabulary::from_text("<pad>\n<sos>\n<eos>\n<unk>\na\n\nb\n"), std::runtime_error);  // empty
  EXPECT_THROW(Vocabulary::from_json("{\"symbols\": [\"<pad>\"]}"), std::runtime_error);  // no format tag
  EXPECT_THROW(Vocabulary::from_json("not json"), std::runtime_error);
  EXPECT_THROW(Vocabulary::from_json(R"({"format":"seqgrad.vocabulary","version":1,"symbols":[1]})"),
               std::runtime_error);
  EXPECT_THROW(Vocabulary::build({{"a", "<eos>"}}), std::invalid_argument);
  Vocabulary v;
  EXPECT_THROW(v.add("a\nb"), std::invalid_argument);
  EXPECT_THROW(v.add(""), std::invalid_argument);
  EXPECT_THROW(Vocabulary::load_text(temp_path("does_not_exist")), std::runtime_error);
}

// Found by fuzzing (tests/fuzz/regressions/vocab_*): a symbol that is not valid UTF-8 was accepted,
// then save_json threw nlohmann's type_error; a "format" that is not a string threw type_error
// instead of the documented std::runtime_error.
TEST(Vocabulary, NonUtf8SymbolsAndMistypedJsonAreRefused) {
  EXPECT_THROW(Vocabulary::from_text("<pad>\n<sos>\n<eos>\n<unk>\n\xcd\nb\n"), std::runtime_error);
  EXPECT_THROW(Vocabulary::from_text("<pad>\n<sos>\n<eos>\n<unk>\n\xed\xa0\x80\n"), std::runtime_error);  // surrogate
  Vocabulary v;
  EXPECT_THROW(v.add("caf\xe9"), std::invalid_argument);  // Latin-1
  EXPECT_THROW(Vocabulary::build({{"a", "\xff"}}), std::invalid_argument);
  EXPECT_EQ(v.add("caf\xc3\xa9"), kNumSpecials);
  EXPECT_THROW(Vocabulary::from_json(R"({"format": 7, "version": 1, "symbols": []})"), std::runtime_error);
  EXPECT_THROW(Vocabulary::from_json(R"({"format": null, "version": "1", "symbols": {"a": 1}})"), std::runtime_error);
  EXPECT_THROW(Vocabulary::from_json(R"({"format": "seqgrad.vocabulary", "version": 1, "symbols": {"a": 1}})"),
               std::runtime_error);
}

// Loading a vocabulary names the file in every refusal: a directory, an empty file, bad contents.
TEST(Vocabulary, LoadErrorsNameTheFile) {
  const auto expect_named = [](const fs::path& file, const std::string& expected, bool json) {
    try {
      if (json) Vocabulary::load_json(file); else Vocabulary::load_text(file);
      ADD_FAILURE() << "loaded " << file;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  const auto dir = temp_path("vocab_dir");
  fs::create_directories(dir);
  expect_named(dir, "is a directory", false);
  expect_named(dir, "is a directory", true);
  fs::remove_all(dir);
  const auto file = temp_path("vocab_bad.txt");
  std::ofstream(file).close();
  expect_named(file, "fewer than the 4 special tokens", false);
  std::ofstream(file) << "<pad>\n<sos>\n<eos>\n<unk>\na\na\n";
  expect_named(file, "repeats the symbol 'a'", false);
  std::ofstream(file) << "{\"format\": \"seqgrad.vocabulary\", \"version\": 2}";
  expect_named(file, "unsupported version 2", true);
  fs::remove(file);
}

// ---------------------------------------------------------------------------------------------
// Batches

TEST(Batch, PadsMasksAndShiftsTargets) {
  // Ids 4.. are data symbols.
  const std::vector<Example> examples = {
      {{4, 5, 6}, {7, 8}, {}},
      {{9}, {10, 11, 12, 13}, {{10}}},
      {{4, 4, 4, 4, 4}, {5}, {}},
  };
  const std::vector<std::size_t> rows = {1, 0};
  const Batch b = make_batch(examples, rows);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.example_indices, rows);
  // Sources end with <eos>; Ts = 3 + 1.
  EXPECT_EQ(b.src.shape(), (Shape{2, 4}));
  EXPECT_EQ(b.src.dtype(), DType::i64);
  EXPECT_EQ(ints(b.src), (std::vector<std::int64_t>{9, kEos, kPad, kPad, 4, 5, 6, kEos}));
  EXPECT_EQ(ints(b.src_lengths), (std::vector<std::int64_t>{2, 4}));
  // Targets: Tt = 4 + 1.
  EXPECT_EQ(b.tgt_in.shape(), (Shape{2, 5}));
  EXPECT_EQ(ints(b.tgt_in), (std::vector<std::int64_t>{kSos, 10, 11, 12, 13, kSos, 7, 8, kPad, kPad}));
  EXPECT_EQ(ints(b.tgt_out), (std::vector<std::int64_t>{10, 11, 12, 13, kEos, 7, 8, kEos, kPad, kPad}));
  EXPECT_EQ(b.num_target_tokens, 8u);
  EXPECT_EQ(references(examples[1]), (std::vector<TokenIds>{{10, 11, 12, 13}, {10}}));
}

TEST(Batch, SourceEosCanBeTurnedOff) {
  const std::vector<Example> examples = {{{4, 5}, {6}, {}}, {{7}, {8}, {}}};
  const std::vector<std::size_t> rows = {0, 1};
  const Batch b = make_batch(examples, rows, {.source_eos = false});
  EXPECT_EQ(ints(b.src), (std::vector<std::int64_t>{4, 5, 7, kPad}));
  EXPECT_EQ(ints(b.src_lengths), (std::vector<std::int64_t>{2, 1}));
  EXPECT_EQ(encoder_length(examples[0], {.source_eos = false}), 2u);
  EXPECT_EQ(encoder_length(examples[0]), 3u);
}

TEST(Batch, EmptyTargetStillHasEos) {
  const std::vector<Example> examples = {{{4}, {}, {}}};
  const std::vector<std::size_t> rows = {0};
  const Batch b = make_batch(examples, rows);
  EXPECT_EQ(ints(b.tgt_in), (std::vector<std::int64_t>{kSos}));
  EXPECT_EQ(ints(b.tgt_out), (std::vector<std::int64_t>{kEos}));
  EXPECT_EQ(b.num_target_tokens, 1u);
}

TEST(Batch, BadInputsThrow) {
  const std::vector<Example> examples = {{{4}, {5}, {}}, {{kEos}, {5}, {}}, {{}, {5}, {}}, {{4}, {kPad}, {}}};
  const std::vector<std::size_t> none, out_of_range = {7}, special_src = {1}, empty_src = {2}, special_tgt = {3};
  EXPECT_THROW(make_batch(examples, none), std::invalid_argument);
  EXPECT_THROW(make_batch(examples, out_of_range), std::invalid_argument);
  EXPECT_THROW(make_batch(examples, special_src), std::invalid_argument);
  EXPECT_THROW(make_batch(examples, special_tgt), std::invalid_argument);
  EXPECT_THROW(make_batch(examples, empty_src, {.source_eos = false}), std::invalid_argument);
  EXPECT_NO_THROW(make_batch(examples, empty_src));  // the <eos> alone is a source
}

// ---------------------------------------------------------------------------------------------
// Batcher

namespace {

std::vector<std::size_t> random_lengths(std::size_t n, std::uint64_t seed) {
  Generator gen(seed);
  std::vector<std::size_t> lengths(n);
  for (auto& l : lengths) l = 1 + gen.below(40);
  return lengths;
}

}  // namespace

TEST(Batcher, EveryExampleExactlyOncePerEpoch) {
  const auto lengths = random_lengths(1037, 1);
  Batcher batcher(lengths, {.batch_size = 16, .chunk_batches = 5, .seed = 7});
  EXPECT_EQ(batcher.batches_per_epoch(), 1037 / 80 * 5 + (1037 % 80 + 15) / 16);  // 12 chunks of 5, then 77 -> 5
  for (std::uint64_t epoch = 0; epoch < 3; ++epoch) {
    const auto batches = batcher.epoch_batches(epoch);
    ASSERT_EQ(batches.size(), batcher.batches_per_epoch());
    std::vector<int> seen(lengths.size(), 0);
    std::size_t short_batches = 0;
    for (const auto& b : batches) {
      ASSERT_FALSE(b.empty());
      EXPECT_LE(b.size(), 16u);
      short_batches += b.size() < 16;
      for (std::size_t i : b) ++seen[i];
    }
    EXPECT_EQ(short_batches, 1u);  // only the last chunk's last batch (77 = 4*16 + 13)
    EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int c) { return c == 1; })) << "epoch " << epoch;
  }
}

TEST(Batcher, BucketingKeepsPaddingSmall) {
  const auto lengths = random_lengths(3200, 2);
  const auto padding = [&](const Batcher::Batches& batches) {
    std::size_t pad = 0;
    for (const auto& b : batches) {
      std::size_t longest = 0;
      for (std::size_t i : b) longest = std::max(longest, lengths[i]);
      for (std::size_t i : b) pad += longest - lengths[i];
    }
    return pad;
  };
  Batcher bucketed(lengths, {.batch_size = 32, .chunk_batches = 20, .seed = 3});
  Batcher unsorted(lengths, {.batch_size = 32, .chunk_batches = 1, .seed = 3});  // a chunk is one batch
  const std::size_t pad_bucketed = padding(bucketed.epoch_batches(0)), pad_unsorted = padding(unsorted.epoch_batches(0));
  // Lengths uniform in 1..40: random batches of 32 pad about 40*32/2 tokens per batch; sorting 640
  // examples at a time leaves about 1-2 per example.
  EXPECT_LT(pad_bucketed * 10, pad_unsorted) << pad_bucketed << " vs " << pad_unsorted;
  // Within a batch the lengths are sorted (stable sort within the chunk).
  for (const auto& b : bucketed.epoch_batches(0))
    EXPECT_TRUE(std::is_sorted(b.begin(), b.end(), [&](std::size_t x, std::size_t y) { return lengths[x] < lengths[y]; }));
}

TEST(Batcher, SeededOrderIsReproducibleAndDiffersByEpochAndSeed) {
  const auto lengths = random_lengths(500, 3);
  Batcher a(lengths, {.batch_size = 8, .chunk_batches = 10, .seed = 11});
  Batcher b(lengths, {.batch_size = 8, .chunk_batches = 10, .seed = 11});
  Batcher c(lengths, {.batch_size = 8, .chunk_batches = 10, .seed = 12});
  EXPECT_EQ(a.epoch_batches(0), b.epoch_batches(0));
  EXPECT_EQ(a.epoch_batches(5), b.epoch_batches(5));
  EXPECT_NE(a.epoch_batches(0), c.epoch_batches(0));
  EXPECT_NE(a.epoch_batches(0), a.epoch_batches(1));
}

TEST(Batcher, WithoutShuffleTheOrderIsTheDataSortedWithinChunks) {
  const std::vector<std::size_t> lengths = {5, 3, 9, 1, 3, 7, 2};
  Batcher batcher(lengths, {.batch_size = 2, .chunk_batches = 2, .shuffle = false});
  // Chunks of 4: {0,1,2,3} sorted by length -> 3,1,0,2; {4,5,6} -> 6,4,5.
  const Batcher::Batches expected = {{3, 1}, {0, 2}, {6, 4}, {5}};
  EXPECT_EQ(batcher.epoch_batches(0), expected);
  EXPECT_EQ(batcher.epoch_batches(3), expected);
  Batcher whole(lengths, {.batch_size = 3, .chunk_batches = 0, .shuffle = false});
  EXPECT_EQ(whole.epoch_batches(0), (Batcher::Batches{{3, 6, 1}, {4, 0, 5}, {2}}));
}

TEST(Batcher, ResumedIterationEqualsUninterrupted) {
  const auto lengths = random_lengths(203, 4);
  const BatcherOptions options{.batch_size = 10, .chunk_batches = 3, .seed = 99};
  Batcher straight(lengths, options);
  const std::size_t total = 3 * straight.batches_per_epoch() + 7;  // into the fourth epoch
  std::vector<std::vector<std::size_t>> expected;
  for (std::size_t k = 0; k < total; ++k) expected.push_back(straight.next());

  for (std::size_t stop : {std::size_t{0}, std::size_t{5}, straight.batches_per_epoch(), straight.batches_per_epoch() + 3}) {
    Batcher first(lengths, options);
    for (std::size_t k = 0; k < stop; ++k) first.next();
    const Batcher::State saved = first.state();
    Batcher resumed(lengths, options);  // a fresh process: only the state carries over
    resumed.restore(saved);
    for (std::size_t k = stop; k < total; ++k) ASSERT_EQ(resumed.next(), expected[k]) << "stopped at " << stop << ", batch " << k;
  }
  // The iteration itself walks the epochs' orders.
  EXPECT_EQ(expected[0], straight.epoch_batches(0)[0]);
  EXPECT_EQ(expected[straight.batches_per_epoch()], straight.epoch_batches(1)[0]);
}

TEST(Batcher, StateAndErrors) {
  const std::vector<std::size_t> lengths = {1, 2, 3, 4, 5};
  Batcher batcher(lengths, {.batch_size = 2});
  EXPECT_EQ(batcher.state(), (Batcher::State{0, 0}));
  batcher.next(), batcher.next(), batcher.next();
  EXPECT_EQ(batcher.state(), (Batcher::State{0, 3}));
  EXPECT_TRUE(batcher.epoch_finished());
  batcher.next();
  EXPECT_EQ(batcher.state(), (Batcher::State{1, 1}));
  EXPECT_THROW(batcher.restore({0, 4}), std::invalid_argument);
  EXPECT_THROW(Batcher({}, {}), std::invalid_argument);
  EXPECT_THROW(Batcher(lengths, {.batch_size = 0}), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// TSV reader

TEST(TsvReader, ReadsPairsAndReportsMalformedLinesByNumber) {
  std::istringstream in(
      "hello\tHH AH L OW\n"      // 1
      "no tab here\n"            // 2: malformed
      "a\tb\tc\n"                // 3: malformed
      "\n"                       // 4: blank, skipped silently
      "world\tW ER L D\r\n"      // 5: CRLF
      "\tEMPTY\n"                // 6: malformed
      "x\t   \n"                 // 7: malformed
      "hello\tHH EH L OW\n"      // 8: second target of "hello"
      "hello\tHH AH L OW\n"      // 9: repeats line 1
      "last  one \t A  B");      // 10: runs of spaces, no final newline
  std::vector<ParseIssue> issues;
  const auto result = read_tsv(in, {.source_tokens = Tokenization::characters,
                                     .on_issue = [&](const ParseIssue& i) { issues.push_back(i); }},
                               "pairs.tsv");
  EXPECT_EQ(result.lines, 10u);
  EXPECT_EQ(result.skipped_lines, 5u);
  ASSERT_EQ(issues.size(), 5u);
  const std::vector<std::size_t> lines = {issues[0].line, issues[1].line, issues[2].line, issues[3].line, issues[4].line};
  EXPECT_EQ(lines, (std::vector<std::size_t>{2, 3, 6, 7, 9}));
  EXPECT_EQ(issues[0].source, "pairs.tsv");
  EXPECT_EQ(issues[0].text, "no tab here");
  EXPECT_NE(issues[1].message.find("more than one tab"), std::string::npos);

  ASSERT_EQ(result.entries.size(), 3u);
  EXPECT_EQ(result.entries[0].key, "hello");
  EXPECT_EQ(result.entries[0].line, 1u);
  EXPECT_EQ(result.entries[0].source, (Symbols{"h", "e", "l", "l", "o"}));
  EXPECT_EQ(result.entries[0].targets, (std::vector<Symbols>{{"HH", "AH", "L", "OW"}, {"HH", "EH", "L", "OW"}}));
  EXPECT_EQ(result.entries[1].targets, (std::vector<Symbols>{{"W", "ER", "L", "D"}}));
  EXPECT_EQ(result.entries[2].source, (Symbols{"l", "a", "s", "t", " ", " ", "o", "n", "e", " "}));
  EXPECT_EQ(result.entries[2].targets, (std::vector<Symbols>{{"A", "B"}}));

  // Every line accounted for: 4 pairs kept (+ 5 skipped + 1 blank = 10 lines), of 3 sources: the
  // second "hello" line merged into the first as an alternative target.
  EXPECT_EQ(result.blank_lines, 1u);
  const PairCounts counts = count_pairs(result.entries, result.lines, result.blank_lines, result.skipped_lines);
  EXPECT_EQ(counts, (PairCounts{.lines = 10, .blank = 1, .skipped = 5, .pairs = 4, .sources = 3}));
  EXPECT_EQ(counts.merged(), 1u);
  EXPECT_EQ(describe(counts),
            "10 lines: 4 pairs of 3 distinct sources (1 merged into an earlier source as alternative targets), 5 skipped, 1 blank");
}

TEST(TsvReader, WhitespaceTokensAndNoGrouping) {
  std::istringstream in("the cat\tle chat\nthe cat\tle chat noir\n");
  const auto result = read_tsv(in, {.group_by_source = false});
  ASSERT_EQ(result.entries.size(), 2u);
  EXPECT_EQ(result.entries[0].source, (Symbols{"the", "cat"}));
  EXPECT_EQ(result.entries[1].targets, (std::vector<Symbols>{{"le", "chat", "noir"}}));
  EXPECT_EQ(result.entries[1].line, 2u);
}

TEST(TsvReader, AByteOrderMarkAtTheStartIsNotPartOfTheFirstSymbol) {
  std::istringstream in("\xEF\xBB\xBF" "the cat\tle chat\n\xEF\xBB\xBF" "a\tb\n");
  const auto result = read_tsv(in, {.group_by_source = false});
  ASSERT_EQ(result.entries.size(), 2u);
  EXPECT_EQ(result.entries[0].source, (Symbols{"the", "cat"}));
  EXPECT_EQ(result.entries[1].source, (Symbols{"\xEF\xBB\xBF" "a"}));  // only the file's first line starts the file
}

TEST(TsvReader, InvalidUtf8IsMalformedInCharacterMode) {
  std::istringstream in("caf\xc3\xa9\tK AE F EY\nbad\xff\tB AE D\ntrunc\xc3\tT\n");
  std::vector<std::size_t> lines;
  const auto result = read_tsv(in, {.source_tokens = Tokenization::characters,
                                     .on_issue = [&](const ParseIssue& i) { lines.push_back(i.line); }});
  EXPECT_EQ(lines, (std::vector<std::size_t>{2, 3}));
  ASSERT_EQ(result.entries.size(), 1u);
  EXPECT_EQ(result.entries[0].source, (Symbols{"c", "a", "f", "\xc3\xa9"}));
}

// A vocabulary holds UTF-8 symbols only, so whitespace-separated symbols must be UTF-8 too.
TEST(TsvReader, InvalidUtf8IsMalformedInWhitespaceModeToo) {
  std::istringstream in("caf\xc3\xa9 au lait\tK AE F EY\ncaf\xe9\tK AE F EY\nok\tO K \xff\n");
  std::vector<std::string> messages;
  const auto result = read_tsv(in, {.on_issue = [&](const ParseIssue& i) { messages.push_back(i.message); }});
  EXPECT_EQ(messages, (std::vector<std::string>{"the source is not valid UTF-8", "the target is not valid UTF-8"}));
  ASSERT_EQ(result.entries.size(), 1u);
  EXPECT_EQ(result.entries[0].source, (Symbols{"caf\xc3\xa9", "au", "lait"}));
}

TEST(TsvReader, FileOverloadAndMissingFile) {
  const auto file = temp_path("pairs.tsv");
  std::ofstream(file) << "ab\tA B\n";
  EXPECT_EQ(read_tsv(file).entries.size(), 1u);
  fs::remove(file);
  EXPECT_THROW(read_tsv(file), std::runtime_error);
}

// A directory is not a TSV file with 0 entries: it is refused, named.
TEST(TsvReader, DirectoryIsRefusedNamingIt) {
  const auto dir = temp_path("tsv_dir");
  fs::create_directories(dir);
  seqgrad::test_support::expect_error<std::runtime_error>([&] { read_tsv(dir); }, {dir.string(), "directory"});
  fs::remove_all(dir);
}

// A stream that cannot be read (an I/O error) is an error naming the source, not the end of the data.
TEST(TsvReader, ReadErrorIsAnError) {
  struct Failing : std::streambuf {
    int underflow() override { throw std::ios_base::failure("read(2) failed"); }
  } failing;
  std::istream in(&failing);
  try {
    read_tsv(in, {}, "broken.tsv");
    ADD_FAILURE() << "a failing stream read as data";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.tsv"), std::string::npos) << e.what();
  }
}

// Lines and sequences beyond the stated maxima are reported and skipped, whatever their length (a
// 20 MB line without a tab is read without holding it whole).
TEST(TsvReader, OverlongLinesAndSequencesAreReportedAndSkipped) {
  const std::string huge(20 << 20, 'a');
  std::istringstream in("ok\tO K\n" + huge + "\tA\n" + std::string(2000, 'b') + "\tB\nc\t" +
                        std::string(5000, 'C') + "\nlast\tL\n");
  std::vector<ParseIssue> issues;
  const auto result = read_tsv(in, {.source_tokens = Tokenization::characters,
                                     .target_tokens = Tokenization::characters,
                                     .on_issue = [&](const ParseIssue& i) { issues.push_back(i); }});
  EXPECT_EQ(result.lines, 5u);
  EXPECT_EQ(result.skipped_lines, 3u);
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(issues[0].line, 2u);
  EXPECT_NE(issues[0].message.find("longer than 1048576 bytes"), std::string::npos) << issues[0].message;
  EXPECT_EQ(issues[0].text.size(), std::size_t{1} << 20);  // what was kept of the line
  EXPECT_EQ(issues[1].line, 3u);
  EXPECT_NE(issues[1].message.find("the source has 2000 symbols, more than the maximum 1024"), std::string::npos)
      << issues[1].message;
  EXPECT_EQ(issues[2].line, 4u);
  EXPECT_NE(issues[2].message.find("the target has 5000 symbols"), std::string::npos) << issues[2].message;
  ASSERT_EQ(result.entries.size(), 2u);
  EXPECT_EQ(result.entries[1].key, "last");

  std::istringstream small("abc\tA\n");  // the maxima are options
  EXPECT_EQ(read_tsv(small, {.source_tokens = Tokenization::characters, .max_symbols = 2, .on_issue = {}})
                .skipped_lines,
            1u);
}

TEST(Entries, TrainingAndEvaluationExamples) {
  const std::vector<Entry> entries = {{"ab", 1, {"a", "b"}, {{"X"}, {"Y", "X"}}}, {"c", 2, {"c"}, {{"Z"}}}};
  const auto src = Vocabulary::build(source_sequences(entries));
  const auto tgt = Vocabulary::build(target_sequences(entries));
  EXPECT_EQ(tgt.symbols(), (Symbols{"<pad>", "<sos>", "<eos>", "<unk>", "X", "Y", "Z"}));
  const auto train = training_examples(entries, src, tgt);
  ASSERT_EQ(train.size(), 3u);  // one per pronunciation
  EXPECT_EQ(train[0].source, (TokenIds{4, 5}));
  EXPECT_EQ(train[0].target, (TokenIds{4}));
  EXPECT_EQ(train[0].alternatives, (std::vector<TokenIds>{{5, 4}}));
  EXPECT_EQ(train[1].target, (TokenIds{5, 4}));
  EXPECT_EQ(train[1].alternatives, (std::vector<TokenIds>{{4}}));
  const auto eval = evaluation_examples(entries, src, tgt);
  ASSERT_EQ(eval.size(), 2u);  // one per word
  EXPECT_EQ(references(eval[0]), (std::vector<TokenIds>{{4}, {5, 4}}));
  EXPECT_EQ(references(eval[1]), (std::vector<TokenIds>{{6}}));
}

// <unk> is what a symbol outside the vocabulary is read as: data, so evaluating new data works.
TEST(Batch, UnknownSymbolsAreData) {
  const std::vector<Example> examples = {{{4, kUnk}, {kUnk, 5}, {}}};
  const std::vector<std::size_t> rows = {0};
  EXPECT_NO_THROW(make_batch(examples, rows));
}
