#include "subword_text.hpp"

#include <limits>
#include <map>
#include <stdexcept>

#include "seqgrad/nn/seq2seq/bleu.hpp"
#include "seqgrad/nn/seq2seq/metrics.hpp"

namespace recipe {

std::string joined_text(const sq::Symbols& words) {
  std::string text;
  for (const std::string& w : words) text += (text.empty() ? "" : " ") + w;
  return text;
}

sq::Subwords train_subwords(const std::vector<sq::Entry>& entries, std::size_t size) {
  std::vector<std::string> sentences;
  for (const sq::Entry& e : entries) {
    sentences.push_back(joined_text(e.source));
    for (const sq::Symbols& t : e.targets) sentences.push_back(joined_text(t));
  }
  return sq::Subwords::train(sentences, size);
}

std::vector<sq::Entry> to_pieces(std::vector<sq::Entry> entries, const sq::Subwords& subwords, std::size_t max_length,
                                 const std::string& program, const std::string& file,
                                 std::vector<std::vector<std::string>>* target_texts) {
  std::map<std::size_t, std::vector<std::string>> texts;  // by the entry's line (one entry per source)
  for (sq::Entry& e : entries) {
    e.source = subwords.encode(joined_text(e.source));
    const auto [it, fresh] = texts.try_emplace(e.line);
    if (!fresh) throw std::invalid_argument("to_pieces: two entries of " + file + " say they start at line " + std::to_string(e.line));
    std::vector<std::string>& text = it->second;
    for (sq::Symbols& t : e.targets) {
      text.push_back(joined_text(t));
      t = subwords.encode(text.back());
    }
  }
  if (max_length > 0) {
    IssueReport report(program);
    entries = drop_long(std::move(entries), max_length, report, file + " (in subword pieces)");
    report.print_summary(file + " (in subword pieces)");
    if (entries.empty())
      throw std::runtime_error(file + ": no pair is at most --max-length " + std::to_string(max_length) + " subword pieces long");
  }
  if (target_texts) {
    target_texts->clear();
    for (const sq::Entry& e : entries) target_texts->push_back(std::move(texts.at(e.line)));
  }
  return entries;
}

TextScores score_text(const std::vector<std::string>& outputs, const std::vector<std::vector<std::string>>& references) {
  if (outputs.size() != references.size()) throw std::invalid_argument("score_text: outputs and references differ in number");
  std::map<std::string, sq::TokenId> ids;  // each distinct word one id, for the id-based metrics
  const auto words = [&](const std::string& text) {
    sq::Symbols w;
    sq::tokenize(text, sq::Tokenization::whitespace, w);
    sq::TokenIds out;
    for (const std::string& s : w) out.push_back(ids.emplace(s, static_cast<sq::TokenId>(ids.size())).first->second);
    return out;
  };
  TextScores s;
  std::vector<sq::TokenIds> output_ids;
  std::vector<std::vector<sq::TokenIds>> reference_ids;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (references[i].empty()) throw std::invalid_argument("score_text: an output without references");
    ++s.words.items;
    output_ids.push_back(words(outputs[i]));
    reference_ids.emplace_back();
    std::size_t best = std::numeric_limits<std::size_t>::max(), best_length = 0;
    bool exact = false;
    for (const std::string& r : references[i]) {
      exact |= r == outputs[i];
      reference_ids.back().push_back(words(r));
      const std::size_t d = sq::edit_distance(output_ids.back(), reference_ids.back().back());
      if (d < best) best = d, best_length = reference_ids.back().back().size();
    }
    s.words.exact += exact;
    s.words.edits += best;
    s.words.reference_tokens += best_length;
  }
  s.bleu = sq::corpus_bleu(output_ids, reference_ids).bleu;
  return s;
}

}  // namespace recipe
