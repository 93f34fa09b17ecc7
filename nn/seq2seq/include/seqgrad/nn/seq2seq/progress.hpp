#pragma once
// How a Trainer tells its user where it stands. The trainer reports; a reporter decides what a
// person sees. TerminalProgress is the usual one: a live bar on a terminal, plain lines in a log.
// Tests and embedding programs pass their own (or none, for silence).
#include <cstddef>
#include <cstdint>
#include <string>

namespace seqgrad::nn::seq2seq {

struct ProgressUpdate {
  std::uint64_t epoch = 0;             // counting from 0
  std::size_t position = 0;            // batches of this epoch done
  std::size_t batches_per_epoch = 0;
  std::size_t step = 0;                // optimizer steps so far
  double loss = 0;                     // mean training loss since the last line
  double tokens_per_second = 0;        // target tokens per second of training so far
  double eta_seconds = 0;              // estimated training time left (may be infinite or NaN early on)
  bool line = false;                   // a logging point (every log_every_steps, and each epoch's end)
};

class TrainingReporter {
 public:
  virtual ~TrainingReporter() = default;
  // Called at every logging point, and after every step when wants_every_step() (a live display).
  virtual void progress(const ProgressUpdate& update) = 0;
  // A message of its own line: a validation's scores, a resumption.
  virtual void message(const std::string& text) = 0;
  virtual bool wants_every_step() const { return false; }
};

// A bar redrawn in place on a terminal (isatty(stdout)); one plain line per logging point otherwise.
class TerminalProgress : public TrainingReporter {
 public:
  TerminalProgress();
  void progress(const ProgressUpdate& update) override;
  void message(const std::string& text) override;
  bool wants_every_step() const override { return tty_; }

 private:
  bool tty_;
};

// "1m05s", "2h03m"; "?" for a negative or non-finite duration.
std::string format_duration(double seconds);

}  // namespace seqgrad::nn::seq2seq
