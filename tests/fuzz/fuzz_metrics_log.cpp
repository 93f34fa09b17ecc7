// read_metrics_series on arbitrary bytes (through a scratch file: it reads a path).
#include "fuzz_common.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"

using namespace seqgrad::nn::seq2seq;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static seqgrad::fuzz::ScratchFile file("metrics");
  const auto& path = file.write(seqgrad::fuzz::as_text(data, size));
  seqgrad::fuzz::expect_clean("read_metrics_series", [&] {
    const auto series = read_metrics_series(path, "step", {"train_loss", "dev_loss", "step"},
                                            [](const ParseIssue& issue) {
                                              if (issue.line == 0 || issue.message.empty()) std::abort();
                                            });
    if (series.size() != 3) std::abort();
    for (const auto& s : series)
      if (s.x.size() != s.y.size()) std::abort();
  });
  return 0;
}
