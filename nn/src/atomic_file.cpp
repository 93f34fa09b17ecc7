#include "seqgrad/nn/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace seqgrad::nn {
namespace fs = std::filesystem;

namespace {

std::string reason() { return std::strerror(errno); }

fs::path directory_of(const fs::path& file) { return file.has_parent_path() ? file.parent_path() : fs::path("."); }

// A fresh temporary file beside `file`, closed; removed by the destructor unless released.
class Temporary {
 public:
  explicit Temporary(const fs::path& file) {
    std::string name = file.filename().string();
    name.insert(name.begin(), '.');
    name += ".tmp-XXXXXX";
    path_ = (directory_of(file) / name).string();
    const int fd = ::mkstemp(path_.data());
    if (fd < 0)
      throw std::runtime_error("cannot write " + file.string() + ": cannot create a temporary file in " +
                               directory_of(file).string() + ": " + reason());
    ::fchmod(fd, 0644);  // mkstemp makes it 0600; these are ordinary files
    ::close(fd);
  }
  ~Temporary() {
    if (!released_) ::unlink(path_.c_str());
  }
  Temporary(const Temporary&) = delete;
  Temporary& operator=(const Temporary&) = delete;
  const std::string& path() const { return path_; }

  // fsync the temporary file, rename it over `file`, fsync the directory.
  void commit(const fs::path& file) {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error("cannot write " + file.string() + ": cannot reopen " + path_ + ": " + reason());
    const bool synced = ::fsync(fd) == 0;
    const std::string why = synced ? "" : reason();
    ::close(fd);
    if (!synced) throw std::runtime_error("cannot write " + file.string() + ": fsync failed: " + why);
    if (::rename(path_.c_str(), file.c_str()) != 0)
      throw std::runtime_error("cannot write " + file.string() + ": cannot rename " + path_ + " over it: " + reason());
    released_ = true;
    const int dir_fd = ::open(directory_of(file).c_str(), O_RDONLY | O_DIRECTORY);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);  // best effort: the new file is in place whether or not this succeeds
      ::close(dir_fd);
    }
  }

 private:
  std::string path_;
  bool released_ = false;
};

}  // namespace

void write_file_atomically_with(const fs::path& file, const std::function<void(const fs::path&)>& write) {
  Temporary tmp(file);
  write(tmp.path());
  tmp.commit(file);
}

void write_file_atomically(const fs::path& file, const std::vector<std::span<const std::byte>>& pieces) {
  write_file_atomically_with(file, [&](const fs::path& temporary) {
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_TRUNC);
    if (fd < 0) throw std::runtime_error("cannot write " + file.string() + ": " + reason());
    for (const auto& piece : pieces) {
      std::size_t done = 0;
      while (done < piece.size()) {
        const ssize_t n = ::write(fd, piece.data() + done, piece.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          const std::string why = reason();
          ::close(fd);
          throw std::runtime_error("cannot write " + file.string() + ": " + why);
        }
        done += static_cast<std::size_t>(n);
      }
    }
    if (::close(fd) != 0) throw std::runtime_error("cannot write " + file.string() + ": " + reason());
  });
}

void write_file_atomically(const fs::path& file, std::string_view bytes) {
  write_file_atomically(file, {std::as_bytes(std::span(bytes.data(), bytes.size()))});
}

bool is_atomic_temporary(const fs::path& name) {
  const std::string s = name.filename().string();
  const auto at = s.rfind(".tmp-");
  return s.size() > 1 && s[0] == '.' && at != std::string::npos && at > 0 && s.size() == at + 11;  // ".tmp-" + 6
}

std::vector<fs::path> remove_atomic_temporaries(const fs::path& dir) {
  std::vector<fs::path> removed;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return removed;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file(ec) || !is_atomic_temporary(entry.path().filename())) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path());
  }
  return removed;
}

}  // namespace seqgrad::nn
