// Vocabulary::from_json on arbitrary bytes; what it accepts must survive a round trip.
#include "fuzz_common.hpp"
#include "seqgrad/nn/seq2seq/vocab.hpp"

using seqgrad::nn::seq2seq::Vocabulary;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  seqgrad::fuzz::expect_clean("Vocabulary::from_json", [&] {
    seqgrad::fuzz::expect_round_trips(Vocabulary::from_json(seqgrad::fuzz::as_text(data, size)));
  });
  return 0;
}
