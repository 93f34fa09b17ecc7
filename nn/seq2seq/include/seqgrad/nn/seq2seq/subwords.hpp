#pragma once
// Subwords: a SentencePiece model that cuts text into pieces ("▁the", "re", ...) and joins them
// back. Its pieces are the symbols of the Vocabulary of a run that trains with --subwords; the
// model's bytes are kept in the run folder (subwords.model) and bound to the checkpoints.
//
// The model is BPE, trained from memory on whitespace-normalized text: BPE's training is a greedy
// sequence of merges of the most frequent pair (no EM over floating-point sums, no sampling), so
// the same sentences give the same model bytes on every machine and thread count. Normalization
// is the identity and every character of the training text is kept (character_coverage 1), so
// decode(encode(text)) == text for single-spaced text made of characters seen in training.
#include <memory>
#include <string>
#include <vector>

#include "seqgrad/nn/seq2seq/vocab.hpp"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace seqgrad::nn::seq2seq {

class Subwords {
 public:
  // The smallest and largest --subwords sizes (SentencePiece needs room for its 3 specials and the
  // characters; the upper bound keeps a typo from asking for a gigantic model).
  static constexpr std::size_t kMinSize = 8, kMaxSize = 1u << 20;

  // Trains a model of `vocab_size` pieces on `sentences` (each one line of text without tabs or
  // newlines). Throws std::invalid_argument naming --subwords when the size is out of range or
  // SentencePiece refuses it (more pieces than the text can give, say).
  static Subwords train(const std::vector<std::string>& sentences, std::size_t vocab_size);
  // A model from the bytes train() made; throws std::runtime_error prefixed by `what` (the file)
  // when they are not a SentencePiece model.
  static Subwords from_bytes(std::string bytes, const std::string& what);

  // The serialized model (what the run folder stores).
  const std::string& bytes() const { return bytes_; }
  std::size_t size() const;

  // The pieces of `text` (deterministic: the best segmentation, no sampling).
  Symbols encode(const std::string& text) const;
  // The text of `pieces` ("▁" becomes a space; the leading one is dropped).
  std::string decode(const Symbols& pieces) const;

 private:
  Subwords(std::string bytes, std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor)
      : bytes_(std::move(bytes)), processor_(std::move(processor)) {}
  std::string bytes_;
  std::shared_ptr<const sentencepiece::SentencePieceProcessor> processor_;
};

}  // namespace seqgrad::nn::seq2seq
