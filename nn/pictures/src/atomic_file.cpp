#include "atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace seqgrad::pictures::detail {

namespace {

std::string errno_text(int error) { return std::generic_category().message(error); }

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target, std::string who) : target_(std::move(target)), who_(std::move(who)) {
  // A hidden name unique to this process and call. open() with O_EXCL rather than mkstemp():
  // mkstemp makes the file 0600, and a picture should get the usual umask permissions.
  static std::atomic<unsigned> counter{0};
  for (int attempt = 0; attempt < 100 && fd_ < 0; ++attempt) {
    // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) about "." + std::string.
    std::string name(1, '.');
    name += target_.filename().string();
    name += '.' + std::to_string(::getpid()) + '.' + std::to_string(counter++) + ".tmp";
    temporary_ = target_.parent_path() / name;
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) break;
  }
  if (fd_ < 0) fail(errno_text(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temporary_.c_str());
}

bool AtomicFile::write(const unsigned char* data, std::size_t size) noexcept {
  if (failed()) return false;
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? errno_text(errno) : "nothing written";
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void AtomicFile::fail(const std::string& reason) const {
  throw std::runtime_error(who_ + ": cannot write " + target_.string() + ": " + (failed() ? error_ : reason));
}

void AtomicFile::commit() {
  if (failed()) fail(error_);
  // The data must be on disk before the rename makes it the target, or a crash could leave an
  // empty file under the target's name.
  if (::fsync(fd_) != 0) fail(errno_text(errno));
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail(errno_text(errno));
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) fail(errno_text(errno));
  committed_ = true;
  // Make the rename itself durable; a folder that cannot be opened or synced is no error here.
  const auto folder = target_.parent_path().empty() ? std::filesystem::path(".") : target_.parent_path();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace seqgrad::pictures::detail
