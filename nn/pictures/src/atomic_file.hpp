#pragma once
// A file that readers see either whole or not at all: the bytes go to a temporary file in the
// target's folder (same file system, so the rename is atomic), which commit() flushes to disk
// and renames over the target. Until then the target is untouched; a writer that fails or
// throws leaves no temporary behind.
#include <cstddef>
#include <filesystem>
#include <string>

namespace seqgrad::pictures::detail {

class AtomicFile {
 public:
  // Creates the temporary. `who` names the calling function in error messages.
  // Throws std::runtime_error "<who>: cannot write <target>: <reason>".
  AtomicFile(std::filesystem::path target, std::string who);
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes; false (and the reason kept for fail()) when the write fails. Does not throw:
  // it is called from inside cairo through write_callback.
  bool write(const unsigned char* data, std::size_t size) noexcept;
  bool failed() const { return !error_.empty(); }
  // Throws the runtime_error above with `reason`, or with the write's own error when one failed.
  [[noreturn]] void fail(const std::string& reason) const;
  // fsync, close, rename into place. Throws like fail() on any error (or an earlier failed write).
  void commit();

  const std::filesystem::path& temporary() const { return temporary_; }

 private:
  std::filesystem::path target_, temporary_;
  std::string who_, error_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace seqgrad::pictures::detail
