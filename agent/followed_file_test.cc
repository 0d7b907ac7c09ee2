#include "agent/followed_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace sweep {
namespace {

class FollowedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/followed_file_test_" +
            std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::remove(path_.c_str());
  }
  void TearDown() override { std::remove(path_.c_str()); }

  void Write(const std::string& text, std::ios::openmode mode) {
    std::ofstream out(path_, std::ios::binary | mode);
    out << text;
  }

  FollowedFile::Chunk Read(FollowedFile& file, size_t max = 1 << 20) {
    absl::StatusOr<FollowedFile::Chunk> chunk = file.Read(max);
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    return chunk.ok() ? *chunk : FollowedFile::Chunk{};
  }

  std::string path_;
};

TEST_F(FollowedFileTest, GivesWhatWasAppendedInChunks) {
  FollowedFile file(path_, "test file");
  EXPECT_EQ(Read(file).bytes, "");  // Not there yet.
  Write("hello ", std::ios::trunc);
  EXPECT_EQ(Read(file, 3).bytes, "hel");
  EXPECT_EQ(Read(file).bytes, "lo ");
  Write("world\n", std::ios::app);
  const FollowedFile::Chunk more = Read(file);
  EXPECT_EQ(more.bytes, "world\n");
  EXPECT_FALSE(more.restarted);
  EXPECT_EQ(file.offset(), 12u);
  EXPECT_EQ(Read(file).bytes, "");
}

TEST_F(FollowedFileTest, ATruncatedFileIsReadAgainFromItsStart) {
  FollowedFile file(path_, "test file");
  Write("a banner line that is long\n", std::ios::trunc);
  EXPECT_EQ(Read(file).bytes, "a banner line that is long\n");
  // Shorter than what was read.
  Write("loss=1\n", std::ios::trunc);
  FollowedFile::Chunk chunk = Read(file);
  EXPECT_TRUE(chunk.restarted);
  EXPECT_EQ(chunk.bytes, "loss=1\n");
  // Longer than what was read by the next look: its last bytes differ.
  Write("loss=0.5 and a line long enough to pass the old offset\n",
        std::ios::trunc);
  chunk = Read(file);
  EXPECT_TRUE(chunk.restarted);
  EXPECT_EQ(chunk.bytes,
            "loss=0.5 and a line long enough to pass the old offset\n");
  Write("next\n", std::ios::app);
  chunk = Read(file);
  EXPECT_FALSE(chunk.restarted);
  EXPECT_EQ(chunk.bytes, "next\n");
}

TEST_F(FollowedFileTest, AReplacedFileIsReadFromItsStart) {
  FollowedFile file(path_, "test file");
  Write("first\n", std::ios::trunc);
  EXPECT_EQ(Read(file).bytes, "first\n");
  const std::string other = path_ + ".new";
  {
    std::ofstream out(other, std::ios::binary);
    out << "first\nsecond\n";
  }
  ASSERT_EQ(std::rename(other.c_str(), path_.c_str()), 0);
  const FollowedFile::Chunk chunk = Read(file);
  EXPECT_TRUE(chunk.restarted);
  EXPECT_EQ(chunk.bytes, "first\nsecond\n");
}

TEST_F(FollowedFileTest, AFifoIsRefusedWithItsName) {
  ASSERT_EQ(mkfifo(path_.c_str(), 0600), 0);
  FollowedFile file(path_, "test file");
  absl::StatusOr<FollowedFile::Chunk> chunk = file.Read(100);
  ASSERT_FALSE(chunk.ok());
  EXPECT_EQ(chunk.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(chunk.status().message().find("test file '" + path_ + "'"),
            std::string::npos)
      << chunk.status();
}

}  // namespace
}  // namespace sweep
