// Pictures: attention heatmaps and line plots render with the right colours where their layouts
// say, are written as PNG (read back) or SVG by the file's extension, atomically; bad inputs are
// refused with messages naming the function and the bad value or file.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "seqgrad/graph/atomic_file.hpp"
#include "seqgrad/pictures/heatmap.hpp"
#include "seqgrad/pictures/heatmap_tensor.hpp"
#include "seqgrad/pictures/image.hpp"
#include "seqgrad/pictures/plot.hpp"
#include "support/expect_error.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
using namespace seqgrad::pictures;
namespace fs = std::filesystem;
using seqgrad::test_support::expect_error;
using seqgrad::test_support::temp_path;

namespace {

constexpr Rgb kBlack{0, 0, 0}, kWhite{255, 255, 255};

// Anti-aliased edges blend colours: compare with a tolerance per channel.
bool close(Rgb a, Rgb b, int tolerance = 6) {
  return std::abs(a.r - b.r) <= tolerance && std::abs(a.g - b.g) <= tolerance && std::abs(a.b - b.b) <= tolerance;
}

template <class Match>
std::size_t count_if(const Image& img, long x0, long y0, long x1, long y1, Match match) {
  std::size_t n = 0;
  for (long y = std::max(0L, y0); y < std::min<long>(y1, static_cast<long>(img.height)); ++y)
    for (long x = std::max(0L, x0); x < std::min<long>(x1, static_cast<long>(img.width)); ++x)
      n += match(img.at(static_cast<std::size_t>(x), static_cast<std::size_t>(y)));
  return n;
}
std::size_t count_colour(const Image& img, long x0, long y0, long x1, long y1, Rgb colour, int tolerance = 0) {
  return count_if(img, x0, y0, x1, y1, [&](Rgb c) { return close(c, colour, tolerance); });
}
// Text is black, anti-aliased: its stems hold dark pixels.
std::size_t count_dark(const Image& img, long x0, long y0, long x1, long y1) {
  return count_if(img, x0, y0, x1, y1, [](Rgb c) { return c.r < 90 && c.g < 90 && c.b < 90; });
}

std::string head(const fs::path& file, std::size_t n) {
  std::ifstream in(file, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

// Files in `folder` whose names start with "." + name: the writers' temporaries.
std::size_t temporaries(const fs::path& folder, const std::string& name) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(folder)) n += entry.path().filename().string().rfind("." + name, 0) == 0;
  return n;
}

const std::vector<double> kWeights = {1.0, 0.0, 0.0, 0.0,  //
                                      0.0, 0.5, 0.5, 0.0,  //
                                      0.0, 0.0, 0.0, 1.0};
const std::vector<std::string> kIn = {"h", "e", "y", "<eos>"}, kOut = {"HH", "EY", "<eos>"};
const Rgb kOne{253, 231, 37}, kZero{68, 1, 84}, kHalf{38, 130, 142};  // matplotlib viridis at 1, 0, 0.5

}  // namespace

TEST(Image, PngRoundTripAndErrors) {
  Image img(7, 5, {10, 20, 30});
  img.set(3, 2, {255, 0, 128});
  img.set(-1, 0, kBlack);  // outside: ignored
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
  expect_error<std::runtime_error>([&] { read_png(file); }, {"read_png", file.string(), "not a PNG"});
  fs::remove(file);
  expect_error<std::runtime_error>([&] { read_png(file); }, {"read_png", file.string()});
  const fs::path nowhere = fs::path("/nonexistent_dir_seqgrad") / "x.png";
  expect_error<std::runtime_error>([&] { write_png(nowhere, img); }, {"write_png: cannot write", nowhere.string()});
  expect_error([&] { write_png(file, Image()); }, {"write_png", "0x0", file.string()});
}

TEST(Image, WritesAreAtomic) {
  const auto folder = temp_path("atomic");
  fs::create_directories(folder);
  // Replacing a file: the new content, and no temporary left.
  const auto file = folder / "picture.png";
  std::ofstream(file) << "old";
  write_png(file, Image(3, 2, {1, 2, 3}));
  EXPECT_EQ(read_png(file).at(2, 1), (Rgb{1, 2, 3}));
  EXPECT_EQ(temporaries(folder, "picture.png"), 0u);
  // A rename that fails (the target is a folder): an error naming the file, and no temporary.
  const auto blocked = folder / "blocked.png";
  fs::create_directories(blocked);
  expect_error<std::runtime_error>([&] { write_png(blocked, Image(3, 2)); }, {"write_png: cannot write", blocked.string()});
  fs::create_directories(folder / "blocked.svg");
  expect_error<std::runtime_error>([&] { write_line_plot(folder / "blocked.svg", {{"a", {0, 1}, {0, 1}}}); },
                                   {"write_line_plot: cannot write", "blocked.svg"});
  EXPECT_EQ(temporaries(folder, "blocked"), 0u);
  fs::remove_all(folder);
}

// A kill in the middle of writing a picture leaves its temporary; it must have the one pattern a
// run folder sweeps at its next start (remove_atomic_temporaries). The kill: a file-size limit
// with SIGXFSZ's default action ends a child process inside the write.
TEST(Image, AKilledWriteLeavesATemporaryThatTheSweepRemoves) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child forks from here: `folder` is the same path
  const auto folder = temp_path("killed");
  fs::remove_all(folder);
  fs::create_directories(folder / "heatmaps");
  const auto killed_while = [](const std::function<void()>& write) {
    const rlimit no_core{0, 0}, small{256, RLIM_INFINITY};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::signal(SIGXFSZ, SIG_DFL);
    ::setrlimit(RLIMIT_FSIZE, &small);
    write();
  };
  Image noise(64, 64);
  for (std::size_t i = 0; i < noise.pixels.size(); ++i) noise.pixels[i] = static_cast<std::uint8_t>(i * 2654435761u >> 24);
  EXPECT_EXIT(killed_while([&] { write_png(folder / "loss.png", noise); }), ::testing::KilledBySignal(SIGXFSZ), "");
  EXPECT_EXIT(killed_while([&] { write_attention_heatmap(folder / "heatmaps" / "hey.png", kWeights, 3, 4, kIn, kOut); }),
              ::testing::KilledBySignal(SIGXFSZ), "");
  EXPECT_EXIT(killed_while([&] { write_line_plot(folder / "loss.svg", {{"a", {0, 1}, {0, 1}}}); }),
              ::testing::KilledBySignal(SIGXFSZ), "");
  for (const auto& [where, name] : {std::pair{folder, "loss.png"}, {folder / "heatmaps", "hey.png"}, {folder, "loss.svg"}}) {
    EXPECT_EQ(temporaries(where, name), 1u) << name;
    EXPECT_FALSE(fs::exists(where / name)) << name;
  }
  EXPECT_EQ(remove_atomic_temporaries(folder).size(), 2u);
  EXPECT_EQ(remove_atomic_temporaries(folder / "heatmaps").size(), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator()), 1);  // heatmaps/ alone
  EXPECT_TRUE(fs::is_empty(folder / "heatmaps"));
  fs::remove_all(folder);
}

TEST(Heatmap, CellsHaveTheColourMapColours) {
  HeatmapLayout layout;
  const auto file = temp_path("heatmap.png");
  write_attention_heatmap(file, kWeights, 3, 4, kIn, kOut, {.title = "hey"});
  const Image img = read_png(file);
  fs::remove(file);
  const Image drawn = attention_heatmap(kWeights, 3, 4, kIn, kOut, {.title = "hey"}, &layout);
  EXPECT_EQ(img.pixels, drawn.pixels);  // the file holds the image exactly
  EXPECT_EQ(layout.cell_px, 24);
  ASSERT_GE(static_cast<long>(img.width), layout.grid_x + 4 * 24);
  ASSERT_GE(static_cast<long>(img.height), layout.grid_y + 3 * 24);
  const auto cell = [&](std::size_t i, std::size_t j) {  // the centre: edges may blend
    return img.at(static_cast<std::size_t>(layout.grid_x + static_cast<long>(j) * 24 + 12),
                  static_cast<std::size_t>(layout.grid_y + static_cast<long>(i) * 24 + 12));
  };
  EXPECT_EQ(cell(0, 0), kOne);
  EXPECT_EQ(cell(0, 1), kZero);
  EXPECT_EQ(cell(1, 1), kHalf);
  EXPECT_EQ(cell(2, 3), kOne);
  EXPECT_EQ(colormap_colour(ColorMap::viridis, 0.5), kHalf);
  // Cells lie on whole pixels: a cell is one colour edge to edge.
  EXPECT_EQ(count_colour(img, layout.grid_x, layout.grid_y, layout.grid_x + 24, layout.grid_y + 24, kOne), 24u * 24u);
  // Output labels left of the grid, input labels under it: dark text pixels in those bands.
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_GT(count_dark(img, 0, layout.grid_y + static_cast<long>(i) * 24, layout.grid_x,
                         layout.grid_y + static_cast<long>(i + 1) * 24), 5u) << "row label " << i;
  for (std::size_t j = 0; j < 4; ++j)
    EXPECT_GT(count_dark(img, layout.grid_x + static_cast<long>(j) * 24, layout.grid_y + 3 * 24,
                         layout.grid_x + static_cast<long>(j + 1) * 24, static_cast<long>(img.height)), 5u)
        << "column label " << j;
  // "<eos>" is wider than a cell, so it stands vertically: its dark pixels span more rows than a line of text.
  long first = -1, last = -1;
  for (long y = layout.grid_y + 3 * 24; y < static_cast<long>(img.height); ++y)
    if (count_dark(img, layout.grid_x + 3 * 24, y, layout.grid_x + 4 * 24, y + 1) > 0) (first < 0 ? first : last) = y;
  EXPECT_GT(last - first, 30);
  // The title above the grid.
  EXPECT_GT(count_dark(img, 0, 0, static_cast<long>(img.width), layout.grid_y), 5u);
  // The colour bar right of the grid runs from the colour of 1 (top) to that of 0 (bottom).
  const long bar_left = layout.grid_x + 4 * 24;
  EXPECT_GT(count_colour(img, bar_left, layout.grid_y, static_cast<long>(img.width), layout.grid_y + 3, kOne, 8), 10u);
  EXPECT_GT(count_colour(img, bar_left, layout.grid_y + 3 * 24 - 3, static_cast<long>(img.width), layout.grid_y + 3 * 24,
                         kZero, 8), 10u);
}

TEST(Heatmap, GraysTensorInputAndOddLabels) {
  const Tensor t = Tensor::from({0.0, 1.0, 0.25, 0.75}, {2, 2}, DType::f32);
  HeatmapLayout layout;
  const Image img = attention_heatmap(t, {"a", "b"}, {"c", "d"},
                                      {.cell_px = 10, .colormap = ColorMap::grays, .colorbar = false}, &layout);
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
  // Labels in UTF-8 render; invalid bytes (which cairo would refuse) show as '?'.
  EXPECT_NO_THROW(attention_heatmap(t, {"é", "\xff\xfe"}, {"ß", std::string("a\0b", 3)}));
}

TEST(Heatmap, BadInputsThrow) {
  const std::vector<std::string> x = {"a", "b"}, y = {"c"};
  expect_error([&] { attention_heatmap({0.5, 1.5}, 1, 2, x, y); }, {"attention_heatmap", "1.5", "(0, 1)", "[0, 1]"});
  expect_error([&] { attention_heatmap({0.5, -0.1}, 1, 2, x, y); }, {"attention_heatmap", "(0, 1)"});
  EXPECT_THROW(attention_heatmap({0.5, NAN}, 1, 2, x, y), std::invalid_argument);
  expect_error([&] { attention_heatmap({0.5}, 1, 2, x, y); }, {"attention_heatmap", "1 weights", "[1, 2]"});
  expect_error([&] { attention_heatmap({0.5, 0.5}, 1, 2, {"a"}, y); }, {"attention_heatmap", "1 input"});
  expect_error([&] { attention_heatmap({0.5, 0.5}, 1, 2, x, y, {.cell_px = 0}); }, {"cell_px"});
  expect_error([&] { attention_heatmap({0.5, 0.5}, 1, 2, x, y, {.font_size = 0}); }, {"font_size"});
  EXPECT_NO_THROW(attention_heatmap({0.5, 1.0000001}, 1, 2, x, y));  // float rounding of a softmax
  expect_error([&] { attention_heatmap(Tensor::zeros({2, 2, 2}), x, y); }, {"attention_heatmap", "2-D", "[2,2,2]"});
  expect_error([&] { attention_heatmap(Tensor::zeros({1, 2}, DType::i64), x, y); }, {"attention_heatmap", "int64"});
  const auto file = temp_path("heatmap.jpg");
  expect_error([&] { write_attention_heatmap(file, {0.5, 0.5}, 1, 2, x, y); },
               {"write_attention_heatmap", file.string(), ".png or .svg"});
  EXPECT_FALSE(fs::exists(file));
  // Too large a picture (a 2,000-token input): refused naming its cells, its size and the limit,
  // before anything is drawn or written; the largest that fits is drawn.
  const std::size_t fits = 1300, too_many = 2000;
  std::vector<std::string> long_x(too_many, "a");
  const auto png = temp_path("huge.png"), svg = temp_path("huge.svg");
  for (const auto& f : {png, svg})
    expect_error([&] { write_attention_heatmap(f, std::vector<double>(too_many, 0.5), 1, too_many, long_x, y); },
                 {"write_attention_heatmap", "a heatmap of 1x2000 cells of 24 pixels", "x", "more than the 32767 pixels a side"});
  EXPECT_FALSE(fs::exists(png));
  EXPECT_FALSE(fs::exists(svg));
  EXPECT_EQ(temporaries(png.parent_path(), "huge."), 0u);
  long_x.resize(fits);
  EXPECT_LE(attention_heatmap(std::vector<double>(fits, 0.5), 1, fits, long_x, y).width, std::size_t(kMaxPictureSide));
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
  // Midpoints of segments carry their series' colour (lines are 2 px wide, anti-aliased: look
  // in a 5x5 box for a pixel close to it).
  const auto near = [&](double x, double y, Rgb colour) {
    const long px = std::lround(L.px(x)), py = std::lround(L.py(y));
    return count_colour(img, px - 2, py - 2, px + 3, py + 3, colour, 30) > 0;
  };
  EXPECT_TRUE(near(50, 3.0, series_colour(0)));
  EXPECT_TRUE(near(250, 1.35, series_colour(0)));
  EXPECT_TRUE(near(225, 2.2, series_colour(1)));
  EXPECT_FALSE(near(250, 3.5, series_colour(0)));  // nowhere near a line
  // The frame around the plot area is black and crisp.
  EXPECT_EQ(img.at(static_cast<std::size_t>(L.left - 1), static_cast<std::size_t>((L.top + L.bottom) / 2)), kBlack);
  EXPECT_EQ(img.at(static_cast<std::size_t>(L.right + 1), static_cast<std::size_t>((L.top + L.bottom) / 2)), kBlack);
  // The legend's colour samples: 28x3 pixels of each series colour, beyond the lines' own pixels.
  for (std::size_t k = 0; k < 2; ++k)
    EXPECT_GE(count_colour(img, 0, 0, static_cast<long>(img.width), static_cast<long>(img.height), series_colour(k)),
              28u * 3u);
  // Tick labels left of the frame, the x label and title: dark text pixels.
  EXPECT_GT(count_dark(img, 0, L.top, L.left - 8, L.bottom), 20u);
  EXPECT_GT(count_dark(img, L.left, L.bottom + 2, L.right, static_cast<long>(img.height)), 20u);
  EXPECT_GT(count_dark(img, 0, 0, static_cast<long>(img.width), L.top - 6), 5u);
}

TEST(LinePlot, FixedRangesMarkersAndErrors) {
  const std::vector<Series> acc = {{"attention", {5, 10, 15}, {1.0, 0.9, 0.8}}};
  PlotLayout L;
  const Image img = line_plot(acc, {.y_min = 0.0, .y_max = 1.0, .markers = true}, &L);
  EXPECT_EQ(L.y_lo, 0.0);
  EXPECT_EQ(L.y_hi, 1.0);
  EXPECT_LT(L.x_lo, 5.0);  // markers get a margin
  // A 7x7 marker square on a point: its middle is the series colour.
  EXPECT_EQ(img.at(static_cast<std::size_t>(std::lround(L.px(10))), static_cast<std::size_t>(std::lround(L.py(0.9)))),
            series_colour(0));
  expect_error([] { line_plot({}); }, {"line_plot", "no series"});
  expect_error([] { line_plot({{"a", {1, 2}, {1}}}); }, {"line_plot", "'a'", "2 x values", "1 y values"});
  expect_error([] { line_plot({{"a", {1, 2}, {1, NAN}}}); }, {"line_plot", "'a'", "point 1"});
  expect_error([] { line_plot({{"a", {}, {}}}); }, {"line_plot", "no data points"});
  expect_error([&] { line_plot(acc, {.width = 60, .height = 40}); }, {"line_plot", "60x40"});
  expect_error([&] { line_plot(acc, {.width = 40000, .height = 500}); }, {"line_plot", "40000x500", "32767 pixels a side"});
  expect_error([&] { line_plot(acc, {.font_size = -1}); }, {"line_plot", "font_size"});
  // Spans beyond double precision: the data's, and the fixed bounds'.
  expect_error([] { line_plot({{"a", {-1e308, 1e308}, {1, 2}}}); },
               {"line_plot", "the x values span [-1e+308, 1e+308]", "more than a double can hold"});
  expect_error([&] { line_plot(acc, {.y_min = -1e308, .y_max = 1e308}); },
               {"line_plot", "the y range [-1e+308, 1e+308] spans more than a double can hold"});
  EXPECT_NO_THROW(line_plot({{"one point", {3}, {7}}}));
}

TEST(LinePlot, FormatFollowsTheExtension) {
  const std::vector<Series> series = {{"loss", {0, 1, 2}, {3, 2, 1.5}}};
  const auto svg = temp_path("plot.svg"), png = temp_path("plot.PNG"), other = temp_path("plot.jpg");
  write_line_plot(svg, series, {.width = 320, .height = 200, .title = "loss"});
  const std::string start = head(svg, 64);
  EXPECT_TRUE(start.rfind("<?xml", 0) == 0 || start.rfind("<svg", 0) == 0) << start;
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("width=\"320"), std::string::npos);  // in pixels, as the PNG
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  write_line_plot(png, series, {.width = 320, .height = 200});
  const Image img = read_png(png);
  EXPECT_EQ(img.width, 320u);
  EXPECT_EQ(img.height, 200u);
  expect_error([&] { write_line_plot(other, series); }, {"write_line_plot", other.string(), ".jpg"});
  EXPECT_FALSE(fs::exists(other));
  const auto heatmap_svg = temp_path("heatmap.svg");
  write_attention_heatmap(heatmap_svg, kWeights, 3, 4, kIn, kOut);
  EXPECT_EQ(head(heatmap_svg, 5) == "<?xml" || head(heatmap_svg, 4) == "<svg", true);
  for (const auto& f : {svg, png, heatmap_svg}) fs::remove(f);
}
