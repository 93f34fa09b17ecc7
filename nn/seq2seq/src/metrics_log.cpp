#include "seqgrad/nn/seq2seq/metrics_log.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "seqgrad/graph/atomic_file.hpp"

namespace seqgrad::nn::seq2seq {

std::string metrics_json_line(const MetricsRecord& record) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [name, value] : record) {
    if (std::isfinite(value))
      j[name] = value;
    else
      j[name] = nullptr;
  }
  return j.dump();
}

MetricsLog::MetricsLog(const std::filesystem::path& file, bool append)
    : file_(file), out_(file, append ? std::ios::app : std::ios::trunc) {
  if (!out_) throw std::runtime_error("MetricsLog: cannot open " + file.string());
}

void MetricsLog::write(const MetricsRecord& record) {
  out_ << metrics_json_line(record) << '\n';
  out_.flush();
  if (!out_) throw std::runtime_error("MetricsLog: cannot write " + file_.string());
}

std::size_t truncate_metrics_log(const std::filesystem::path& file, const std::string& x_field, double max_x) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("truncate_metrics_log: cannot open " + file.string());
  std::string kept, line;
  std::size_t dropped = 0;
  bool cut = false;
  while (std::getline(in, line)) {
    if (!cut) {
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      const bool ok = j.is_object() && j.contains(x_field) && j[x_field].is_number() && j[x_field].get<double>() <= max_x;
      if (ok) {
        kept += line + "\n";
        continue;
      }
      cut = true;
    }
    ++dropped;
  }
  if (in.bad()) throw std::runtime_error("truncate_metrics_log: cannot read " + file.string());
  if (dropped > 0) write_file_atomically(file, kept, ExistingFile::replace);
  return dropped;
}

std::vector<MetricSeries> read_metrics_series(const std::filesystem::path& file, const std::string& x_field,
                                              const std::vector<std::string>& y_fields, const IssueSink& on_issue) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("read_metrics_series: cannot open " + file.string());
  std::vector<MetricSeries> series;
  for (const auto& name : y_fields) series.push_back({name, {}, {}});

  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const auto report = [&](const std::string& message) {
      if (on_issue) on_issue({file.string(), number, message, line});
    };
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      report(j.is_discarded() ? "not valid JSON" : "not a JSON object");
      continue;
    }
    // A field's number, or nothing when absent or null; a value of another type is an issue.
    bool bad = false;
    const auto number_of = [&](const std::string& field) -> std::optional<double> {
      const auto it = j.find(field);
      if (it == j.end() || it->is_null()) return std::nullopt;
      if (!it->is_number()) {
        report("field \"" + field + "\" is " + it->dump() + ", not a number");
        bad = true;
        return std::nullopt;
      }
      return it->get<double>();
    };
    const auto x = number_of(x_field);
    std::vector<std::optional<double>> ys;
    for (const auto& name : y_fields) ys.push_back(number_of(name));
    if (bad || !x) continue;
    for (std::size_t k = 0; k < ys.size(); ++k)
      if (ys[k]) {
        series[k].x.push_back(*x);
        series[k].y.push_back(*ys[k]);
      }
  }
  return series;
}

}  // namespace seqgrad::nn::seq2seq
