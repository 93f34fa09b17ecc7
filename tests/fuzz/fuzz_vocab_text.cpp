// Vocabulary::from_text on arbitrary bytes; what it accepts must survive a round trip.
#include "fuzz_common.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"

using seqgrad::nn::seq2seq::Vocabulary;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  seqgrad::fuzz::expect_clean("Vocabulary::from_text", [&] {
    const Vocabulary v = Vocabulary::from_text(seqgrad::fuzz::as_text(data, size));
    if (!(Vocabulary::from_text(v.to_text()) == v) || !(Vocabulary::from_json(v.to_json()) == v)) std::abort();
  });
  return 0;
}
