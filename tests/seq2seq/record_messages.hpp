#pragma once
// A TrainingReporter that keeps the trainer's messages (resumed, re-planned, ...) for a test to read.
#include <string>
#include <vector>

#include "seqgrad/nn/seq2seq/progress.hpp"

namespace seqgrad::nn::seq2seq::test {

class RecordMessages : public TrainingReporter {
 public:
  void progress(const ProgressUpdate&) override {}
  void message(const std::string& text) override { messages.push_back(text); }
  std::vector<std::string> messages;
};

}  // namespace seqgrad::nn::seq2seq::test
