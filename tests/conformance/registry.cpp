#include <stdexcept>

#include "evaluators.hpp"
#include "seqgrad/ops/elementwise.hpp"

namespace seqgrad::conformance {

const Tensor& CaseView::input(const std::string& name) const {
  auto it = case_.inputs.find(name);
  if (it == case_.inputs.end())
    throw std::invalid_argument("case '" + case_.name + "' (op " + case_.op + ") has no input '" + name + "'");
  return it->second;
}

Tensor CaseView::optional_input(const std::string& name) const {
  auto it = case_.inputs.find(name);
  return it == case_.inputs.end() ? Tensor() : it->second;
}

const nlohmann::json& CaseView::attr(const std::string& key) const {
  auto it = case_.attrs.find(key);
  if (it == case_.attrs.end())
    throw std::invalid_argument("case '" + case_.name + "' (op " + case_.op + ") has no attr '" + key + "'");
  return *it;
}

namespace {
[[noreturn]] void wrong_type(const std::string& case_name, const std::string& key, const char* wanted,
                             const nlohmann::json& value) {
  throw std::invalid_argument("case '" + case_name + "': attr '" + key + "' should be " + wanted + ", got " +
                              value.dump());
}
}  // namespace

double CaseView::number(const std::string& key) const {
  const auto& v = attr(key);
  if (!v.is_number()) wrong_type(case_.name, key, "a number", v);
  return v.get<double>();
}
double CaseView::number(const std::string& key, double fallback) const {
  return has_attr(key) ? number(key) : fallback;
}

long CaseView::integer(const std::string& key) const {
  const auto& v = attr(key);
  if (!v.is_number_integer()) wrong_type(case_.name, key, "an integer", v);
  return v.get<long>();
}
long CaseView::integer(const std::string& key, long fallback) const {
  return has_attr(key) ? integer(key) : fallback;
}

bool CaseView::flag(const std::string& key) const {
  const auto& v = attr(key);
  if (!v.is_boolean()) wrong_type(case_.name, key, "a boolean", v);
  return v.get<bool>();
}
bool CaseView::flag(const std::string& key, bool fallback) const { return has_attr(key) ? flag(key) : fallback; }

std::string CaseView::text(const std::string& key) const {
  const auto& v = attr(key);
  if (!v.is_string()) wrong_type(case_.name, key, "a string", v);
  return v.get<std::string>();
}
std::string CaseView::text(const std::string& key, const std::string& fallback) const {
  return has_attr(key) ? text(key) : fallback;
}

Tensor padding_places(const Tensor& mask) { return eq(mask, 0.0); }

void Registry::add(const std::string& op, Evaluator evaluate) {
  if (!evaluators_.emplace(op, std::move(evaluate)).second)
    throw std::logic_error("conformance: two evaluators registered for op '" + op + "'");
}

const Evaluator* Registry::find(const std::string& op) const {
  auto it = evaluators_.find(op);
  return it == evaluators_.end() ? nullptr : &it->second;
}

Registry all_evaluators() {
  Registry r;
  register_core_evaluators(r);
  register_nn_evaluators(r);
  return r;
}

}  // namespace seqgrad::conformance
