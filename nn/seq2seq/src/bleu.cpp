#include "seqgrad/nn/seq2seq/bleu.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace seqgrad::nn::seq2seq {

namespace {

using Counts = std::map<TokenIds, std::size_t>;

Counts ngrams(const TokenIds& s, std::size_t n) {
  Counts c;
  for (std::size_t i = 0; i + n <= s.size(); ++i) ++c[TokenIds(s.begin() + std::ptrdiff_t(i), s.begin() + std::ptrdiff_t(i + n))];
  return c;
}

}  // namespace

BleuScore corpus_bleu(const std::vector<TokenIds>& outputs, const std::vector<std::vector<TokenIds>>& references,
                      std::size_t max_order) {
  if (outputs.size() != references.size())
    throw std::invalid_argument("corpus_bleu: " + std::to_string(outputs.size()) + " outputs but " +
                                std::to_string(references.size()) + " reference lists");
  if (max_order == 0) throw std::invalid_argument("corpus_bleu: max_order must be positive");
  std::vector<double> matches(max_order, 0), totals(max_order, 0);
  BleuScore out;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const TokenIds& hyp = outputs[i];
    const auto& refs = references[i];
    if (refs.empty()) throw std::invalid_argument("corpus_bleu: output " + std::to_string(i) + " has no reference");
    out.output_length += hyp.size();
    // The closest reference length; the shorter on a tie.
    std::size_t best = refs[0].size();
    for (const TokenIds& r : refs) {
      const auto d = [&](std::size_t len) { return len > hyp.size() ? len - hyp.size() : hyp.size() - len; };
      if (d(r.size()) < d(best) || (d(r.size()) == d(best) && r.size() < best)) best = r.size();
    }
    out.reference_length += best;
    for (std::size_t n = 1; n <= max_order; ++n) {
      const Counts h = ngrams(hyp, n);
      Counts most;
      for (const TokenIds& r : refs)
        for (const auto& [g, c] : ngrams(r, n)) most[g] = std::max(most[g], c);
      for (const auto& [g, c] : h) {
        const auto it = most.find(g);
        matches[n - 1] += double(std::min(c, it == most.end() ? 0 : it->second));
        totals[n - 1] += double(c);
      }
    }
  }
  double log_sum = 0;
  bool zero = out.output_length == 0;
  for (std::size_t n = 0; n < max_order; ++n) {
    const double p = totals[n] > 0 ? matches[n] / totals[n] : 0.0;
    out.precisions.push_back(p);
    if (p == 0) zero = true;
    else log_sum += std::log(p) / double(max_order);
  }
  const double c = double(out.output_length), r = double(out.reference_length);
  out.brevity_penalty = c == 0 ? 0.0 : (c > r ? 1.0 : std::exp(1.0 - r / c));
  out.bleu = zero ? 0.0 : out.brevity_penalty * std::exp(log_sum);
  return out;
}

}  // namespace seqgrad::nn::seq2seq
