#include "seqgrad/nn/checkpoint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seqgrad::nn {

static_assert(std::endian::native == std::endian::little,
              "the checkpoint format stores integers and tensor data little-endian, as this machine does");

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'S', 'G', 'R', 'D', 'C', 'K', 'P', 'T'};
constexpr std::uint8_t kModelSection = 1, kOptimizerSection = 2;
// magic, version, length: what must be read before anything else can be checked.
constexpr std::size_t kHeaderBytes = sizeof(kMagic) + 4 + 8;
constexpr std::size_t kCrcBytes = 4;

std::uint8_t dtype_code(DType dt) {
  switch (dt) {
    case DType::f32: return 0;
    case DType::f64: return 1;
    case DType::i64: return 2;
    case DType::b8: return 3;
  }
  throw std::logic_error("checkpoint: unknown dtype");
}

bool dtype_from_code(std::uint8_t code, DType& dt) {
  static constexpr DType by_code[] = {DType::f32, DType::f64, DType::i64, DType::b8};
  if (code >= std::size(by_code)) return false;
  dt = by_code[code];
  return true;
}

std::uint32_t crc32_of(std::uint32_t crc, const void* data, std::size_t bytes) {
  return static_cast<std::uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), bytes));
}

std::string system_error(const std::string& what) { return what + ": " + std::strerror(errno); }

// ---------------------------------------------------------------------------------------------
// Writing

// Buffered writes to a file descriptor, keeping the CRC of everything written.
class Writer {
 public:
  explicit Writer(int fd) : fd_(fd) { buffer_.reserve(kBufferBytes); }

  void bytes(const void* data, std::size_t n) {
    crc_ = crc32_of(crc_, data, n);
    if (buffer_.size() + n > kBufferBytes) flush();
    if (n >= kBufferBytes) {  // large tensor data goes straight to the file
      write_all(data, n);
    } else {
      const auto* p = static_cast<const char*>(data);
      buffer_.insert(buffer_.end(), p, p + n);
    }
  }
  template <class T>
  void value(T v) {
    bytes(&v, sizeof v);
  }
  void str(const std::string& s) {
    value(static_cast<std::uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  std::uint32_t crc() const { return crc_; }
  void flush() {
    write_all(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kBufferBytes = 1 << 20;

  void write_all(const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw std::runtime_error(system_error("write failed"));
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  int fd_;
  std::vector<char> buffer_;
  std::uint32_t crc_ = 0;
};

struct Entry {
  std::uint8_t section;
  const std::string& name;
  const Tensor& tensor;
};

std::size_t str_bytes(const std::string& s) { return 4 + s.size(); }

std::size_t record_bytes(const Entry& e) {
  return 1 + str_bytes(e.name) + 1 + 4 + 8 * e.tensor.dim() + e.tensor.numel() * dtype_size(e.tensor.dtype());
}

void write_checkpoint(Writer& w, std::int64_t step_count, const std::string& optimizer_kind,
                      const CheckpointMetadata& metadata, const std::vector<Entry>& entries) {
  std::size_t length = kHeaderBytes + 8 + str_bytes(optimizer_kind) + 4 + 8 + kCrcBytes;
  for (const auto& [k, v] : metadata) length += str_bytes(k) + str_bytes(v);
  for (const Entry& e : entries) length += record_bytes(e);

  w.bytes(kMagic, sizeof kMagic);
  w.value<std::uint32_t>(kCheckpointFormatVersion);
  w.value<std::uint64_t>(length);
  w.value<std::int64_t>(step_count);
  w.str(optimizer_kind);
  w.value<std::uint32_t>(static_cast<std::uint32_t>(metadata.size()));
  for (const auto& [k, v] : metadata) {
    w.str(k);
    w.str(v);
  }
  w.value<std::uint64_t>(entries.size());
  for (const Entry& e : entries) {
    w.value<std::uint8_t>(e.section);
    w.str(e.name);
    w.value<std::uint8_t>(dtype_code(e.tensor.dtype()));
    w.value<std::uint32_t>(static_cast<std::uint32_t>(e.tensor.dim()));
    for (std::size_t d : e.tensor.shape()) w.value<std::uint64_t>(d);
    w.bytes(e.tensor.raw_data(), e.tensor.numel() * dtype_size(e.tensor.dtype()));
  }
  const std::uint32_t crc = w.crc();
  w.value<std::uint32_t>(crc);
  w.flush();
}

// A temporary file beside the target that is removed unless committed (renamed over the target).
class TempFile {
 public:
  explicit TempFile(const fs::path& target) {
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    std::string name = target.filename().string();
    name.insert(name.begin(), '.');  // hidden; (not "." + name: g++ 12 warns falsely about that)
    name += ".tmp-XXXXXX";
    path_ = (dir / name).string();
    fd_ = ::mkstemp(path_.data());
    if (fd_ < 0) throw std::runtime_error(system_error("cannot create a temporary file in " + dir.string()));
    ::fchmod(fd_, 0644);  // mkstemp makes it 0600; a checkpoint is an ordinary file
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }

  // fsync, close, rename over target, fsync the directory so the rename itself is durable.
  void commit(const fs::path& target) {
    if (::fsync(fd_) != 0) throw std::runtime_error(system_error("fsync failed"));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw std::runtime_error(system_error("close failed"));
    if (::rename(path_.c_str(), target.c_str()) != 0)
      throw std::runtime_error(system_error("cannot rename " + path_ + " over it"));
    committed_ = true;
    const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);  // best effort: the new file is in place whether or not this succeeds
      ::close(dir_fd);
    }
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Reading

struct Record {
  std::uint8_t section = 0;
  std::string name;
  DType dtype = DType::f32;
  Shape shape;
  const char* data = nullptr;
  std::size_t bytes = 0;
};

struct Parsed {
  std::int64_t step_count = 0;
  std::string optimizer_kind;
  CheckpointMetadata metadata;
  std::vector<Record> records;
};

// Bounds-checked reads over the file's bytes; running past the end means the file is malformed.
class Reader {
 public:
  Reader(const std::vector<char>& data, std::size_t end) : data_(data), end_(end) {}

  const char* take(std::size_t n, const char* what) {
    if (n > end_ - pos_)
      throw std::runtime_error(std::string("malformed: ") + what + " runs past the end of the data at byte " +
                               std::to_string(pos_));
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <class T>
  T value(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  std::string str(const char* what) {
    const auto n = value<std::uint32_t>(what);
    return std::string(take(n, what), n);
  }
  std::size_t pos() const { return pos_; }

 private:
  const std::vector<char>& data_;
  std::size_t end_;
  std::size_t pos_ = 0;
};

std::vector<char> read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(system_error("cannot open"));
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) throw std::runtime_error("cannot determine its size");
  in.seekg(0);
  std::vector<char> data(static_cast<std::size_t>(size));
  if (!in.read(data.data(), size)) throw std::runtime_error(system_error("read failed"));
  return data;
}

// Checks magic, version, length and CRC, then parses every record (without touching any tensor).
Parsed parse(const std::vector<char>& data) {
  if (data.size() < kHeaderBytes + kCrcBytes)
    throw std::runtime_error("truncated: " + std::to_string(data.size()) + " bytes, fewer than the header");
  Reader header(data, kHeaderBytes);
  if (std::memcmp(header.take(sizeof kMagic, "magic"), kMagic, sizeof kMagic) != 0)
    throw std::runtime_error("not a seqgrad checkpoint (bad magic)");
  const auto version = header.value<std::uint32_t>("version");
  if (version > kCheckpointFormatVersion)
    throw std::runtime_error("format version " + std::to_string(version) + " is newer than this build reads (" +
                             std::to_string(kCheckpointFormatVersion) + ")");
  if (version == 0) throw std::runtime_error("format version 0 does not exist");
  const auto length = header.value<std::uint64_t>("length");
  if (data.size() < length)
    throw std::runtime_error("truncated: " + std::to_string(data.size()) + " bytes, the header says " +
                             std::to_string(length));
  if (data.size() > length)
    throw std::runtime_error(std::to_string(data.size() - length) + " unexpected bytes after the end (" +
                             std::to_string(length) + " bytes)");
  const std::size_t body = data.size() - kCrcBytes;
  std::uint32_t stored_crc;
  std::memcpy(&stored_crc, data.data() + body, kCrcBytes);
  if (crc32_of(0, data.data(), body) != stored_crc) throw std::runtime_error("checksum mismatch: the file is corrupted");

  Reader r(data, body);
  r.take(kHeaderBytes, "header");
  Parsed p;
  p.step_count = r.value<std::int64_t>("step count");
  p.optimizer_kind = r.str("optimizer kind");
  const auto n_meta = r.value<std::uint32_t>("metadata count");
  for (std::uint32_t i = 0; i < n_meta; ++i) {
    std::string key = r.str("metadata key");
    p.metadata[key] = r.str("metadata value");
  }
  const auto n_records = r.value<std::uint64_t>("record count");
  for (std::uint64_t i = 0; i < n_records; ++i) {
    Record rec;
    rec.section = r.value<std::uint8_t>("record section");
    rec.name = r.str("record name");
    if (rec.section != kModelSection && rec.section != kOptimizerSection)
      throw std::runtime_error("malformed: record '" + rec.name + "' has unknown section " +
                               std::to_string(rec.section));
    if (!dtype_from_code(r.value<std::uint8_t>("dtype"), rec.dtype))
      throw std::runtime_error("malformed: record '" + rec.name + "' has an unknown dtype");
    const auto rank = r.value<std::uint32_t>("rank");
    std::size_t count = 1;
    for (std::uint32_t d = 0; d < rank; ++d) {
      const auto dim = r.value<std::uint64_t>("shape");
      if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / dim)
        throw std::runtime_error("malformed: record '" + rec.name + "' has an impossible shape");
      count *= dim;
      rec.shape.push_back(dim);
    }
    if (count > std::numeric_limits<std::size_t>::max() / 8)
      throw std::runtime_error("malformed: record '" + rec.name + "' has an impossible shape");
    rec.bytes = count * dtype_size(rec.dtype);
    rec.data = r.take(rec.bytes, "tensor data");
    p.records.push_back(std::move(rec));
  }
  if (r.pos() != body)
    throw std::runtime_error("malformed: " + std::to_string(body - r.pos()) + " bytes after the last record");
  return p;
}

// What the file holds for one section, matched against what the model (or optimizer) has. Problems
// are collected, not thrown one by one, so one error message shows every mismatch.
struct Match {
  std::vector<std::pair<Tensor, const Record*>> pairs;
};

void match_section(const Parsed& p, std::uint8_t section, const NamedParameters& wanted, const char* what,
                   const char* owner, std::vector<std::string>& problems, Match& match) {
  std::unordered_map<std::string_view, const Record*> in_file;
  for (const Record& rec : p.records) {
    if (rec.section != section) continue;
    if (!in_file.emplace(rec.name, &rec).second)
      problems.push_back(std::string(what) + " '" + rec.name + "' appears twice");
  }
  std::unordered_map<std::string_view, bool> known;
  for (const auto& [name, t] : wanted) {
    known[name] = true;
    auto it = in_file.find(name);
    if (it == in_file.end()) {
      problems.push_back(std::string("missing ") + what + " '" + name + "' " + to_string(t.shape()));
      continue;
    }
    const Record& rec = *it->second;
    if (rec.shape != t.shape()) {
      problems.push_back(std::string(what) + " '" + name + "' has shape " + to_string(rec.shape) + " in the file, " +
                         to_string(t.shape()) + " in the " + owner);
    } else if (rec.dtype != t.dtype()) {
      problems.push_back(std::string(what) + " '" + name + "' is " + dtype_name(rec.dtype) + " in the file, " +
                         dtype_name(t.dtype()) + " in the " + owner);
    } else {
      match.pairs.emplace_back(t, &rec);
    }
  }
  for (const Record& rec : p.records)
    if (rec.section == section && !known.count(rec.name))
      problems.push_back(std::string("the file has ") + what + " '" + rec.name + "' " + to_string(rec.shape) +
                         " that the " + owner + " does not have");
}

std::string joined(const std::vector<std::string>& problems) {
  constexpr std::size_t kShown = 12;
  std::string s;
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) s += (i ? "; " : "") + problems[i];
  if (problems.size() > kShown) s += "; and " + std::to_string(problems.size() - kShown) + " more";
  return s;
}

}  // namespace

void save_checkpoint(const fs::path& file, const Module& model, const Optimizer* optimizer,
                     const CheckpointMetadata& metadata) {
  const NamedParameters params = model.named_parameters();
  const NamedParameters state = optimizer ? optimizer->state() : NamedParameters{};
  std::vector<Entry> entries;
  entries.reserve(params.size() + state.size());
  for (const auto& [name, t] : params) entries.push_back({kModelSection, name, t});
  for (const auto& [name, t] : state) entries.push_back({kOptimizerSection, name, t});
  try {
    TempFile tmp(file);
    Writer w(tmp.fd());
    write_checkpoint(w, optimizer ? optimizer->step_count() : 0, optimizer ? optimizer->kind() : "", metadata,
                     entries);
    tmp.commit(file);
  } catch (const std::exception& e) {
    throw std::runtime_error("save_checkpoint: " + file.string() + ": " + e.what());
  }
}

LoadedCheckpoint load_checkpoint(const fs::path& file, Module& model, Optimizer* optimizer) {
  const auto fail = [&](const std::string& what) {
    return std::runtime_error("load_checkpoint: " + file.string() + ": " + what);
  };
  std::vector<char> data;
  Parsed p;
  try {
    data = read_file(file);
    p = parse(data);
  } catch (const std::runtime_error& e) {
    throw fail(e.what());
  }

  std::vector<std::string> problems;
  Match model_match, optimizer_match;
  match_section(p, kModelSection, model.named_parameters(), "parameter", "model", problems, model_match);
  if (optimizer) {
    if (p.optimizer_kind != optimizer->kind()) {
      problems.push_back(p.optimizer_kind.empty()
                             ? std::string("the file holds no optimizer state, the optimizer is ") + optimizer->kind()
                             : "the file holds " + p.optimizer_kind + " state, the optimizer is " + optimizer->kind());
    } else {
      match_section(p, kOptimizerSection, optimizer->state(), "optimizer state", "optimizer", problems,
                    optimizer_match);
      if (p.step_count < 0) problems.push_back("negative step count " + std::to_string(p.step_count));
    }
  }
  if (!problems.empty()) throw fail(joined(problems));

  // Everything matched: only now is anything written.
  for (const Match* m : {&model_match, &optimizer_match})
    for (auto& [t, rec] : m->pairs) std::memcpy(t.raw_data(), rec->data, rec->bytes);
  if (optimizer) optimizer->set_step_count(p.step_count);
  return {p.step_count, std::move(p.metadata)};
}

}  // namespace seqgrad::nn
