// The JSON-lines metrics log round-trips into (x, y) series and reports bad lines by number.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;
using seqgrad::test_support::temp_path;

TEST(MetricsLog, RoundTripIntoSeriesAndBadLinesReported) {
  const auto file = temp_path("metrics.jsonl");
  {
    MetricsLog log(file, /*append=*/false);
    log.write({{"step", 0}, {"train_loss", 4.0}});
    log.write({{"step", 10}, {"train_loss", 3.0}, {"dev_loss", 3.5}});
    log.write({{"step", 20}, {"train_loss", NAN}});  // diverged: written as null
  }
  EXPECT_EQ(metrics_json_line({{"step", 10}, {"train_loss", 2.5}}), R"({"step":10.0,"train_loss":2.5})");
  std::ofstream(file, std::ios::app) << "{\"step\": 30, \"train_loss\": \"oops\"}\nnot json\n[1, 2]\n\n"
                                     << "{\"train_loss\": 1.0}\n{\"step\": 40, \"train_loss\": 1.5}\n";
  std::vector<std::size_t> bad_lines;
  const auto series = read_metrics_series(file, "step", {"train_loss", "dev_loss"},
                                          [&](const ParseIssue& i) { bad_lines.push_back(i.line); });
  EXPECT_EQ(bad_lines, (std::vector<std::size_t>{4, 5, 6}));
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].name, "train_loss");
  EXPECT_EQ(series[0].x, (std::vector<double>{0, 10, 40}));  // null and x-less lines add nothing
  EXPECT_EQ(series[0].y, (std::vector<double>{4.0, 3.0, 1.5}));
  EXPECT_EQ(series[1].x, (std::vector<double>{10}));
  EXPECT_EQ(series[1].y, (std::vector<double>{3.5}));
  {
    MetricsLog appended(file);  // appends
    appended.write({{"step", 50}, {"train_loss", 1.0}});
  }
  EXPECT_EQ(read_metrics_series(file, "step", {"train_loss"}, {})[0].x.back(), 50.0);
  fs::remove(file);
  EXPECT_THROW(read_metrics_series(file, "step", {"x"}), std::runtime_error);
}
