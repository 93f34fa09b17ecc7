#include "seqgrad/graph/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>  // renameat2
#include <stdexcept>
#include <system_error>

namespace seqgrad {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSuffix = ".tmp-";
constexpr std::size_t kRandomChars = 6;
constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

std::string errno_text(int error) { return std::generic_category().message(error); }

fs::path folder_of(const fs::path& file) { return file.has_parent_path() ? file.parent_path() : fs::path("."); }

// Six characters that differ between processes, threads and calls. Not secret: O_EXCL makes a
// name taken by anyone else fail, and the caller tries another.
std::string random_chars() {
  static std::atomic<std::uint64_t> calls{0};
  std::uint64_t x = (static_cast<std::uint64_t>(::getpid()) << 40) ^ (calls.fetch_add(1) << 20) ^
                    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  // splitmix64's finaliser: every input bit reaches every output character.
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  std::string out;
  for (std::size_t i = 0; i < kRandomChars; ++i, x /= kAlphabet.size()) out += kAlphabet[x % kAlphabet.size()];
  return out;
}

// Renames without replacing an existing target: renameat2's RENAME_NOREPLACE, or, on a file
// system without it, a hard link (which fails on an existing name too) and an unlink.
int rename_no_replace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  if (::link(from.c_str(), to.c_str()) != 0) return -1;
  ::unlink(from.c_str());
  return 0;
}

}  // namespace

AtomicFile::AtomicFile(fs::path target, ExistingFile existing, std::string who)
    : target_(std::move(target)), existing_(existing), who_(std::move(who)) {
  std::error_code ec;
  // Refused here rather than when commit() renames onto them, after the caller made every byte.
  if (!target_.has_filename()) fail("not a file name");
  if (fs::is_directory(target_, ec)) fail("it is a folder");
  if (existing_ == ExistingFile::refuse && fs::exists(fs::symlink_status(target_, ec)))
    fail("it exists, and this write does not replace a file");
  // open() with O_EXCL rather than mkstemp(): mkstemp makes the file 0600, and these are ordinary
  // files that get the umask's permissions.
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) about "." + std::string.
    std::string name(1, '.');
    name += target_.filename().string();
    name += kSuffix;
    name += random_chars();
    temporary_ = folder_of(target_) / name;
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) {
    const int code = errno;
    fail("cannot create a temporary file in " + folder_of(target_).string() + ": " + errno_text(code));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temporary_.empty()) ::unlink(temporary_.c_str());
}

bool AtomicFile::write_noexcept(const void* data, std::size_t size) noexcept {
  if (failed()) return false;
  const auto* bytes = static_cast<const unsigned char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int code = n < 0 ? errno : 0;
      try {
        error_ = code != 0 ? errno_text(code) : "nothing written";
      } catch (...) {
        error_ = "?";  // no memory for the reason's text (one character needs none)
      }
      return false;
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void AtomicFile::write(std::span<const std::byte> bytes) {
  if (!write_noexcept(bytes.data(), bytes.size())) fail(error_);
}

void AtomicFile::write(std::string_view bytes) { write(std::as_bytes(std::span(bytes.data(), bytes.size()))); }

void AtomicFile::fail(const std::string& reason) const {
  const std::string prefix = who_.empty() ? "" : who_ + ": ";
  throw std::runtime_error(prefix + "cannot write " + target_.string() + ": " + (failed() ? error_ : reason));
}

void AtomicFile::commit() {
  if (failed()) fail(error_);
  if (committed_) throw std::logic_error("AtomicFile::commit: " + target_.string() + " is committed already");
  if (fd_ < 0) fail("an earlier commit failed");
  // The data must be on disk before the rename makes it the target, or a crash could leave an
  // empty file under the target's name.
  if (::fsync(fd_) != 0) fail("fsync failed: " + errno_text(errno));
  const int closed = ::close(fd_);
  const int close_error = errno;
  fd_ = -1;
  if (closed != 0) fail(errno_text(close_error));
  const bool replace = existing_ == ExistingFile::replace;
  if ((replace ? ::rename(temporary_.c_str(), target_.c_str()) : rename_no_replace(temporary_, target_)) != 0) {
    const int code = errno;
    fail(code == EEXIST && !replace ? "it exists, and this write does not replace a file"
                                    : "cannot rename " + temporary_.string() + " onto it: " + errno_text(code));
  }
  committed_ = true;
  // Make the rename itself durable; a folder that cannot be opened or synced is no error here: the
  // new file is in place either way.
  const int folder = ::open(folder_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}

void write_file_atomically(const fs::path& file, std::string_view bytes, ExistingFile existing) {
  AtomicFile out(file, existing);
  out.write(bytes);
  out.commit();
}

bool is_atomic_temporary(const fs::path& name) {
  const std::string s = name.filename().string();
  // "." + at least one character of the target's name + ".tmp-" + the random characters
  if (s.size() < 2 + kSuffix.size() + kRandomChars || s[0] != '.') return false;
  const std::size_t at = s.size() - kRandomChars - kSuffix.size();
  if (s.compare(at, kSuffix.size(), kSuffix) != 0) return false;
  for (std::size_t i = at + kSuffix.size(); i < s.size(); ++i)
    if (kAlphabet.find(s[i]) == std::string_view::npos) return false;
  return true;
}

std::vector<fs::path> remove_atomic_temporaries(const fs::path& folder) {
  std::vector<fs::path> removed;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) return removed;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (!entry.is_regular_file(ec) || !is_atomic_temporary(entry.path().filename())) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path());
  }
  return removed;
}

}  // namespace seqgrad
