#pragma once
// Training metrics as JSON lines: one JSON object per line ({"step": 100, "train_loss": 2.31,
// "dev_loss": 2.5}), fields present only when measured. The trainer appends lines;
// read_metrics_series turns chosen fields into (x, y) series (examples/plot_metrics draws them).
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "seqgrad/nn/seq2seq/readers.hpp"

namespace seqgrad::nn::seq2seq {

using MetricsRecord = std::vector<std::pair<std::string, double>>;  // field order is kept

// One field's values against the x field, in file order.
struct MetricSeries {
  std::string name{};
  std::vector<double> x{}, y{};
};

// The JSON object of one record, without a line break. A non-finite value (a diverged loss) is
// written as null, since JSON has no NaN; readers treat null as "not measured".
std::string metrics_json_line(const MetricsRecord& record);

class MetricsLog {
 public:
  // Opens `file` for appending (or truncates it when append is false); throws std::runtime_error
  // when it cannot.
  explicit MetricsLog(const std::filesystem::path& file, bool append = true);
  // Writes one line and flushes it, so a crash loses at most the line being written.
  void write(const MetricsRecord& record);

 private:
  std::filesystem::path file_;
  std::ofstream out_;
};

// Keeps the records of `file` up to the first one whose x field exceeds `max_x` (or that is not a
// JSON object with a numeric x field: a line cut by a kill) and drops that one and every later one;
// rewrites the file atomically. A resumed run cuts its log back to its checkpoint's step this way.
// Returns the number of records dropped. Throws std::runtime_error naming the file when it cannot.
std::size_t truncate_metrics_log(const std::filesystem::path& file, const std::string& x_field, double max_x);

// One MetricSeries per y field (named after it) with the (x, y) of every line holding both fields as
// numbers. A line that is not a JSON object, or a chosen field that is neither a number nor null,
// is reported to `on_issue` with its line number and skipped. Throws std::runtime_error when the
// file cannot be read.
std::vector<MetricSeries> read_metrics_series(const std::filesystem::path& file, const std::string& x_field,
                                              const std::vector<std::string>& y_fields,
                                              const IssueSink& on_issue = print_issue);

}  // namespace seqgrad::nn::seq2seq
