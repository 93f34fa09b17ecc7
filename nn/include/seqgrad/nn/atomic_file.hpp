#pragma once
// Files written atomically: at every moment the target is either its old content or the complete
// new one, never a prefix, also across a kill or a power cut.
//
// The bytes go to a temporary file beside the target (".NAME.tmp-XXXXXX", hidden, in the same
// directory so the rename stays within one file system), which is fsynced, renamed over the target,
// and the directory fsynced so the rename itself is durable. A failure removes the temporary file
// and throws std::runtime_error naming the target and the system's reason. A kill between creating
// and renaming the temporary file leaves it behind: remove_atomic_temporaries() clears such
// leftovers (a run folder does it at every start).
#include <filesystem>
#include <cstddef>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

namespace seqgrad::nn {

void write_file_atomically(const std::filesystem::path& file, std::string_view bytes);
// The pieces one after the other, written from where they are (no copy into one buffer).
void write_file_atomically(const std::filesystem::path& file, const std::vector<std::span<const std::byte>>& pieces);

// For writers that want a path rather than bytes (an image encoder, say): `write` writes the whole
// file at the temporary path it is given; then the same fsync, rename and directory fsync.
void write_file_atomically_with(const std::filesystem::path& file,
                                const std::function<void(const std::filesystem::path& temporary)>& write);

// Whether `name` (a file name, no directory) is one of those temporary files.
bool is_atomic_temporary(const std::filesystem::path& name);

// Removes the leftover temporary files directly inside `dir` (not below it); returns what it removed.
std::vector<std::filesystem::path> remove_atomic_temporaries(const std::filesystem::path& dir);

}  // namespace seqgrad::nn
