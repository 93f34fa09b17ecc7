// read_tsv on arbitrary bytes, with every tokenization and grouping; then the entries into
// vocabularies and examples, as a program does with them.
#include <sstream>

#include "fuzz_common.hpp"
#include "seqgrad/nn/seq2seq/readers.hpp"

using namespace seqgrad::nn::seq2seq;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(seqgrad::fuzz::as_text(data, size));
  for (int mode = 0; mode < 4; ++mode) {
    TsvOptions options;
    options.source_tokens = mode & 1 ? Tokenization::characters : Tokenization::whitespace;
    options.target_tokens = mode & 1 ? Tokenization::whitespace : Tokenization::characters;
    options.group_by_source = mode & 2;
    std::size_t reported = 0;
    options.on_issue = [&](const ParseIssue& issue) {
      if (issue.line == 0 || issue.message.empty()) std::abort();
      ++reported;
    };
    seqgrad::fuzz::expect_clean("read_tsv", [&] {
      std::istringstream in(text);
      const ReadResult r = read_tsv(in, options, "fuzz.tsv");
      if (r.skipped_lines != reported || r.skipped_lines > r.lines) std::abort();
      for (const auto& e : r.entries)
        if (e.source.empty() || e.targets.empty() || e.line == 0 || e.line > r.lines) std::abort();
      try {
        const auto sv = Vocabulary::build(source_sequences(r.entries));
        const auto tv = Vocabulary::build(target_sequences(r.entries));
        (void)training_examples(r.entries, sv, tv);
        (void)evaluation_examples(r.entries, sv, tv);
      } catch (const std::invalid_argument&) {
        // Vocabulary::build refuses data that spells a special token ("<eos>"): documented
      }
    });
  }
  return 0;
}
