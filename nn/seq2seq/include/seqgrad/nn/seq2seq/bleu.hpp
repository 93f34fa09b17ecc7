#pragma once
// Corpus BLEU (Papineni et al. 2002), as sacrebleu and multi-bleu compute it without smoothing:
//
//   BLEU = BP * exp(sum_{n=1..N} (1/N) log p_n)
//   p_n  = sum over outputs of the n-grams that also occur in a reference (each n-gram counted at
//          most as often as it occurs in the reference where it is most frequent)
//          / sum over outputs of their n-grams
//   BP   = 1 when c > r, else exp(1 - r/c), with c the outputs' total length and r the sum of
//          each output's closest reference length (the shorter one on a tie)
//
// BLEU is 0 when some p_n is 0 (no matching n-gram of that order anywhere in the corpus) or the
// outputs are all empty. Tokens are ids; for word-level BLEU they must be words.
#include <cstddef>
#include <vector>

#include "seqgrad/nn/seq2seq/vocab.hpp"

namespace seqgrad::nn::seq2seq {

struct BleuScore {
  double bleu = 0;                   // in [0, 1]
  std::vector<double> precisions;    // p_1 .. p_N
  double brevity_penalty = 0;
  std::size_t output_length = 0, reference_length = 0;
};

// outputs[i] is scored against references[i] (one or more). Throws std::invalid_argument when the
// sizes differ, a reference list is empty, or max_order is 0.
BleuScore corpus_bleu(const std::vector<TokenIds>& outputs, const std::vector<std::vector<TokenIds>>& references,
                      std::size_t max_order = 4);

}  // namespace seqgrad::nn::seq2seq
