// plot_metrics: draws fields of a JSON-lines metrics file as a line plot PNG.
//
//   plot_metrics metrics.jsonl out.png --x step --y train_loss,dev_loss
//                [--title T] [--xlabel X] [--ylabel Y] [--width 800] [--height 500]
//                [--ymin V] [--ymax V] [--markers] [--overwrite]
//
// Every line of the file is one JSON object; a line with the x field and a y field adds a point to
// that y field's series. Malformed lines are reported (file:line) and skipped. An existing out.png
// is refused unless --overwrite replaces it.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "recipe.hpp"
#include "seqgrad/nn/seq2seq/metrics_log.hpp"
#include "seqgrad/pictures/plot.hpp"

namespace sq = seqgrad::nn::seq2seq;
namespace pic = seqgrad::pictures;

namespace {

const char* const kUsage =
    "plot_metrics METRICS.jsonl OUT.png --x FIELD --y FIELD[,FIELD...] [--title T] [--xlabel X] [--ylabel Y] "
    "[--width W in [16, 10000]] [--height H in [16, 10000]] [--ymin V] [--ymax V] [--markers] [--overwrite]";

// One line: the problem, then the usage.
int usage(const std::string& problem) {
  std::cerr << "plot_metrics: " << problem << " (usage: " << kUsage << ")\n";
  return 2;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    const std::size_t end = std::min(s.find(',', start), s.size());
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

double number(const std::string& flag, const std::string& text) {
  const std::optional<double> v = recipe::finite_number(text);
  if (!v) throw std::invalid_argument(flag + " needs a finite number, got '" + text + "'");
  return *v;
}

int pixels(const std::string& flag, const std::string& text) {
  const double v = number(flag, text);
  if (v != std::floor(v) || v < 16 || v > 10000) throw std::invalid_argument(flag + " must be a whole number in [16, 10000], got '" + text + "'");
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::string x_field;
  std::vector<std::string> y_fields;
  pic::LinePlotOptions options;
  bool overwrite = false;
  try {
    std::set<std::string> given;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << "usage: " << kUsage << "\n";
        return 0;
      }
      if (arg.starts_with("--") && !given.insert(arg).second) throw std::invalid_argument(arg + " is given twice");
      const auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--x") x_field = value();
      else if (arg == "--y") y_fields = split_commas(value());
      else if (arg == "--title") options.title = value();
      else if (arg == "--xlabel") options.x_label = value();
      else if (arg == "--ylabel") options.y_label = value();
      else if (arg == "--width") options.width = pixels(arg, value());
      else if (arg == "--height") options.height = pixels(arg, value());
      else if (arg == "--ymin") options.y_min = number(arg, value());
      else if (arg == "--ymax") options.y_max = number(arg, value());
      else if (arg == "--markers") options.markers = true;
      else if (arg == "--overwrite") overwrite = true;
      else if (arg.starts_with("--")) throw std::invalid_argument("unknown option " + arg);
      else positional.push_back(arg);
    }
  } catch (const std::exception& e) {
    return usage(e.what());
  }
  if (positional.size() != 2) return usage("expected the metrics file and the output PNG");
  if (x_field.empty() || y_fields.empty()) return usage("--x and --y are required");
  if (options.x_label.empty()) options.x_label = x_field;
  if (options.y_min && options.y_max && !(*options.y_min < *options.y_max)) return usage("--ymin must be below --ymax");
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto refuse = [](const std::string& what) {
      std::cerr << "plot_metrics: " << what << "\n";
      return 1;
    };
    if (!fs::is_regular_file(positional[0], ec))
      return refuse(positional[0] + ": " + (fs::exists(positional[0], ec) ? "not a regular file" : "no such file"));
    if (fs::is_directory(positional[1], ec)) return refuse(positional[1] + ": a folder, not a file");
    if (fs::exists(positional[1], ec) && !overwrite) return refuse(positional[1] + ": the file exists (give --overwrite to replace it)");
  }

  try {
    std::size_t issues = 0;
    std::vector<pic::Series> series;
    for (const sq::MetricSeries& m : sq::read_metrics_series(positional[0], x_field, y_fields, [&](const sq::ParseIssue& issue) {
           ++issues;
           sq::print_issue(issue);
         }))
      series.push_back({m.name, m.x, m.y});
    std::string missing;  // the y fields without a point
    for (const auto& s : series)
      if (s.x.empty()) missing += (missing.empty() ? "\"" : ", \"") + s.name + "\"";
    if (std::all_of(series.begin(), series.end(), [](const pic::Series& s) { return s.x.empty(); }))
      throw std::runtime_error(positional[0] + ": no line has both \"" + x_field + "\" and any of " + missing);
    if (!missing.empty()) std::cerr << "plot_metrics: no line has both \"" << x_field << "\" and " << missing << "\n";
    pic::write_line_plot(positional[1], series, options);
    std::cout << "plot_metrics: wrote " << positional[1] << " (";
    for (std::size_t k = 0; k < series.size(); ++k)
      std::cout << (k ? ", " : "") << series[k].name << ": " << series[k].x.size() << " points";
    std::cout << (issues ? ", " + std::to_string(issues) + " lines skipped" : "") << ")\n";
  } catch (const std::exception& e) {
    std::cerr << "plot_metrics: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
