#include "seqgrad/nn/checkpoint.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "safetensors_internal.hpp"
#include "seqgrad/ops/linalg.hpp"

namespace seqgrad::nn {

namespace fs = std::filesystem;
namespace st = safetensors;
using st::detail::Entry;
using st::detail::View;

namespace {

constexpr const char* kVersionKey = "seqgrad.checkpoint_version";
constexpr const char* kStepCountKey = "seqgrad.step_count";
constexpr const char* kOptimizerKey = "seqgrad.optimizer";
constexpr const char* kCrcKey = "seqgrad.crc32";
constexpr const char* kOptimizerPrefix = "optimizer.";

bool reserved_key(const std::string& key) { return key == "format" || key.rfind("seqgrad.", 0) == 0; }

// "exp_avg/encoder.weight" (Optimizer::state()) -> "optimizer.exp_avg.encoder.weight".
std::string optimizer_tensor_name(const std::string& state_name) {
  std::string name = state_name;
  const auto slash = name.find('/');
  if (slash != std::string::npos) name[slash] = '.';
  return kOptimizerPrefix + name;
}

std::string quoted(const std::string& name) {
  constexpr std::size_t kShown = 120;
  return "'" + (name.size() <= kShown ? name : name.substr(0, kShown) + "...") + "'";
}

// The first NaN or infinite element of a floating-point tensor's bytes, described; nullopt when all
// are finite (and for other dtypes).
template <class T>
std::optional<std::string> first_nonfinite(const std::byte* data, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, data + i * sizeof(T), sizeof(T));
    if (!std::isfinite(v))
      return std::string(std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf")) + " at element " + std::to_string(i);
  }
  return std::nullopt;
}
std::optional<std::string> first_nonfinite(DType dtype, std::span<const std::byte> bytes) {
  if (dtype == DType::f32) return first_nonfinite<float>(bytes.data(), bytes.size() / 4);
  if (dtype == DType::f64) return first_nonfinite<double>(bytes.data(), bytes.size() / 8);
  return std::nullopt;
}

// Refuses to save a tensor that the loader would refuse.
void require_finite(const st::NamedTensors& tensors) {
  for (const auto& [name, t] : tensors)
    if (auto bad = first_nonfinite(t.dtype(), st::detail::bytes_of(t)))
      throw std::runtime_error("tensor " + quoted(name) + " holds " + *bad + "; nothing was written");
}

// ---- the checkpoint's checksum ----

class Crc {
 public:
  void bytes(const void* data, std::size_t n) {
    // crc32_z takes a size_t length; feed it in pieces all the same so any size works.
    const auto* p = static_cast<const Bytef*>(data);
    while (n > 0) {
      const std::size_t piece = std::min<std::size_t>(n, std::size_t{1} << 30);
      crc_ = crc32_z(crc_, p, piece);
      p += piece;
      n -= piece;
    }
  }
  void str(const std::string& s) {
    const std::uint64_t n = s.size();
    bytes(&n, 8);
    bytes(s.data(), s.size());
  }
  std::string hex() const {
    char out[9];
    std::snprintf(out, sizeof out, "%08lx", static_cast<unsigned long>(crc_));
    return out;
  }

 private:
  uLong crc_ = crc32_z(0, nullptr, 0);
};

// What seqgrad.crc32 covers, but the data region (which the caller adds).
Crc describe(const std::vector<const Entry*>& by_name, const st::Metadata& metadata) {
  Crc crc;
  for (const Entry* e : by_name) {
    crc.str(e->name);
    crc.str(st::dtype_tag(e->dtype));
    crc.str(to_string(e->shape));
    crc.str(std::to_string(e->begin));
    crc.str(std::to_string(e->end));
  }
  for (const auto& [key, value] : metadata) {
    if (key == kCrcKey) continue;
    crc.str(key);
    crc.str(value);
  }
  return crc;
}

// ---- matching a file against a model or optimizer ----

// Every mismatch between the file and what is loaded into, collected so one error shows them all.
struct Problems {
  std::vector<std::string> list;

  void add(std::string p) { list.push_back(std::move(p)); }
  // "missing parameters (in the model, not in the file): 'a' [2], 'b' [3]"
  void add_names(const std::string& heading, const std::vector<std::string>& names) {
    if (names.empty()) return;
    constexpr std::size_t kShown = 20;
    std::string s = heading + ": ";
    for (std::size_t i = 0; i < names.size() && i < kShown; ++i) s += (i ? ", " : "") + names[i];
    if (names.size() > kShown) s += " and " + std::to_string(names.size() - kShown) + " more";
    add(std::move(s));
  }
  std::string text() const {
    std::string s;
    for (std::size_t i = 0; i < list.size(); ++i) s += (i ? "; " : "") + list[i];
    return s;
  }
};

struct Copy {
  Tensor target;
  const Entry* source;
};

// What match() did not find in the file: described for errors ("'name' [2,3]") and by name.
struct SectionResult {
  std::vector<std::string> missing;
  std::vector<std::string> missing_names;
};

// Matches the tensors `wanted` (named in the file as file_name(name)) against the file's entries:
// each that fits becomes a copy, each that does not a problem; the file names found go to `used`.

template <class FileName>
SectionResult match(const View& view, const NamedParameters& wanted, FileName file_name, const char* what,
                    const char* owner, Problems& problems, std::vector<Copy>& copies, std::set<std::string>& used) {
  SectionResult r;
  for (const auto& [name, t] : wanted) {
    const std::string in_file = file_name(name);
    const auto it = view.entries.find(in_file);
    if (it == view.entries.end()) {
      r.missing.push_back(quoted(in_file) + " " + to_string(t.shape()));
      r.missing_names.push_back(in_file);
      continue;
    }
    used.insert(in_file);
    const Entry& e = it->second;
    if (e.shape != t.shape()) {
      problems.add(std::string(what) + " " + quoted(in_file) + " has shape " + to_string(e.shape) + " in the file, " +
                   to_string(t.shape()) + " in the " + owner);
    } else if (e.dtype != t.dtype()) {
      problems.add(std::string(what) + " " + quoted(in_file) + " is " + st::dtype_tag(e.dtype) + " in the file, " +
                   st::dtype_tag(t.dtype()) + " (" + dtype_name(t.dtype()) + ") in the " + owner);
    } else if (auto bad = first_nonfinite(e.dtype, view.data(e))) {
      problems.add(std::string(what) + " " + quoted(in_file) + " holds " + *bad + " in the file");
    } else {
      copies.push_back({t, &e});
    }
  }
  return r;
}

void copy_all(const View& view, const std::vector<Copy>& copies) {
  for (const Copy& c : copies) {
    const auto src = view.data(*c.source);
    if (!src.empty()) std::memcpy(c.target.raw_data(), src.data(), src.size());
  }
}

std::optional<std::int64_t> parse_int(const std::string& s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

View read_view(const fs::path& file, const char* who) {
  try {
    return st::detail::parse_view(st::detail::read_bytes(file));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(who) + ": " + file.string() + ": " + e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Weights

void save_weights(const fs::path& file, const Module& model, const st::Metadata& metadata) {
  const NamedParameters params = model.named_parameters();
  st::Metadata meta = metadata;
  meta.emplace("format", "pt");
  const auto entries = st::detail::layout(params, "save_weights");
  const std::string header = st::detail::header(entries, meta, "save_weights");
  std::vector<std::span<const std::byte>> data;
  for (const Entry& e : entries) data.push_back(st::detail::bytes_of(params[e.source].second));
  try {
    require_finite(params);
    st::detail::write_file(file, header, data);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("save_weights: " + file.string() + ": " + e.what());
  }
}

namespace {
// Loading overwrites weights in place: not while transposed copies of them are in use.
void refuse_inside_transpose_scope(const char* who) {
  if (WeightTransposeScope::active())
    throw std::logic_error(std::string(who) + ": called inside a WeightTransposeScope, whose transposed copies of "
                           "the weights would then be stale; end the scope (the forward pass) first");
}
}  // namespace

LoadedWeights load_weights(const fs::path& file, Module& model, LoadWeightsOptions options) {
  refuse_inside_transpose_scope("load_weights");
  const View view = read_view(file, "load_weights");
  Problems problems;
  std::vector<Copy> copies;
  std::set<std::string> used;
  SectionResult r = match(view, model.named_parameters(), [](const std::string& n) { return n; }, "parameter", "model",
                          problems, copies, used);
  LoadedWeights out;
  out.missing = std::move(r.missing_names);
  std::vector<std::string> unexpected_described;
  for (const auto& [name, e] : view.entries)
    if (!used.count(name)) {
      out.unexpected.push_back(name);
      unexpected_described.push_back(quoted(name) + " " + to_string(e.shape));
    }
  if (options.strict) {
    problems.add_names("missing parameters (in the model, not in the file)", r.missing);
    problems.add_names("unexpected tensors (in the file, not in the model)", unexpected_described);
  }
  if (!problems.list.empty())
    throw std::runtime_error("load_weights: " + file.string() + ": " + problems.text() +
                             (options.strict && (!r.missing.empty() || !unexpected_described.empty())
                                  ? " (with .strict = false the names both have are loaded)"
                                  : ""));
  copy_all(view, copies);
  out.metadata = view.metadata;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

void save_checkpoint(const fs::path& file, const Module& model, const Optimizer* optimizer,
                     const CheckpointMetadata& metadata) {
  for (const auto& [key, _] : metadata)
    if (reserved_key(key))
      throw std::invalid_argument("save_checkpoint: " + file.string() + ": the metadata key " + quoted(key) +
                                  " is reserved (\"format\" and keys beginning with \"seqgrad.\")");
  st::NamedTensors tensors = model.named_parameters();
  if (optimizer)
    for (const auto& [name, t] : optimizer->state()) tensors.emplace_back(optimizer_tensor_name(name), t);
  const auto entries = st::detail::layout(tensors, "save_checkpoint");  // the names are unique

  st::Metadata meta = metadata;
  meta["format"] = "pt";
  meta[kVersionKey] = std::to_string(kCheckpointFormatVersion);
  meta[kStepCountKey] = std::to_string(optimizer ? optimizer->step_count() : 0);
  if (optimizer) meta[kOptimizerKey] = optimizer->kind();

  std::vector<const Entry*> by_name;
  std::vector<std::span<const std::byte>> data;
  for (const Entry& e : entries) {
    by_name.push_back(&e);
    data.push_back(st::detail::bytes_of(tensors[e.source].second));
  }
  try {
    require_finite(tensors);
    Crc crc = describe(by_name, meta);
    for (const auto& d : data) crc.bytes(d.data(), d.size());  // layout order is the data region's order
    meta[kCrcKey] = crc.hex();
    st::detail::write_file(file, st::detail::header(entries, meta, "save_checkpoint"), data);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("save_checkpoint: " + file.string() + ": " + e.what());
  }
}

namespace {

// A checkpoint file read and verified (its version and checksum), with its step count; `who` prefixes
// the errors with the file's name.
struct VerifiedCheckpoint {
  View view;
  std::int64_t step_count = 0;
  std::string steps_text;
};

VerifiedCheckpoint read_verified(const fs::path& file, const char* who) {
  const auto fail = [&](const std::string& what) {
    return std::runtime_error(std::string(who) + ": " + file.string() + ": " + what);
  };
  VerifiedCheckpoint out{.view = read_view(file, who), .step_count = 0, .steps_text = {}};
  const View& view = out.view;
  const st::Metadata& meta = view.metadata;
  const auto get = [&](const char* key) -> const std::string* {
    const auto it = meta.find(key);
    return it == meta.end() ? nullptr : &it->second;
  };
  // What kind of file, which version, and intact?
  const std::string* version = get(kVersionKey);
  if (!version)
    throw fail(std::string("not a seqgrad training checkpoint: its __metadata__ has no ") + kVersionKey +
               " (a weights file is read with load_weights)");
  const auto v = parse_int(*version);
  if (!v || *v < 1) throw fail(std::string(kVersionKey) + " '" + *version + "' is not a version number");
  if (*v > kCheckpointFormatVersion)
    throw fail("checkpoint format version " + *version + " is newer than this build reads (" +
               std::to_string(kCheckpointFormatVersion) + ")");
  if (*v != kCheckpointFormatVersion)
    throw fail("checkpoint format version " + *version + " is no longer read (this build reads " +
               std::to_string(kCheckpointFormatVersion) + ")");
  const std::string* stored_crc = get(kCrcKey);
  if (!stored_crc) throw fail(std::string("its __metadata__ has no ") + kCrcKey);
  std::vector<const Entry*> by_name;
  for (const auto& [_, e] : view.entries) by_name.push_back(&e);
  Crc crc = describe(by_name, meta);
  crc.bytes(view.data().data(), view.data().size());
  if (crc.hex() != *stored_crc)
    throw fail("checksum mismatch: the file is corrupted (" + std::string(kCrcKey) + " is '" + *stored_crc +
               "', the contents give " + crc.hex() + ")");
  const std::string* steps_text = get(kStepCountKey);
  if (!steps_text) throw fail(std::string("its __metadata__ has no ") + kStepCountKey);
  const auto step_count = parse_int(*steps_text);
  if (!step_count) throw fail(std::string(kStepCountKey) + " '" + *steps_text + "' is not an integer");
  out.step_count = *step_count;
  out.steps_text = *steps_text;
  return out;
}

CheckpointMetadata callers_metadata(const st::Metadata& meta) {
  CheckpointMetadata out;
  for (const auto& [key, value] : meta)
    if (!reserved_key(key)) out.emplace(key, value);
  return out;
}

}  // namespace

CheckpointMetadata read_checkpoint_metadata(const fs::path& file) {
  return callers_metadata(read_verified(file, "read_checkpoint_metadata").view.metadata);
}

LoadedCheckpoint load_checkpoint(const fs::path& file, Module& model, Optimizer* optimizer) {
  refuse_inside_transpose_scope("load_checkpoint");
  const auto fail = [&](const std::string& what) {
    return std::runtime_error("load_checkpoint: " + file.string() + ": " + what);
  };
  const VerifiedCheckpoint checkpoint = read_verified(file, "load_checkpoint");
  const View& view = checkpoint.view;
  const st::Metadata& meta = view.metadata;
  const auto get = [&](const char* key) -> const std::string* {
    const auto it = meta.find(key);
    return it == meta.end() ? nullptr : &it->second;
  };

  // Does it fit the model and optimizer?
  Problems problems;
  std::vector<Copy> copies;
  std::set<std::string> used;
  const auto same = [](const std::string& n) { return n; };
  SectionResult model_r =
      match(view, model.named_parameters(), same, "parameter", "model", problems, copies, used);
  problems.add_names("missing parameters (in the model, not in the file)", model_r.missing);
  std::vector<std::string> unexpected_params, unexpected_state;
  bool optimizer_matched = false;  // the file holds state of the optimizer's kind
  if (optimizer) {
    const std::string* kind = get(kOptimizerKey);
    if (!kind) {
      problems.add(std::string("the file holds no optimizer state, the optimizer is ") + optimizer->kind());
    } else if (*kind != optimizer->kind()) {
      problems.add("the file holds " + *kind + " state, the optimizer is " + optimizer->kind());
    } else {
      const std::size_t first_optimizer_copy = copies.size();
      SectionResult opt_r = match(view, optimizer->state(), optimizer_tensor_name, "optimizer state", "optimizer",
                                  problems, copies, used);
      problems.add_names("missing optimizer state (in the optimizer, not in the file)", opt_r.missing);
      if (checkpoint.step_count < 0) problems.add("negative step count " + checkpoint.steps_text);
      for (std::size_t i = first_optimizer_copy; i < copies.size(); ++i) {  // the int64 "step" counts
        const Entry& e = *copies[i].source;
        if (e.dtype != DType::i64) continue;
        const auto bytes = view.data(e);
        for (std::size_t k = 0; k + 8 <= bytes.size(); k += 8) {
          std::int64_t steps = 0;
          std::memcpy(&steps, bytes.data() + k, 8);
          if (steps < 0) {
            problems.add("optimizer state " + quoted(e.name) + " holds a negative step count");
            break;
          }
        }
      }
      optimizer_matched = true;
    }
  }
  for (const auto& [name, e] : view.entries) {
    if (used.count(name)) continue;
    const bool optimizer_state = name.rfind(kOptimizerPrefix, 0) == 0;
    if (optimizer_state && !optimizer_matched) continue;  // not needed, or already refused by kind
    (optimizer_state ? unexpected_state : unexpected_params).push_back(quoted(name) + " " + to_string(e.shape));
  }
  problems.add_names("unexpected tensors (in the file, not in the model)", unexpected_params);
  problems.add_names("unexpected optimizer state (in the file, not in the optimizer)", unexpected_state);
  if (!problems.list.empty()) throw fail(problems.text());

  // Everything matched: only now is anything written.
  copy_all(view, copies);
  if (optimizer) optimizer->set_step_count(checkpoint.step_count);
  LoadedCheckpoint out;
  out.step_count = checkpoint.step_count;
  out.metadata = callers_metadata(meta);
  return out;
}

}  // namespace seqgrad::nn
