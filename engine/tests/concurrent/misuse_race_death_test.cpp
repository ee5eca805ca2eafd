// misuse_race_death_test.cpp — gomap::Map's misuse detector ("Misuse detection" in gomap/map.hpp) on
// real races: a plain map used by two threads without a lock must abort with
// Go's message. engine/tests/death_test.cpp covers concurrent writers; here:
//   reader + writer     -> "fatal error: concurrent map read and map write"
//   iterator + writer   -> "fatal error: concurrent map iteration and map write"
//   writer + writer     -> "fatal error: concurrent map writes" (again, with
//                          erase racing insert on the same keys)
// The races are real (unsynchronised threads), so these tests are not built
// into the TSan executable: TSan would (rightly) report the race itself. They
// are skipped at compile time under TSan and run in the ordinary builds
// (label engine). The map is sized so that it never grows and never frees
// memory while the threads race; each child keeps racing for up to two
// seconds (the detector is best-effort) and exits 0 if nothing fired, which
// fails the death test.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "gomap/map.hpp"

#if defined(__SANITIZE_THREAD__)
#define GOMAP_TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GOMAP_TEST_UNDER_TSAN 1
#endif
#endif

namespace {

using Map = gomap::Map<std::uint64_t, std::uint64_t>;

constexpr const char* kWrites = "fatal error: concurrent map writes";
constexpr const char* kReadWrite = "fatal error: concurrent map read and map write";
constexpr const char* kIterWrite = "fatal error: concurrent map iteration and map write";
constexpr auto kRaceTime = std::chrono::seconds(2);

#if defined(GOMAP_TEST_UNDER_TSAN)
#define GOMAP_SKIP_UNDER_TSAN() GTEST_SKIP() << "real data races on purpose: not run under ThreadSanitizer"
#else
#define GOMAP_SKIP_UNDER_TSAN() (void)0
#endif

// Eight keys that stay (100..107) plus four the writer churns (0..3), in a
// 16-bucket map: no growth, no overflow buckets, nothing freed.
Map prepared() {
  Map m(64, gomap::Seed{9});
  for (std::uint64_t k = 100; k < 108; ++k) m.insert_or_assign(k, k);
  return m;
}

// Runs `other` on a second thread and the writer on this one until the
// detector aborts the process or time runs out (then exits 0).
template <class Other>
[[noreturn]] void race_with_writer(Map& m, Other other) {
  std::atomic<bool> go{false};
  std::thread t([&] {
    while (!go.load(std::memory_order_acquire)) {
    }
    other();
  });
  go.store(true, std::memory_order_release);
  const auto deadline = std::chrono::steady_clock::now() + kRaceTime;
  for (std::uint64_t i = 0;; ++i) {
    m.insert_or_assign(i & 3, i);
    m.erase((i + 2) & 3);
    if ((i & 1023) == 0 && std::chrono::steady_clock::now() > deadline) break;
  }
  std::fprintf(stderr, "no race detected\n");
  std::_Exit(0);  // the other thread still runs: leave without joining
}

TEST(MapRaceDeathTest, ReaderAndWriterAbort) {
  GOMAP_SKIP_UNDER_TSAN();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto race = [] {
    Map m = prepared();
    race_with_writer(m, [&] {
      const Map& cm = m;
      std::uint64_t sum = 0;
      for (std::uint64_t i = 0;; ++i) {
        if (const std::uint64_t* v = cm.find(100 + (i & 7))) sum += *v;
        sum += cm.contains(i & 3);
        if (sum == 42) std::fprintf(stderr, " ");  // keep the loop from being optimised away
      }
    });
  };
  EXPECT_DEATH(race(), kReadWrite);
}

TEST(MapRaceDeathTest, IteratorAndWriterAbort) {
  GOMAP_SKIP_UNDER_TSAN();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto race = [] {
    Map m = prepared();
    race_with_writer(m, [&] {
      const Map& cm = m;
      std::uint64_t sum = 0;
      for (;;) {
        for (auto it = cm.begin(); it != cm.end(); ++it) sum += it.key();
        if (sum == 42) std::fprintf(stderr, " ");
      }
    });
  };
  EXPECT_DEATH(race(), kIterWrite);
}

TEST(MapRaceDeathTest, TwoWritersOnTheSameKeysAbort) {
  GOMAP_SKIP_UNDER_TSAN();
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  auto race = [] {
    Map m = prepared();
    race_with_writer(m, [&] {
      for (std::uint64_t i = 0;; ++i) {
        m.erase(i & 3);
        m.insert_or_assign((i + 1) & 3, i);
      }
    });
  };
  EXPECT_DEATH(race(), kWrites);
}

// The detector must not fire on correct programs: concurrent readers and
// iterators of a map nobody writes.
TEST(MapRaceDeathTest, ConcurrentReadersDoNotAbort) {
  Map m = prepared();
  std::atomic<std::uint64_t> total{0};
  std::thread a([&] {
    std::uint64_t s = 0;
    for (int i = 0; i < 20000; ++i) s += m.contains(100 + (i & 7));
    total += s;
  });
  std::thread b([&] {
    std::uint64_t s = 0;
    const Map& cm = m;
    for (int i = 0; i < 2000; ++i)
      for (auto it = cm.begin(); it != cm.end(); ++it) s += 1;
    total += s;
  });
  a.join();
  b.join();
  EXPECT_EQ(total.load(), 20000u + 2000u * 8u);
}

}  // namespace
