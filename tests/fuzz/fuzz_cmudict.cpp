// g2p::read_cmudict on arbitrary bytes, with and without stress; then the fixed split.
#include <sstream>

#include "cmudict.hpp"
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(seqgrad::fuzz::as_text(data, size));
  for (bool keep_stress : {false, true}) {
    g2p::CmuDictOptions options;
    options.keep_stress = keep_stress;
    std::size_t reported = 0;
    options.on_issue = [&](const seqgrad::nn::seq2seq::ParseIssue& issue) {
      if (issue.line == 0 || issue.message.empty()) std::abort();
      ++reported;
    };
    seqgrad::fuzz::expect_clean("read_cmudict", [&] {
      std::istringstream in(text);
      const g2p::ReadResult r = g2p::read_cmudict(in, options, "fuzz.js");
      if (r.skipped_lines != reported || r.skipped_lines > r.lines) std::abort();
      for (const auto& e : r.entries)
        if (e.source.empty() || e.targets.empty() || e.source.size() != e.key.size()) std::abort();
      (void)g2p::split_entries(r.entries);
    });
  }
  return 0;
}
