#include "seqgrad/nn/seq2seq/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace seqgrad::nn::seq2seq {

namespace {

std::string bar(double fraction, int width) {
  const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * width);
  std::string out(static_cast<std::size_t>(width) + 2, ' ');
  out.front() = '[';
  out.back() = ']';
  for (int i = 0; i < filled; ++i) out[static_cast<std::size_t>(i) + 1] = '=';
  if (filled < width) out[static_cast<std::size_t>(filled) + 1] = '>';
  return out;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

TerminalProgress::TerminalProgress() : tty_(isatty(STDOUT_FILENO) != 0) {}

void TerminalProgress::progress(const ProgressUpdate& u) {
  if (!tty_ && !u.line) return;
  char text[220];
  std::snprintf(text, sizeof text, "epoch %llu step %zu/%zu %s loss %.4f  %.0f tgt tok/s  ETA %s",
                static_cast<unsigned long long>(u.epoch + 1), u.position, u.batches_per_epoch,
                bar(double(u.position) / double(std::max<std::size_t>(u.batches_per_epoch, 1)), 20).c_str(), u.loss,
                u.tokens_per_second, format_duration(u.eta_seconds).c_str());
  if (tty_) {
    std::printf("\r%-110s", text);
    if (u.line) std::printf("\n");
  } else {
    std::printf("%s\n", text);
  }
  std::fflush(stdout);
}

void TerminalProgress::message(const std::string& text) {
  if (tty_) std::printf("\r%-110s\r", "");
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

}  // namespace seqgrad::nn::seq2seq
