#include "seqgrad/nn/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "safetensors_internal.hpp"
#include "seqgrad/graph/atomic_file.hpp"

namespace seqgrad::nn::safetensors {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores lengths and tensor data little-endian, as this machine does");

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::runtime_error bad(const std::string& what) { return std::runtime_error(what); }

// Text from the file in a message: quoted, and cut short (a hostile name may be megabytes long).
std::string cut(const std::string& s) {
  constexpr std::size_t kShown = 120;
  return s.size() <= kShown ? s : s.substr(0, kShown) + "...(" + std::to_string(s.size()) + " bytes)";
}
std::string q(const std::string& name) { return "'" + cut(name) + "'"; }
std::string shown(const json& v) { return cut(v.dump(-1, ' ', false, json::error_handler_t::replace)); }

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// The format's dtypes that seqgrad has no tensor type for: named in the error, not called unknown.
constexpr const char* kForeignDtypes[] = {"F16", "BF16", "F8_E4M3", "F8_E5M2", "I8", "U8", "I16", "U16", "I32", "U32", "U64"};

DType dtype_from_name(const std::string& name, const std::string& entry) {
  for (DType dt : {DType::f32, DType::f64, DType::i64, DType::b8})
    if (name == dtype_tag(dt)) return dt;
  for (const char* foreign : kForeignDtypes)
    if (name == foreign)
      throw bad("tensor " + q(entry) + " has dtype " + name +
                ", which seqgrad cannot hold (it reads F32, F64, I64 and BOOL; convert the tensor before saving)");
  throw bad("tensor " + q(entry) + " has unknown dtype " + q(name));
}

std::string offsets_str(std::size_t begin, std::size_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

// The header's JSON may not nest deeper than name -> entry -> shape array, and may not repeat a
// key in any object: checked while parsing, so a hostile header fails early and with a clear reason
// (nlohmann keeps the last of repeated keys silently).
class HeaderGuard {
 public:
  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= 3) throw bad("malformed header: JSON nested deeper than name -> entry -> shape");
        if (event == json::parse_event_t::object_start) keys_.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys_.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!keys_.back().insert(key).second)
          throw bad(depth == 1 ? "malformed header: the name " + q(key) + " appears twice"
                               : "malformed header: the field " + q(key) + " appears twice in one entry");
        break;
      }
      default:
        break;
    }
    return true;
  }

 private:
  std::vector<std::set<std::string>> keys_;
};

std::size_t unsigned_field(const json& v, const std::string& entry, const char* field) {
  if (!v.is_number_unsigned())
    throw bad("tensor " + q(entry) + ": " + field + " must hold non-negative integers, not " + shown(v));
  const auto u = v.get<std::uint64_t>();
  if (u > std::numeric_limits<std::size_t>::max()) throw bad("tensor " + q(entry) + ": " + field + " value too large");
  return static_cast<std::size_t>(u);
}

detail::Entry parse_entry(const std::string& name, const json& v) {
  if (!v.is_object()) throw bad("tensor " + q(name) + " is described by " + std::string(v.type_name()) + ", not an object");
  for (const auto& [field, _] : v.items())
    if (field != "dtype" && field != "shape" && field != "data_offsets")
      throw bad("tensor " + q(name) + " has an unknown field " + q(field) + " (expected dtype, shape, data_offsets)");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!v.contains(field)) throw bad("tensor " + q(name) + " has no '" + field + "'");
  detail::Entry e;
  e.name = name;
  const json& dtype = v["dtype"];
  if (!dtype.is_string()) throw bad("tensor " + q(name) + ": dtype must be a string, not " + shown(dtype));
  e.dtype = dtype_from_name(dtype.get<std::string>(), name);

  const json& shape = v["shape"];
  if (!shape.is_array()) throw bad("tensor " + q(name) + ": shape must be an array, not " + shown(shape));
  std::size_t count = 1;
  for (const json& d : shape) {
    const std::size_t dim = unsigned_field(d, name, "shape");
    if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / dim)
      throw bad("tensor " + q(name) + ": shape " + shown(shape) + " has more elements than memory can hold");
    count *= dim;
    e.shape.push_back(dim);
  }
  const std::size_t size = dtype_size(e.dtype);
  if (count > std::numeric_limits<std::size_t>::max() / size)
    throw bad("tensor " + q(name) + ": shape " + shown(shape) + " has more bytes than memory can hold");
  const std::size_t bytes = count * size;

  const json& offsets = v["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2)
    throw bad("tensor " + q(name) + ": data_offsets must be [begin, end], not " + shown(offsets));
  e.begin = unsigned_field(offsets[0], name, "data_offsets");
  e.end = unsigned_field(offsets[1], name, "data_offsets");
  if (e.end < e.begin)
    throw bad("tensor " + q(name) + ": data_offsets " + offsets_str(e.begin, e.end) + " end before they begin");
  if (e.end - e.begin != bytes)
    throw bad("tensor " + q(name) + " is " + dtype_tag(e.dtype) + " " + to_string(e.shape) + ", " +
              std::to_string(bytes) + " bytes, but its data_offsets " + offsets_str(e.begin, e.end) + " span " +
              std::to_string(e.end - e.begin));
  return e;
}

Metadata parse_metadata(const json& v) {
  if (!v.is_object()) throw bad("__metadata__ must be an object of strings, not " + std::string(v.type_name()));
  Metadata m;
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string())
      throw bad("__metadata__ must map strings to strings; " + q(key) + " is " + std::string(value.type_name()));
    m.emplace(key, value.get<std::string>());
  }
  return m;
}

Contents to_contents(const detail::View& view) {
  Contents c;
  for (const auto& [name, e] : view.entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    const auto src = view.data(e);
    if (!src.empty()) std::memcpy(t.raw_data(), src.data(), src.size());
    c.tensors.emplace(name, std::move(t));
  }
  c.metadata = view.metadata;
  return c;
}

}  // namespace

const char* dtype_tag(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::f64: return "F64";
    case DType::i64: return "I64";
    case DType::b8: return "BOOL";
  }
  throw std::logic_error("safetensors: unknown dtype");
}

namespace detail {

std::span<const std::byte> bytes_of(const Tensor& t) {
  return {static_cast<const std::byte*>(t.raw_data()), t.numel() * dtype_size(t.dtype())};
}

std::vector<std::byte> read_bytes(const fs::path& file) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a regular file).
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw bad(system_error("cannot open"));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw bad(system_error("cannot stat"));
  if (S_ISDIR(st.st_mode)) throw bad("is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw bad("is not a regular file");
  const auto size = static_cast<std::size_t>(st.st_size);
  std::vector<std::byte> bytes(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t r = ::read(fd, bytes.data() + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw bad(system_error("read failed"));
    if (r == 0) throw bad("truncated while reading: " + std::to_string(got) + " of " + std::to_string(size) + " bytes");
    got += static_cast<std::size_t>(r);
  }
  return bytes;
}

View parse_view(std::vector<std::byte> bytes) {
  View view;
  const std::size_t size = bytes.size();
  if (size < 8)
    throw bad("truncated: " + std::to_string(size) + " bytes, fewer than the 8 of the header length");
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxHeaderBytes)
    throw bad("header length " + std::to_string(n) + " is beyond the limit of " + std::to_string(kMaxHeaderBytes) +
              " bytes (damaged or not a safetensors file)");
  if (n > size - 8)
    throw bad("truncated: the header length is " + std::to_string(n) + " bytes, but only " + std::to_string(size - 8) +
              " bytes follow it");
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data()) + 8;
  json header;
  try {
    header = json::parse(header_begin, header_begin + n, HeaderGuard());
  } catch (const json::exception& e) {
    throw bad("malformed JSON header: " + cut(e.what()));
  }
  if (!header.is_object()) throw bad(std::string("the header is JSON ") + header.type_name() + ", not an object");

  view.data_start = 8 + static_cast<std::size_t>(n);
  const std::size_t data_bytes = size - view.data_start;
  std::vector<const Entry*> by_offset;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      view.metadata = parse_metadata(value);
      continue;
    }
    if (name.empty()) throw bad("a tensor has an empty name");
    Entry e = parse_entry(name, value);
    if (e.end > data_bytes)
      throw bad("truncated: tensor " + q(name) + " has data_offsets " + offsets_str(e.begin, e.end) +
                ", beyond the data region's " + std::to_string(data_bytes) + " bytes");
    by_offset.push_back(&view.entries.emplace(name, std::move(e)).first->second);
  }

  // The entries must tile the data region: sorted by offset, each begins where the one before ends.
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return std::tie(a->begin, a->end) < std::tie(b->begin, b->end); });
  std::size_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : by_offset) {
    if (e->begin < covered)
      throw bad("tensors " + q(previous->name) + " " + offsets_str(previous->begin, previous->end) + " and " + q(e->name) +
                " " + offsets_str(e->begin, e->end) + " overlap");
    if (e->begin > covered)
      throw bad(std::to_string(e->begin - covered) + " bytes of the data region belong to no tensor, before " +
                q(e->name) + " " + offsets_str(e->begin, e->end));
    covered = e->end;
    previous = e;
  }
  if (covered < data_bytes)
    throw bad(std::to_string(data_bytes - covered) + " unexpected bytes after the end of the last tensor's data (the " +
              "tensors need " + std::to_string(covered) + " bytes, the data region holds " +
              std::to_string(data_bytes) + ")");

  view.bytes = std::move(bytes);
  for (const auto& [name, e] : view.entries) {
    if (e.dtype != DType::b8) continue;
    for (std::byte b : view.data(e))
      if (b != std::byte{0} && b != std::byte{1})
        throw bad("tensor " + q(name) + " is BOOL but holds the byte " + std::to_string(int(b)) + " (only 0 and 1 are bool)");
  }
  return view;
}

std::vector<Entry> layout(const NamedTensors& tensors, const char* who) {
  std::vector<Entry> entries;
  entries.reserve(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const auto& [name, t] = tensors[i];
    if (name.empty()) throw std::invalid_argument(std::string(who) + ": a tensor has an empty name");
    if (name == "__metadata__")
      throw std::invalid_argument(std::string(who) + ": '__metadata__' is reserved for the metadata, not a tensor name");
    if (!t.defined()) throw std::invalid_argument(std::string(who) + ": tensor '" + name + "' is undefined");
    entries.push_back({name, t.dtype(), t.shape(), 0, t.numel() * dtype_size(t.dtype()), i});
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  std::size_t offset = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].name == entries[i - 1].name)
      throw std::invalid_argument(std::string(who) + ": the name '" + entries[i].name + "' is given twice");
    const std::size_t bytes = entries[i].end;
    entries[i].begin = offset;
    entries[i].end = offset += bytes;
  }
  return entries;
}

std::string header(const std::vector<Entry>& entries, const Metadata& metadata, const char* who) {
  json h = json::object();
  for (const Entry& e : entries)
    h[e.name] = {{"dtype", dtype_tag(e.dtype)}, {"shape", e.shape}, {"data_offsets", {e.begin, e.end}}};
  if (!metadata.empty()) h["__metadata__"] = metadata;
  std::string text;
  try {
    text = h.dump();
  } catch (const json::exception& e) {  // strings that are not UTF-8
    throw std::invalid_argument(std::string(who) + ": a tensor name or metadata string is not valid UTF-8 (" +
                                e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void write_file(const fs::path& file, const std::string& header, const std::vector<std::span<const std::byte>>& data) {
  // The length and the header go out in one buffer; tensor data straight from the tensors.
  std::string head(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(head.data(), &n, 8);
  head += header;
  AtomicFile out(file, ExistingFile::replace);
  out.write(head);
  for (const auto& piece : data) out.write(piece);
  out.commit();
}

}  // namespace detail

Contents parse(std::span<const std::byte> bytes, const std::string& what) {
  try {
    return to_contents(detail::parse_view(std::vector<std::byte>(bytes.begin(), bytes.end())));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(what + ": " + e.what());
  }
}

Contents read(const fs::path& file) {
  try {
    return to_contents(detail::parse_view(detail::read_bytes(file)));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("safetensors::read: " + file.string() + ": " + e.what());
  }
}

std::vector<std::byte> serialize(const NamedTensors& tensors, const Metadata& metadata) {
  const auto entries = detail::layout(tensors, "safetensors::serialize");
  const std::string h = detail::header(entries, metadata, "safetensors::serialize");
  std::vector<std::byte> out(8 + h.size() + (entries.empty() ? 0 : entries.back().end));
  const std::uint64_t n = h.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, h.data(), h.size());
  for (const auto& e : entries) {
    const auto src = detail::bytes_of(tensors[e.source].second);
    if (!src.empty()) std::memcpy(out.data() + 8 + h.size() + e.begin, src.data(), src.size());
  }
  return out;
}

void write(const fs::path& file, const NamedTensors& tensors, const Metadata& metadata) {
  const auto entries = detail::layout(tensors, "safetensors::write");
  const std::string h = detail::header(entries, metadata, "safetensors::write");
  std::vector<std::span<const std::byte>> data;
  for (const auto& e : entries) data.push_back(detail::bytes_of(tensors[e.source].second));
  try {
    detail::write_file(file, h, data);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error("safetensors::write: " + file.string() + ": " + e.what());
  }
}

}  // namespace seqgrad::nn::safetensors
