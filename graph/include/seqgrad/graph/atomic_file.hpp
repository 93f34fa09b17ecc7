#pragma once
// Files written atomically: at every moment the target is either its old content or the complete
// new one, never a prefix, also across a kill or a power cut. Every file seqgrad writes
// (checkpoints, a run's configuration and metrics, pictures, tables) goes through AtomicFile, so
// there is one temporary-name pattern to sweep and one permission rule.
//
// The bytes stream into a hidden temporary file beside the target, ".NAME.tmp-XXXXXX" (six letters
// or digits; in the target's folder, so the rename stays within one file system), created with
// mode 0666 less the umask, as any ordinary file is. commit() fsyncs it, renames it onto the target
// and fsyncs the folder, so the rename itself is durable. A writer destroyed without commit() (an
// exception, a failed write) removes its temporary. A kill between creating and renaming leaves it
// behind: remove_atomic_temporaries() clears such leftovers (a run folder does at every start).
//
// Errors are std::runtime_error "<who>: cannot write <target>: <reason>" (without "<who>: " when
// `who` is empty), the reason being the system's.
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace seqgrad {

// What commit() does when the target exists: replace it, or leave it and throw.
enum class ExistingFile { replace, refuse };

class AtomicFile {
 public:
  // Creates the temporary. With ExistingFile::refuse a target that exists is refused here, and the
  // rename at commit() does not replace one that appeared meanwhile either.
  AtomicFile(std::filesystem::path target, ExistingFile existing, std::string who = {});
  ~AtomicFile();  // removes the temporary unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Appends bytes; throws on failure (the temporary is removed when the writer goes).
  void write(std::span<const std::byte> bytes);
  void write(std::string_view bytes);
  // For C callbacks that must not throw (cairo's stream writers): false when the write fails, the
  // reason kept for fail() and commit().
  bool write_noexcept(const void* data, std::size_t size) noexcept;
  bool failed() const { return !error_.empty(); }
  // Throws the runtime_error above with `reason`, or with a failed write's own reason.
  [[noreturn]] void fail(const std::string& reason) const;
  // fsync, close, rename onto the target, fsync of the folder. Throws like fail() on any error (or
  // an earlier failed write); the target is then as it was.
  void commit();

  const std::filesystem::path& target() const { return target_; }

 private:
  std::filesystem::path target_, temporary_;
  ExistingFile existing_;
  std::string who_, error_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole of `bytes` as `file`, through an AtomicFile.
void write_file_atomically(const std::filesystem::path& file, std::string_view bytes, ExistingFile existing);

// Whether `name` (a file name; a directory part is ignored) has the temporaries' pattern.
bool is_atomic_temporary(const std::filesystem::path& name);

// Removes the leftover temporaries directly inside `folder` (not below it); returns what it
// removed. Nothing when `folder` does not exist.
std::vector<std::filesystem::path> remove_atomic_temporaries(const std::filesystem::path& folder);

}  // namespace seqgrad
