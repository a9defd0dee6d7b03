#include "agent/execution/oom_watch.h"

#include <fstream>

#include "common/process/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cloudlet::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(OomVictimIn, ReadsTheVictimOfAKmsgRecord) {
  EXPECT_EQ(OomVictimIn("3,1042,18233977,-;Out of memory: Killed process 231 "
                        "(python3) total-vm:262512kB, anon-rss:228096kB, "
                        "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:508kB "
                        "oom_score_adj:0"),
            "python3 (pid 231)");
}

TEST(OomVictimIn, ReadsDmesgLinesAndCgroupKills) {
  EXPECT_EQ(OomVictimIn("[   18.2] Memory cgroup out of memory: Killed "
                        "process 77 (my prog) total-vm:1kB"),
            "my prog (pid 77)");
  EXPECT_EQ(OomVictimIn("Out of memory: Killed process 5 (sh)"), "sh (pid 5)");
}

TEST(OomVictimIn, IgnoresOtherLines) {
  EXPECT_EQ(OomVictimIn("6,1,2,-;python3 invoked oom-killer: gfp_mask=0x0"),
            std::nullopt);
  EXPECT_EQ(OomVictimIn("oom_reaper: reaped process 231 (python3), now "
                        "anon-rss:0kB"),
            std::nullopt);
  EXPECT_EQ(OomVictimIn("Killed process 12 (sh)"), std::nullopt);
  EXPECT_EQ(OomVictimIn("Out of memory: Killed process x (sh)"), std::nullopt);
  EXPECT_EQ(OomVictimIn(""), std::nullopt);
}

TEST(OomWatch, ReportsOnlyKillsLoggedAfterItStarted) {
  absl::StatusOr<TempDir> dir = TempDir::Create("oom-watch-test-");
  ASSERT_TRUE(dir.ok());
  std::filesystem::path log = dir->path() / "kmsg";
  std::ofstream(log) << "3,1,1,-;Out of memory: Killed process 1 (old)\n";
  OomWatch watch(log);
  std::ofstream(log, std::ios::app)
      << "6,2,2,-;bash invoked oom-killer\n"
      << "3,3,3,-;Out of memory: Killed process 2 (hog) total-vm:9kB\n"
      << "3,4,4,-;Out of memory: Killed process 3 (sh";
  EXPECT_THAT(watch.Victims(), ElementsAre("hog (pid 2)"));
  // The half-written line counts once it is complete, and only once.
  std::ofstream(log, std::ios::app) << ") total-vm:1kB\n";
  EXPECT_THAT(watch.Victims(), ElementsAre("sh (pid 3)"));
  EXPECT_THAT(watch.Victims(), IsEmpty());
}

TEST(OomWatch, ReportsNothingWithoutAKernelLog) {
  OomWatch watch("/nonexistent/kmsg");
  EXPECT_THAT(watch.Victims(), IsEmpty());
}

}  // namespace
}  // namespace cloudlet::agent
