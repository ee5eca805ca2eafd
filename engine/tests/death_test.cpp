// death_test.cpp — Go's best-effort misuse detection ("Misuse detection" in gomap/map.hpp).
//
// MapTestAccess::while_writing(m, fn) runs fn with the map's hashWriting flag
// set, exactly as if another goroutine were in the middle of a write. Every
// operation Go checks must then abort with Go's message:
//   writes (insert, m[k], delete, clear)  -> "fatal error: concurrent map writes"
//   lookups (find, contains)              -> "fatal error: concurrent map read and map write"
//   advancing an iterator                 -> "fatal error: concurrent map iteration and map write"
// Operations Go does not check (len, lookups and deletes on an empty map) must
// not abort.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include "gomap/map.hpp"
#include "support/map_test_access.hpp"

namespace {

using gomap::Map;
using gomap::MapTestAccess;
using gomap::Seed;

constexpr const char* kWrites = "fatal error: concurrent map writes";
constexpr const char* kReadWrite = "fatal error: concurrent map read and map write";
constexpr const char* kIterWrite = "fatal error: concurrent map iteration and map write";

Map<std::uint64_t, std::uint64_t> filled(std::size_t n = 100, std::uint64_t seed = 1) {
  Map<std::uint64_t, std::uint64_t> m(0, Seed{seed});
  for (std::uint64_t i = 0; i < n; ++i) m.insert_or_assign(i, i);
  return m;
}

// ---- writes -------------------------------------------------------------

TEST(MapDeathTest, InsertWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.insert_or_assign(1000, 1); }), kWrites);
}

TEST(MapDeathTest, AssignExistingKeyWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.insert_or_assign(5, 1); }), kWrites);
}

TEST(MapDeathTest, InsertIntoEmptyMapWhileWritingAborts) {
  Map<std::uint64_t, std::uint64_t> m(0, Seed{2});
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.insert_or_assign(1, 1); }), kWrites);
}

TEST(MapDeathTest, SubscriptWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m[7] += 1; }), kWrites);
}

TEST(MapDeathTest, EraseWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.erase(5); }), kWrites);
}

TEST(MapDeathTest, EraseOfAbsentKeyWhileWritingAborts) {
  // Go's mapdelete checks the flag before searching, so a miss aborts too.
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.erase(123456); }), kWrites);
}

TEST(MapDeathTest, ClearWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.clear(); }), kWrites);
}

TEST(MapDeathTest, CompactWhileWritingAborts) {
  auto m = filled(1000);
  for (std::uint64_t i = 0; i < 990; ++i) m.erase(i);  // compact() has work to do
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.compact(); }), kWrites);
}

TEST(MapDeathTest, WriteDuringGrowthWhileWritingAborts) {
  auto m = filled(0);
  std::uint64_t i = 0;
  while (!m.stats().growing) m.insert_or_assign(i++, 0);
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.insert_or_assign(i, 0); }), kWrites);
}

// ---- reads --------------------------------------------------------------

TEST(MapDeathTest, FindWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { (void)m.find(5); }), kReadWrite);
}

TEST(MapDeathTest, FindMissWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { (void)m.find(123456); }), kReadWrite);
}

TEST(MapDeathTest, ConstFindWhileWritingAborts) {
  auto m = filled();
  const auto& cm = m;
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { (void)cm.find(5); }), kReadWrite);
}

TEST(MapDeathTest, ContainsWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { (void)m.contains(5); }), kReadWrite);
}

TEST(MapDeathTest, StringKeyFindWhileWritingAborts) {
  Map<std::string, int> m(0, Seed{3});
  m.insert_or_assign("a", 1);
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { (void)m.contains("a"); }), kReadWrite);
}

// ---- iteration ----------------------------------------------------------

TEST(MapDeathTest, AdvancingIteratorWhileWritingAborts) {
  auto m = filled();
  auto it = m.begin();
  ASSERT_FALSE(it.done());
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { ++it; }), kIterWrite);
}

TEST(MapDeathTest, AdvancingConstIteratorWhileWritingAborts) {
  auto m = filled();
  auto it = std::as_const(m).begin();
  ASSERT_FALSE(it.done());
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { ++it; }), kIterWrite);
}

TEST(MapDeathTest, StartingIterationWhileWritingAborts) {
  // begin() runs Go's mapiterinit + the first mapiternext.
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { (void)m.begin(); }), kIterWrite);
}

TEST(MapDeathTest, RangeForWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] {
    std::uint64_t sum = 0;
    for (auto&& [k, v] : m) sum += k + v;
    std::printf("%llu\n", static_cast<unsigned long long>(sum));
  }),
               kIterWrite);
}

TEST(MapDeathTest, RangeCallbackWhileWritingAborts) {
  auto m = filled();
  EXPECT_DEATH(MapTestAccess::while_writing(m, [&] { m.range([](std::uint64_t, std::uint64_t&) { return true; }); }),
               kIterWrite);
}

// ---- what Go does not check ---------------------------------------------

TEST(MapDeathTest, UncheckedOperationsWhileWritingDoNotAbort) {
  Map<std::uint64_t, std::uint64_t> empty(0, Seed{4});
  auto m = filled();
  bool ran = false;
  MapTestAccess::while_writing(empty, [&] {
    // Go returns early for an empty map before looking at the flag.
    EXPECT_EQ(empty.find(1), nullptr);
    EXPECT_FALSE(empty.contains(1));
    EXPECT_FALSE(empty.erase(1));
    empty.clear();
    EXPECT_TRUE(empty.begin().done());
    ran = true;
  });
  MapTestAccess::while_writing(m, [&] {
    EXPECT_EQ(m.size(), 100u);  // len(m) is not checked
    EXPECT_FALSE(m.empty());
    (void)m.stats();
  });
  EXPECT_TRUE(ran);
  // The flag is gone again: everything works.
  m.insert_or_assign(1000, 1);
  empty.insert_or_assign(1, 1);
  m.check_invariants();
  empty.check_invariants();
}

// check_invariants() reports a set writing flag instead of aborting.
TEST(MapDeathTest, CheckInvariantsReportsWritingFlag) {
  auto m = filled();
  MapTestAccess::while_writing(m, [&] { EXPECT_THROW(m.check_invariants(), gomap::InvariantError); });
  m.check_invariants();
}

// ---- a real race ----------------------------------------------------------
//
// Two threads write one map without a lock. No key set large enough to grow
// the map is used (eight keys, a 16-bucket map), so no memory is ever freed
// under the racing threads; the writing flag must catch the race and abort
// with Go's message (it is best-effort, so the threads keep trying for up to
// two seconds).
TEST(MapDeathTest, TwoThreadsWritingConcurrentlyAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto race = [] {
    Map<std::uint64_t, std::uint64_t> m(64, Seed{5});
    std::atomic<bool> go{false};
    auto writer = [&](std::uint64_t base) {
      while (!go.load(std::memory_order_acquire)) {
      }
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      for (std::uint64_t i = 0;; ++i) {
        m.insert_or_assign(base + (i & 3), i);
        m.erase(base + ((i + 1) & 3));
        if ((i & 1023) == 0 && std::chrono::steady_clock::now() > deadline) return;
      }
    };
    std::thread a(writer, 0);
    std::thread b(writer, 4);
    go.store(true, std::memory_order_release);
    a.join();
    b.join();
    std::fprintf(stderr, "no race detected\n");
    std::exit(0);
  };
  EXPECT_DEATH(race(), kWrites);
}

}  // namespace
