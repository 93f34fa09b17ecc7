#include "golden_case.hpp"

#include <cstdint>
#include <fstream>
#include <functional>
#include <vector>

namespace seqgrad::conformance {
namespace {

using nlohmann::json;

[[noreturn]] void malformed(const std::string& what) { throw MalformedCase(what); }

const json& member(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) malformed(where + " has no \"" + key + "\"");
  return *it;
}

const json& object_member(const json& object, const char* key, const std::string& where) {
  const json& value = member(object, key, where);
  if (!value.is_object()) malformed(where + "." + key + " is not an object");
  return value;
}

std::string string_member(const json& object, const char* key, const std::string& where) {
  const json& value = member(object, key, where);
  if (!value.is_string()) malformed(where + "." + key + " is not a string");
  return value.get<std::string>();
}

enum class Kind { float64, integer_if_all_integers };

// {"shape": [..], "data": [..]}. A tensor whose values are all written as integers is an index,
// target or mask tensor (int64) when `kind` allows it; every other tensor is float64.
Tensor parse_tensor(const json& j, const std::string& where, Kind kind) {
  if (!j.is_object()) malformed(where + " is not a {\"shape\", \"data\"} object");
  const json& shape_json = member(j, "shape", where);
  const json& data = member(j, "data", where);
  if (!shape_json.is_array()) malformed(where + ".shape is not an array");
  if (!data.is_array()) malformed(where + ".data is not an array");

  Shape shape;
  for (const json& d : shape_json) {
    if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
      malformed(where + ".shape " + shape_json.dump() + " holds something other than sizes");
    shape.push_back(d.get<std::size_t>());
  }
  if (data.size() != numel(shape))
    malformed(where + " has " + std::to_string(data.size()) + " values for shape " + to_string(shape) +
              " (" + std::to_string(numel(shape)) + " expected)");

  bool all_integers = !data.empty();
  for (const json& v : data) {
    if (!v.is_number()) malformed(where + ".data holds a non-number: " + v.dump());
    all_integers = all_integers && v.is_number_integer();
  }
  if (kind == Kind::integer_if_all_integers && all_integers) {
    std::vector<std::int64_t> values;
    values.reserve(data.size());
    for (const json& v : data) values.push_back(v.get<std::int64_t>());
    return Tensor::from_indices(values, shape);
  }
  std::vector<double> values;
  values.reserve(data.size());
  for (const json& v : data) values.push_back(v.get<double>());
  return Tensor::from(values, shape, DType::f64);
}

NamedTensors parse_tensors(const json& object, const std::string& where,
                           const std::function<Kind(const std::string&)>& kind_of) {
  NamedTensors tensors;
  for (const auto& [name, value] : object.items())
    tensors[name] = parse_tensor(value, where + "." + name, kind_of(name)).set_name(name);
  return tensors;
}

double tolerance_member(const json& tolerance, const char* key) {
  const json& value = member(tolerance, key, "tolerance");
  if (!value.is_number() || value.get<double>() < 0.0)
    malformed(std::string("tolerance.") + key + " is not a non-negative number: " + value.dump());
  return value.get<double>();
}

void require_same_shape(const Tensor& t, const Tensor& reference, const std::string& what,
                        const std::string& reference_what) {
  if (t.shape() != reference.shape())
    malformed(what + " has shape " + to_string(t.shape()) + " but " + reference_what + " has shape " +
              to_string(reference.shape()));
}

// "second_order": {"directions": {..}, "hvp": {..}}, each naming exactly the inputs in grads, with
// their shapes: a direction or expected product left out would silently narrow the check.
SecondOrder parse_second_order(const json& j, const NamedTensors& inputs, const NamedTensors& grads) {
  if (!j.is_object()) malformed("second_order is not an object");
  if (grads.empty()) malformed("second_order is given but grads is empty (nothing to differentiate twice)");
  for (const auto& [key, value] : j.items())
    if (key != "directions" && key != "hvp")
      malformed("second_order has an unknown member \"" + key + "\" (expected \"directions\" and \"hvp\")");
  const auto float64 = [](const std::string&) { return Kind::float64; };
  SecondOrder so;
  so.directions = parse_tensors(object_member(j, "directions", "second_order"), "second_order.directions", float64);
  so.hvp = parse_tensors(object_member(j, "hvp", "second_order"), "second_order.hvp", float64);
  for (const auto* section : {&so.directions, &so.hvp}) {
    const std::string where = section == &so.directions ? "second_order.directions" : "second_order.hvp";
    for (const auto& [name, t] : *section) {
      if (!grads.count(name)) malformed(where + "." + name + " names no input in grads");
      require_same_shape(t, inputs.at(name), where + "." + name, "inputs." + name);
    }
    for (const auto& [name, g] : grads)
      if (!section->count(name)) malformed(where + " has no \"" + name + "\" (every input in grads needs one)");
  }
  return so;
}

}  // namespace

GoldenCase load_case(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) malformed("cannot open the file");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    malformed(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) malformed("the file does not hold one JSON object");

  GoldenCase c;
  c.name = string_member(j, "case", "the case");
  c.op = string_member(j, "op", "the case");
  if (j.contains("attrs")) c.attrs = object_member(j, "attrs", "the case");

  const json empty = json::object();
  const json& grads = j.contains("grads") ? object_member(j, "grads", "the case") : empty;
  const json& upstream = j.contains("upstream") ? object_member(j, "upstream", "the case") : empty;
  // An input with an expected gradient is float even when all its values happen to be integers.
  c.inputs = parse_tensors(object_member(j, "inputs", "the case"), "inputs", [&](const std::string& name) {
    return grads.contains(name) ? Kind::float64 : Kind::integer_if_all_integers;
  });
  const auto float64 = [](const std::string&) { return Kind::float64; };
  c.outputs = parse_tensors(object_member(j, "outputs", "the case"), "outputs", float64);
  c.upstream = parse_tensors(upstream, "upstream", float64);
  c.grads = parse_tensors(grads, "grads", float64);

  for (const auto& [name, g] : c.upstream) {
    auto out = c.outputs.find(name);
    if (out == c.outputs.end()) malformed("upstream." + name + " names no output");
    require_same_shape(g, out->second, "upstream." + name, "outputs." + name);
  }
  for (const auto& [name, g] : c.grads) {
    auto input = c.inputs.find(name);
    if (input == c.inputs.end()) malformed("grads." + name + " names no input");
    require_same_shape(g, input->second, "grads." + name, "inputs." + name);
  }
  if (j.contains("second_order")) c.second_order = parse_second_order(j.at("second_order"), c.inputs, c.grads);
  const json& tolerance = object_member(j, "tolerance", "the case");
  c.tolerance = {tolerance_member(tolerance, "atol"), tolerance_member(tolerance, "rtol")};
  return c;
}

}  // namespace seqgrad::conformance
