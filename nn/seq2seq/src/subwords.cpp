#include "seqgrad/nn/seq2seq/subwords.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <stdexcept>
#include <unordered_map>

namespace seqgrad::nn::seq2seq {

namespace {

// Feeds the sentences from memory: nothing is written beside the run.
class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return next_ >= sentences_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return sentences_[next_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }  // OK

 private:
  const std::vector<std::string>& sentences_;
  std::size_t next_ = 0;
};

}  // namespace

Subwords Subwords::train(const std::vector<std::string>& sentences, std::size_t vocab_size) {
  if (vocab_size < kMinSize || vocab_size > kMaxSize)
    throw std::invalid_argument("--subwords " + std::to_string(vocab_size) + ": the number of pieces must be in [" +
                                std::to_string(kMinSize) + ", " + std::to_string(kMaxSize) + "]");
  if (sentences.empty()) throw std::invalid_argument("--subwords: no text to train the subword model on");
  for (const std::string& s : sentences)
    if (s.find_first_of("\t\n") != std::string::npos)
      throw std::invalid_argument("Subwords::train: a sentence holds a tab or a newline");
  const std::unordered_map<std::string, std::string> options = {
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(vocab_size)},
      {"character_coverage", "1.0"},          // every character seen stays a piece: no <unk> for rare ones
      {"normalization_rule_name", "identity"},  // the text comes back as it went in (no NFKC)
      {"input_sentence_size", "0"},           // all sentences: no random sample of them
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", "1000000"},     // long lines are not dropped
      {"num_threads", "1"},
      {"minloglevel", "2"},                   // SentencePiece's progress lines would drown the program's
  };
  VectorIterator it(sentences);
  std::string bytes;
  const auto status = sentencepiece::SentencePieceTrainer::Train(options, &it, &bytes);
  if (!status.ok())
    throw std::invalid_argument("--subwords " + std::to_string(vocab_size) + ": SentencePiece cannot train on this text: " +
                                status.ToString());
  return from_bytes(std::move(bytes), "the subword model just trained");
}

Subwords Subwords::from_bytes(std::string bytes, const std::string& what) {
  auto processor = std::make_shared<sentencepiece::SentencePieceProcessor>();
  const auto status = processor->LoadFromSerializedProto(bytes);
  if (!status.ok()) throw std::runtime_error(what + ": not a SentencePiece model (" + status.ToString() + ")");
  return Subwords(std::move(bytes), std::move(processor));
}

std::size_t Subwords::size() const { return static_cast<std::size_t>(processor_->GetPieceSize()); }

Symbols Subwords::encode(const std::string& text) const {
  Symbols pieces;
  const auto status = processor_->Encode(text, &pieces);
  if (!status.ok()) throw std::runtime_error("subword model: cannot encode \"" + text + "\": " + status.ToString());
  return pieces;
}

std::string Subwords::decode(const Symbols& pieces) const {
  std::string text;
  const auto status = processor_->Decode(pieces, &text);
  if (!status.ok()) throw std::runtime_error("subword model: cannot decode pieces: " + status.ToString());
  return text;
}

}  // namespace seqgrad::nn::seq2seq
