// AtomicFile, the one writer of every file seqgrad writes: commit, abandon, permissions, replacing
// only when asked, the temporaries' pattern and their sweep.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "seqgrad/graph/atomic_file.hpp"
#include "support/expect_error.hpp"
#include "support/file_bytes.hpp"
#include "support/file_size_limit.hpp"
#include "support/temp_path.hpp"

using namespace seqgrad;
namespace fs = std::filesystem;
using seqgrad::test_support::expect_error;

namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = test_support::temp_path(std::string("atomic_") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir;
};

std::string slurp(const fs::path& f) { return test_support::read_file_bytes(f); }
void spit(const fs::path& f, const std::string& text) { test_support::write_file_bytes(f, text); }

unsigned permissions(const fs::path& f) {
  struct stat st {};
  EXPECT_EQ(::stat(f.c_str(), &st), 0) << f;
  return st.st_mode & 0777;
}

}  // namespace

TEST_F(AtomicFileTest, CommitPutsTheWholeFileInPlaceAndLeavesNoTemporary) {
  const fs::path file = dir / "data.bin";
  {
    AtomicFile out(file, ExistingFile::replace);
    out.write(std::string_view("head:"));
    const std::vector<std::byte> body{std::byte{0}, std::byte{1}, std::byte{255}};
    out.write(std::span<const std::byte>(body));
    EXPECT_TRUE(out.write_noexcept("tail", 4));
    // Until the commit the target does not exist; the bytes are in one hidden temporary of the
    // pattern that remove_atomic_temporaries() sweeps.
    EXPECT_FALSE(fs::exists(file));
    const std::vector<std::string> during = names();
    ASSERT_EQ(during.size(), 1u);
    EXPECT_TRUE(during[0].starts_with(".data.bin.tmp-")) << during[0];
    EXPECT_TRUE(is_atomic_temporary(during[0])) << during[0];
    out.commit();
    EXPECT_THROW(out.commit(), std::logic_error);
  }
  EXPECT_EQ(slurp(file), std::string("head:\0\1\xff" "tail", 12));
  EXPECT_EQ(names(), std::vector<std::string>{"data.bin"});
  write_file_atomically(file, "again", ExistingFile::replace);
  EXPECT_EQ(slurp(file), "again");
  EXPECT_EQ(names(), std::vector<std::string>{"data.bin"});
}

TEST_F(AtomicFileTest, AnAbandonedWriteLeavesTheOldFileAndNoTemporary) {
  const fs::path file = dir / "config.json";
  spit(file, "old");
  EXPECT_THROW(
      {
        AtomicFile out(file, ExistingFile::replace);
        out.write(std::string_view("half of the new"));
        throw std::runtime_error("killed while writing");
      },
      std::runtime_error);
  EXPECT_EQ(slurp(file), "old");  // the old content, not a prefix of the new
  EXPECT_EQ(names(), std::vector<std::string>{"config.json"});
  // A new file abandoned: nothing at all.
  { AtomicFile out(dir / "never.json", ExistingFile::refuse); }
  EXPECT_EQ(names(), std::vector<std::string>{"config.json"});
}

TEST_F(AtomicFileTest, FilesGetTheUmasksPermissionsLikeOrdinaryFiles) {
  const mode_t old = ::umask(022);
  write_file_atomically(dir / "a", "x", ExistingFile::refuse);
  ::umask(077);
  write_file_atomically(dir / "b", "x", ExistingFile::refuse);
  ::umask(0);
  write_file_atomically(dir / "c", "x", ExistingFile::refuse);
  ::umask(old);
  EXPECT_EQ(permissions(dir / "a"), 0644u);
  EXPECT_EQ(permissions(dir / "b"), 0600u);
  EXPECT_EQ(permissions(dir / "c"), 0666u);
}

TEST_F(AtomicFileTest, AnExistingFileIsReplacedOnlyWhenTheCallerAsks) {
  const fs::path file = dir / "mine.txt";
  spit(file, "the user's");
  expect_error<std::runtime_error>([&] { write_file_atomically(file, "ours", ExistingFile::refuse); },
                                   {"cannot write", file.string(), "exists"});
  EXPECT_EQ(slurp(file), "the user's");
  // A file that appears between the start of a write and its commit is not replaced either.
  const fs::path later = dir / "later.txt";
  {
    AtomicFile out(later, ExistingFile::refuse, "writer");
    out.write(std::string_view("ours"));
    spit(later, "made meanwhile");
    expect_error<std::runtime_error>([&] { out.commit(); }, {"writer: cannot write", later.string(), "exists"});
  }
  EXPECT_EQ(slurp(later), "made meanwhile");
  EXPECT_EQ(names(), (std::vector<std::string>{"later.txt", "mine.txt"}));
  write_file_atomically(file, "ours", ExistingFile::replace);
  EXPECT_EQ(slurp(file), "ours");
}

TEST_F(AtomicFileTest, FailuresThrowNamingTheFileAndTheSystemsReason) {
  const fs::path nowhere = dir / "no" / "such" / "folder" / "x.bin";
  expect_error<std::runtime_error>([&] { AtomicFile(nowhere, ExistingFile::replace, "save"); },
                                   {"save: cannot write", nowhere.string(), "cannot create a temporary file",
                                    std::strerror(ENOENT)});
  // The target is a folder, or no file name at all: refused when the writer is made, before the
  // caller has produced any bytes, and nothing is left behind.
  fs::create_directory(dir / "taken");
  expect_error<std::runtime_error>([&] { AtomicFile(dir / "taken", ExistingFile::replace, "save"); },
                                   {"save: cannot write", (dir / "taken").string(), "it is a folder"});
  expect_error<std::runtime_error>([&] { write_file_atomically(dir / "taken", "x", ExistingFile::replace); },
                                   {"cannot write", (dir / "taken").string(), "it is a folder"});
  for (const fs::path& nameless : {fs::path(""), dir / ""})
    expect_error<std::runtime_error>([&] { AtomicFile(nameless, ExistingFile::replace, "save"); },
                                     {"save: cannot write", "not a file name"});
  EXPECT_EQ(names(), std::vector<std::string>{"taken"});

  // The disk fills up in the middle: a file-size limit makes write() fail with EFBIG. The writer
  // that must not throw says so, keeps the reason, and commit() throws it; the old file stays.
  const fs::path file = dir / "big.bin";
  spit(file, "old");
  const std::string bytes(1000, 'x');
  bool written = true, failed = false;
  std::string error;
  {
    const test_support::FileSizeLimit full_disk(64);
    AtomicFile out(file, ExistingFile::replace, "draw");
    written = out.write_noexcept(bytes.data(), bytes.size());
    failed = out.failed();
    try {
      out.commit();
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
  }
  EXPECT_FALSE(written);
  EXPECT_TRUE(failed);
  EXPECT_NE(error.find("draw: cannot write " + file.string()), std::string::npos) << error;
  EXPECT_NE(error.find(std::strerror(EFBIG)), std::string::npos) << error;
  EXPECT_EQ(slurp(file), "old");
  EXPECT_EQ(names(), (std::vector<std::string>{"big.bin", "taken"}));
}

TEST(AtomicFileNames, RecognisesOnlyItsTemporaries) {
  EXPECT_TRUE(is_atomic_temporary(".last.ckpt.tmp-AbC123"));
  EXPECT_TRUE(is_atomic_temporary(".loss.png.tmp-z9Y8x7"));
  EXPECT_TRUE(is_atomic_temporary("heatmaps/.hello.png.tmp-000000"));  // the folder part is ignored
  EXPECT_FALSE(is_atomic_temporary("last.ckpt"));
  EXPECT_FALSE(is_atomic_temporary(".last.ckpt.tmp-"));
  EXPECT_FALSE(is_atomic_temporary(".tmp-AbC123"));               // no target name
  EXPECT_FALSE(is_atomic_temporary("notes.tmp-AbC123"));          // not hidden
  EXPECT_FALSE(is_atomic_temporary(".last.ckpt.tmp-AbC12"));      // five characters
  EXPECT_FALSE(is_atomic_temporary(".last.ckpt.tmp-AbC1234"));    // seven
  EXPECT_FALSE(is_atomic_temporary(".last.ckpt.tmp-AbC-12"));     // not a letter or digit
  EXPECT_FALSE(is_atomic_temporary(".loss.png.1234.0.tmp"));      // another pattern
}

TEST_F(AtomicFileTest, TheSweepRemovesOnlyTemporariesDirectlyInTheFolder) {
  for (const char* name : {".loss.png.tmp-Qx7Z9a", ".best.ckpt.tmp-AbC123", "notes.tmp-AbC123", "loss.png"}) spit(dir / name, "x");
  fs::create_directories(dir / ".folder.tmp-AbC123");  // a folder of that name is not ours
  fs::create_directories(dir / "heatmaps");
  spit(dir / "heatmaps" / ".hello.png.tmp-AbC123", "x");
  std::vector<fs::path> removed = remove_atomic_temporaries(dir);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed, (std::vector<fs::path>{dir / ".best.ckpt.tmp-AbC123", dir / ".loss.png.tmp-Qx7Z9a"}));
  EXPECT_EQ(names(), (std::vector<std::string>{".folder.tmp-AbC123", "heatmaps", "loss.png", "notes.tmp-AbC123"}));
  EXPECT_TRUE(fs::exists(dir / "heatmaps" / ".hello.png.tmp-AbC123"));  // below the folder: its own sweep
  EXPECT_EQ(remove_atomic_temporaries(dir / "heatmaps").size(), 1u);
  EXPECT_TRUE(remove_atomic_temporaries(dir / "absent").empty());
}
