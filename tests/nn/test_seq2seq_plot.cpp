// Pictures: attention heatmaps and line plots are written as PNG files and read back with libpng
// (size, known pixel colours, labels present), bad inputs are refused; the JSON-lines metrics log
// round-trips into plot series and reports bad lines by number.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/nn/seq2seq/plot.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
using namespace seqgrad::nn::seq2seq;
namespace fs = std::filesystem;
using seqgrad::test_support::temp_path;

namespace {

std::size_t count_colour(const Image& img, long x0, long y0, long x1, long y1, Rgb colour) {
  std::size_t n = 0;
  for (long y = std::max(0L, y0); y < std::min<long>(y1, img.height); ++y)
    for (long x = std::max(0L, x0); x < std::min<long>(x1, img.width); ++x)
      n += img.at(static_cast<std::size_t>(x), static_cast<std::size_t>(y)) == colour;
  return n;
}

constexpr Rgb kBlack{0, 0, 0}, kWhite{255, 255, 255};

}  // namespace

TEST(Image, PngRoundTripAndErrors) {
  Image img(7, 5, {10, 20, 30});
  img.set(3, 2, {255, 0, 128});
  img.set(-1, 0, kBlack);   // outside: ignored
  img.set(7, 0, kBlack);
  const auto file = temp_path("roundtrip.png");
  write_png(file, img);
  const Image back = read_png(file);
  EXPECT_EQ(back.width, 7u);
  EXPECT_EQ(back.height, 5u);
  EXPECT_EQ(back.pixels, img.pixels);
  EXPECT_EQ(back.at(3, 2), (Rgb{255, 0, 128}));
  EXPECT_EQ(back.at(0, 0), (Rgb{10, 20, 30}));
  EXPECT_THROW(back.at(7, 0), std::out_of_range);
  std::ofstream(file, std::ios::trunc) << "not a png";
  EXPECT_THROW(read_png(file), std::runtime_error);
  fs::remove(file);
  EXPECT_THROW(write_png(fs::path("/nonexistent_dir_seqgrad") / "x.png", img), std::runtime_error);
  EXPECT_THROW(write_png(file, Image()), std::invalid_argument);
}

TEST(Heatmap, CellsHaveTheColourMapColours) {
  // Weights chosen at the colour map's stops: 0, 0.5 and 1 are exact colours of viridis.
  const std::vector<double> w = {1.0, 0.0, 0.0, 0.0,  //
                                 0.0, 0.5, 0.5, 0.0,  //
                                 0.0, 0.0, 0.0, 1.0};
  const std::vector<std::string> x = {"h", "e", "y", "<eos>"}, y = {"HH", "EY", "<eos>"};
  HeatmapLayout layout;
  const auto file = temp_path("heatmap.png");
  const Image drawn = attention_heatmap(w, 3, 4, x, y, {.title = "hey"}, &layout);
  write_png(file, drawn);
  const Image img = read_png(file);
  fs::remove(file);
  ASSERT_EQ(img.width, drawn.width);
  ASSERT_EQ(img.height, drawn.height);
  EXPECT_EQ(layout.cell_px, 24);
  EXPECT_GE(static_cast<long>(img.width), layout.grid_x + 4 * 24);
  EXPECT_GE(static_cast<long>(img.height), layout.grid_y + 3 * 24);
  const auto cell = [&](std::size_t i, std::size_t j) {
    return img.at(static_cast<std::size_t>(layout.grid_x + static_cast<long>(j) * 24 + 12),
                  static_cast<std::size_t>(layout.grid_y + static_cast<long>(i) * 24 + 12));
  };
  const Rgb one{253, 231, 37}, zero{68, 1, 84}, half{38, 130, 142};  // matplotlib viridis at 1, 0, 0.5
  EXPECT_EQ(cell(0, 0), one);
  EXPECT_EQ(cell(0, 1), zero);
  EXPECT_EQ(cell(1, 1), half);
  EXPECT_EQ(cell(2, 3), one);
  EXPECT_EQ(colormap_colour(ColorMap::viridis, 0.5), half);
  // A whole cell is one colour, edge to edge.
  EXPECT_EQ(count_colour(img, layout.grid_x, layout.grid_y, layout.grid_x + 24, layout.grid_y + 24, one), 24u * 24u);
  // Output labels left of the grid, input labels under it: black text pixels in those bands.
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_GT(count_colour(img, 0, layout.grid_y + static_cast<long>(i) * 24, layout.grid_x,
                           layout.grid_y + static_cast<long>(i + 1) * 24, kBlack), 10u) << "row label " << i;
  for (std::size_t j = 0; j < 4; ++j)
    EXPECT_GT(count_colour(img, layout.grid_x + static_cast<long>(j) * 24, layout.grid_y + 3 * 24,
                           layout.grid_x + static_cast<long>(j + 1) * 24, static_cast<long>(img.height), kBlack), 10u)
        << "column label " << j;
  // The title above the grid.
  EXPECT_GT(count_colour(img, 0, 0, static_cast<long>(img.width), layout.grid_y, kBlack), 10u);
}

TEST(Heatmap, GraysAndTensorInput) {
  const Tensor t = Tensor::from({0.0, 1.0, 0.25, 0.75}, {2, 2}, DType::f32);
  HeatmapLayout layout;
  const Image img = attention_heatmap(t, {"a", "b"}, {"c", "d"}, {.cell_px = 10, .colormap = ColorMap::grays,
                                                                 .colorbar = false}, &layout);
  const auto cell = [&](long i, long j) {
    return img.at(static_cast<std::size_t>(layout.grid_x + j * 10 + 5), static_cast<std::size_t>(layout.grid_y + i * 10 + 5));
  };
  EXPECT_EQ(cell(0, 0), kWhite);
  EXPECT_EQ(cell(0, 1), kBlack);
  EXPECT_EQ(cell(1, 0), (Rgb{191, 191, 191}));  // 255 * 0.75, rounded
  EXPECT_EQ(cell(1, 1), (Rgb{64, 64, 64}));
  const auto file = temp_path("heatmap_tensor.png");
  write_attention_heatmap(file, t, {"a", "b"}, {"c", "d"});
  EXPECT_GT(fs::file_size(file), 0u);
  fs::remove(file);
}

TEST(Heatmap, BadInputsThrow) {
  const std::vector<std::string> x = {"a", "b"}, y = {"c"};
  EXPECT_THROW(attention_heatmap({0.5, 1.5}, 1, 2, x, y), std::invalid_argument);
  EXPECT_THROW(attention_heatmap({0.5, -0.1}, 1, 2, x, y), std::invalid_argument);
  EXPECT_THROW(attention_heatmap({0.5, NAN}, 1, 2, x, y), std::invalid_argument);
  EXPECT_THROW(attention_heatmap({0.5}, 1, 2, x, y), std::invalid_argument);
  EXPECT_THROW(attention_heatmap({0.5, 0.5}, 1, 2, {"a"}, y), std::invalid_argument);
  EXPECT_NO_THROW(attention_heatmap({0.5, 1.0000001}, 1, 2, x, y));  // float rounding of a softmax
  EXPECT_THROW(attention_heatmap(Tensor::zeros({2, 2, 2}), x, y), std::invalid_argument);
  EXPECT_THROW(attention_heatmap(Tensor::zeros({1, 2}, DType::i64), x, y), std::invalid_argument);
}

TEST(LinePlot, SeriesAreDrawnWhereTheLayoutSays) {
  const std::vector<Series> series = {{"train_loss", {0, 100, 200, 300}, {4.0, 2.0, 1.5, 1.2}},
                                      {"dev_loss", {0, 150, 300}, {4.2, 2.4, 2.0}}};
  PlotLayout L;
  const auto file = temp_path("plot.png");
  write_png(file, line_plot(series, {.width = 640, .height = 400, .title = "loss", .x_label = "step"}, &L));
  const Image img = read_png(file);
  fs::remove(file);
  EXPECT_EQ(img.width, 640u);
  EXPECT_EQ(img.height, 400u);
  EXPECT_EQ(img.at(0, 0), kWhite);
  EXPECT_EQ(L.x_lo, 0.0);
  EXPECT_EQ(L.x_hi, 300.0);
  EXPECT_LT(L.y_lo, 1.2);
  EXPECT_GT(L.y_hi, 4.2);
  // Midpoints of segments carry their series' colour (lines are 2 px wide: look in a 5x5 box).
  const auto near = [&](double x, double y, Rgb colour) {
    const long px = std::lround(L.px(x)), py = std::lround(L.py(y));
    return count_colour(img, px - 2, py - 2, px + 3, py + 3, colour) > 0;
  };
  EXPECT_TRUE(near(50, 3.0, series_colour(0)));
  EXPECT_TRUE(near(250, 1.35, series_colour(0)));
  EXPECT_TRUE(near(225, 2.2, series_colour(1)));
  EXPECT_FALSE(near(250, 3.5, series_colour(0)));  // nowhere near a line
  // The frame around the plot area is black.
  EXPECT_EQ(img.at(static_cast<std::size_t>(L.left - 1), static_cast<std::size_t>((L.top + L.bottom) / 2)), kBlack);
  // The legend's colour samples: 28x3 pixels of each series colour, beyond the lines' own pixels.
  for (std::size_t k = 0; k < 2; ++k)
    EXPECT_GE(count_colour(img, 0, 0, static_cast<long>(img.width), static_cast<long>(img.height), series_colour(k)),
              28u * 3u);
}

TEST(LinePlot, FixedRangesMarkersAndErrors) {
  const std::vector<Series> acc = {{"attention", {5, 10, 15}, {1.0, 0.9, 0.8}}};
  PlotLayout L;
  line_plot(acc, {.y_min = 0.0, .y_max = 1.0, .markers = true}, &L);
  EXPECT_EQ(L.y_lo, 0.0);
  EXPECT_EQ(L.y_hi, 1.0);
  EXPECT_LT(L.x_lo, 5.0);  // markers get a margin
  EXPECT_THROW(line_plot({}), std::invalid_argument);
  EXPECT_THROW(line_plot({{"a", {1, 2}, {1}}}), std::invalid_argument);
  EXPECT_THROW(line_plot({{"a", {1, 2}, {1, NAN}}}), std::invalid_argument);
  EXPECT_THROW(line_plot({{"a", {}, {}}}), std::invalid_argument);  // no data, no fixed range
  EXPECT_THROW(line_plot(acc, {.width = 60, .height = 40}), std::invalid_argument);
  EXPECT_NO_THROW(line_plot({{"one point", {3}, {7}}}));
}

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
