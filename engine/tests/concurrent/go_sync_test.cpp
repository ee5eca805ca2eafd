// go_sync_test.cpp — the intent of Go's sync.Map tests (src/sync/map_test.go),
// for SyncMap and ShardedMap: concurrent range sees each key once with a
// plausible value; range callbacks may call every method, nested ranges
// included; compare-and-swap on a missing key fails; clear; stored-then-
// deleted keys are reclaimed (Go issue 40999); NaN keys.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "map_types.hpp"

namespace {

template <class Cfg>
class GoSync : public ::testing::Test {};
using U64Configs = ::testing::Types<gomap_test::SyncCfg<std::uint64_t, std::uint64_t>,
                                    gomap_test::ShardedCfg<std::uint64_t, std::uint64_t, 1>,
                                    gomap_test::ShardedCfg<std::uint64_t, std::uint64_t, 16>>;
TYPED_TEST_SUITE(GoSync, U64Configs);

// Go: TestConcurrentRange. Writers keep storing multiples of each key while
// ranges run: every range sees every key exactly once, each value a
// multiple of its key.
TYPED_TEST(GoSync, ConcurrentRangeSeesEachKeyOnceWithAMultiple) {
  constexpr std::uint64_t kSize = 256;
  auto m = TypeParam::make();
  for (std::uint64_t n = 1; n <= kSize; ++n) m->store(n, n);
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  for (std::uint64_t g = 1; g <= 3; ++g) {
    writers.emplace_back([&, g] {
      std::uint64_t r = g * 0x9e3779b97f4a7c15ull;
      for (std::uint64_t i = 0; !done.load(std::memory_order_relaxed); ++i) {
        for (std::uint64_t n = 1; n <= kSize; ++n) {
          r = r * 6364136223846793005ull + 1442695040888963407ull;
          if ((r >> 33) % 16 == 0) m->store(n, n * i * g);
          else (void)m->load(n);
        }
      }
    });
  }
  // At least 24 ranges, and for at least 300 ms, so the writers really race.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  for (int iter = 0; iter < 24 || std::chrono::steady_clock::now() < until; ++iter) {
    std::set<std::uint64_t> seen;
    m->range([&](const std::uint64_t& k, const std::uint64_t& v) {
      EXPECT_EQ(v % k, 0u) << "while storing multiples of " << k << ", range saw " << v;
      EXPECT_TRUE(seen.insert(k).second) << "range visited key " << k << " twice";
      return true;
    });
    EXPECT_EQ(seen.size(), kSize);
  }
  done = true;
  for (auto& t : writers) t.join();
}

// Go: TestMapRangeNestedCall (issue 46399). Inside a range: a nested range,
// whose callback loads the offered key, load_or_stores, stores and
// load_and_deletes a key that is not otherwise in the map; then the outer
// callback erases its key. Afterwards the map is empty.
TYPED_TEST(GoSync, RangeNestedCallsEveryMethod) {
  auto m = TypeParam::make();
  for (std::uint64_t i = 0; i < 3; ++i) m->store(i, 100 + i);
  m->range([&](const std::uint64_t& key, const std::uint64_t&) {
    const std::uint64_t outer = key;
    m->range([&](const std::uint64_t& k, const std::uint64_t& v) {
      const auto loaded = m->load(k);
      EXPECT_TRUE(loaded.has_value());
      if (loaded) {
        EXPECT_EQ(*loaded, v);
      }
      EXPECT_FALSE(m->load_or_store(42, 7).second) << "key 42 was never left in the map";
      m->store(42, 8);
      const auto del = m->load_and_delete(42);
      EXPECT_TRUE(del.has_value());
      if (del) {
        EXPECT_EQ(*del, 8u);
      }
      EXPECT_FALSE(m->compare_and_swap(42, 8, 9));
      return true;
    });
    m->erase(outer);
    return true;
  });
  int length = 0;
  m->range([&](const std::uint64_t&, const std::uint64_t&) {
    ++length;
    return true;
  });
  EXPECT_EQ(length, 0);
}

// A range whose callback clears the map, and one that stops early.
TYPED_TEST(GoSync, RangeCallbackMayClearAndStop) {
  auto m = TypeParam::make();
  for (std::uint64_t i = 0; i < 100; ++i) m->store(i, i);
  std::set<std::uint64_t> seen;
  m->range([&](const std::uint64_t& k, const std::uint64_t&) {
    EXPECT_TRUE(seen.insert(k).second);
    if (seen.size() == 10) m->clear();
    return true;
  });
  EXPECT_GE(seen.size(), 10u);
  for (std::uint64_t i = 0; i < 100; ++i) EXPECT_FALSE(m->load(i).has_value());
  for (std::uint64_t i = 0; i < 5; ++i) m->store(i, i);
  int calls = 0;
  m->range([&](const std::uint64_t&, const std::uint64_t&) { return ++calls < 2; });
  EXPECT_EQ(calls, 2);
}

// Go: TestCompareAndSwap_NonExistingKey (and its CompareAndDelete twin):
// on a missing key both fail, whatever `old` is, both while the map is
// clean and while it has keys only in dirty.
TYPED_TEST(GoSync, CompareAndSwapOnMissingKeyIsFalse) {
  auto m = TypeParam::make();
  EXPECT_FALSE(m->compare_and_swap(1, 0, 42));
  EXPECT_FALSE(m->compare_and_delete(1, 0));
  EXPECT_FALSE(m->load(1).has_value());
  m->store(2, 2);  // amended: the key is only in dirty
  EXPECT_FALSE(m->compare_and_swap(1, 0, 42));
  EXPECT_FALSE(m->compare_and_delete(1, 0));
  EXPECT_FALSE(m->load(1).has_value());
  EXPECT_FALSE(m->compare_and_swap(2, 3, 4));
  EXPECT_TRUE(m->compare_and_swap(2, 2, 4));
  EXPECT_EQ(m->load(2), std::optional<std::uint64_t>(4));
  EXPECT_FALSE(m->compare_and_delete(2, 2));
  EXPECT_TRUE(m->compare_and_delete(2, 4));
  EXPECT_FALSE(m->load(2).has_value());
}

// Go 1.23: Clear. Clearing removes everything, in every state of the map
// (clean, amended, with deleted and expunged entries); the map works
// normally afterwards; clearing an empty map is a no-op.
TYPED_TEST(GoSync, ClearSemantics) {
  auto m = TypeParam::make();
  m->clear();
  for (std::uint64_t i = 0; i < 50; ++i) m->store(i, i);
  for (std::uint64_t i = 100; i < 200; ++i) (void)m->load(i);  // promote
  for (std::uint64_t i = 0; i < 50; i += 3) m->erase(i);
  m->store(1000, 1);                                           // dirty copy, expunges
  m->clear();
  for (std::uint64_t i = 0; i < 50; ++i) EXPECT_FALSE(m->load(i).has_value()) << i;
  EXPECT_FALSE(m->load(1000).has_value());
  int n = 0;
  m->range([&](const std::uint64_t&, const std::uint64_t&) { return ++n, true; });
  EXPECT_EQ(n, 0);
  m->store(3, 30);
  EXPECT_EQ(m->load(3), std::optional<std::uint64_t>(30));
  EXPECT_EQ(m->load_or_store(3, 31), std::make_pair(std::uint64_t(30), true));
  EXPECT_EQ(m->load_or_store(4, 40), std::make_pair(std::uint64_t(40), false));
  m->clear();
  m->clear();
  EXPECT_FALSE(m->load(3).has_value());
  EXPECT_FALSE(m->load(4).has_value());
}

// ---- reclamation (Go issue 40999: stored-then-deleted keys must not leak) --

std::atomic<long> g_live_keys{0};
std::atomic<long> g_live_values{0};

struct CountedKey {
  std::uint64_t v = 0;
  explicit CountedKey(std::uint64_t x = 0) : v(x) { ++g_live_keys; }
  CountedKey(const CountedKey& o) : v(o.v) { ++g_live_keys; }
  CountedKey& operator=(const CountedKey& o) = default;
  ~CountedKey() { --g_live_keys; }
  bool operator==(const CountedKey& o) const { return v == o.v; }
};
struct CountedKeyHash {
  std::uint64_t operator()(const CountedKey& k, std::uint64_t seed) const { return gomap::detail::hash_word(k.v, seed); }
};
struct CountedValue {
  std::uint64_t v = 0;
  explicit CountedValue(std::uint64_t x = 0) : v(x) { ++g_live_values; }
  CountedValue(const CountedValue& o) : v(o.v) { ++g_live_values; }
  CountedValue& operator=(const CountedValue& o) = default;
  ~CountedValue() { --g_live_values; }
  bool operator==(const CountedValue& o) const { return v == o.v; }
};

TEST(SyncMapReclaim, StoredThenDeletedKeysAreFreed) {
  {
    gomap::SyncMap<CountedKey, CountedValue, CountedKeyHash> m;
    m.store(CountedKey(0), CountedValue(0));
    for (std::uint64_t i = 1; i < 2000; ++i) {
      m.store(CountedKey(i), CountedValue(i));
      m.erase(CountedKey(i));
      // Old snapshots, dirty copies and value boxes must all be gone: only
      // key 0 (in a snapshot and maybe in dirty) and its value stay.
      ASSERT_LE(g_live_keys.load(), 4) << "at " << i;
      ASSERT_LE(g_live_values.load(), 2) << "at " << i;
    }
  }
  EXPECT_EQ(g_live_keys.load(), 0);
  EXPECT_EQ(g_live_values.load(), 0);
}

TEST(SyncMapReclaim, EverythingFreedAfterConcurrentChurn) {
  {
    gomap::SyncMap<CountedKey, CountedValue, CountedKeyHash> m;
    std::vector<std::thread> ts;
    for (int t = 0; t < 3; ++t) {
      ts.emplace_back([&, t] {
        for (std::uint64_t i = 0; i < 3000; ++i) {
          const CountedKey k((i * 7 + t) % 40);
          switch ((i + t) % 6) {
            case 0: m.store(k, CountedValue(i)); break;
            case 1: (void)m.load(k); break;
            case 2: (void)m.swap(k, CountedValue(i)); break;
            case 3: (void)m.load_and_delete(k); break;
            case 4: m.range([&](const CountedKey&, const CountedValue&) { return i % 5 != 0; }); break;
            default: if (i % 97 == 0) m.clear(); else (void)m.load_or_store(k, CountedValue(i)); break;
          }
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  EXPECT_EQ(g_live_keys.load(), 0);
  EXPECT_EQ(g_live_values.load(), 0);
}

// NaN keys, as in Go's maps: every store adds an entry no load finds; range
// yields each of them.
TEST(ConcurrentMapsNaN, NaNKeysAreStoredButNeverFound) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  gomap::SyncMap<double, int> s;
  gomap::ShardedMap<double, int> sh(4);
  for (int i = 0; i < 3; ++i) {
    s.store(nan, i);
    sh.store(nan, i);
  }
  EXPECT_FALSE(s.load(nan).has_value());
  EXPECT_FALSE(sh.load(nan).has_value());
  int ns = 0, nsh = 0;
  s.range([&](const double& k, const int&) { return ns += std::isnan(k), true; });
  sh.range([&](const double& k, const int&) { return nsh += std::isnan(k), true; });
  EXPECT_EQ(ns, 3);
  EXPECT_EQ(nsh, 3);
  EXPECT_EQ(sh.size(), 3u);
  s.clear();
  sh.clear();
  EXPECT_EQ(sh.size(), 0u);
}

}  // namespace
