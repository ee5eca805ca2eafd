// api_test.cpp — the public API of gomap::Map, exactly as documented in
// gomap/map.hpp: constructors, lookup, assignment, erase, size, every
// way to iterate, stats(), compact(), hash functors and the error type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gomap/hash.hpp"
#include "gomap/map.hpp"
#include "support/map_test_access.hpp"
#include "support/counting.hpp"
#include "support/map_helpers.hpp"

namespace {

using gomap::Map;
using gomap::Seed;
using A = gomap::MapTestAccess;
using IntMap = Map<int, int>;

static_assert(std::is_base_of_v<std::logic_error, gomap::InvariantError>);
static_assert(std::is_same_v<IntMap::key_type, int>);
static_assert(std::is_same_v<IntMap::mapped_type, int>);
static_assert(std::is_same_v<IntMap::size_type, std::size_t>);
static_assert(std::is_same_v<IntMap::iterator, IntMap::Iterator>);
static_assert(std::is_same_v<IntMap::const_iterator, IntMap::ConstIterator>);
static_assert(std::is_same_v<decltype(std::declval<IntMap&>().find(1)), int*>);
static_assert(std::is_same_v<decltype(std::declval<const IntMap&>().find(1)), const int*>);
static_assert(std::is_same_v<decltype(std::declval<IntMap&>()[1]), int&>);
static_assert(std::is_same_v<decltype(std::declval<IntMap&>().erase(1)), bool>);
static_assert(std::is_same_v<decltype(std::declval<const IntMap&>().begin()), IntMap::ConstIterator>);
static_assert(std::is_nothrow_move_constructible_v<IntMap>);
static_assert(std::is_nothrow_move_assignable_v<IntMap>);
static_assert(std::is_copy_constructible_v<IntMap> && std::is_copy_assignable_v<IntMap>);

// ---------------------------------------------------------------------------
// construction
// ---------------------------------------------------------------------------

TEST(Api, DefaultConstructedMapIsEmptyAndUsable) {
  IntMap m;
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(m.find(1), nullptr);
  EXPECT_FALSE(m.contains(1));
  EXPECT_FALSE(m.erase(1));
  EXPECT_TRUE(m.begin().done());
  EXPECT_TRUE(m.begin() == m.end());
  m.clear();
  m.compact();
  EXPECT_EQ(m.stats().B, 0u);
  m.check_invariants();
  m.insert_or_assign(1, 2);
  EXPECT_EQ(*m.find(1), 2);
}

TEST(Api, HintSizesBucketArrayLikeGoMakemap) {
  for (std::size_t hint : {0, 1, 8, 9, 13, 14, 26, 27, 52, 53, 100, 1000, 6656, 6657}) {
    IntMap a(hint);
    IntMap b(hint, Seed{1});
    EXPECT_EQ(a.stats().B, gomap_test::go_b_for_count(hint)) << "hint " << hint;
    EXPECT_EQ(b.stats().B, gomap_test::go_b_for_count(hint)) << "hint " << hint;
    EXPECT_TRUE(a.empty());
    // Filling up to the hint does not grow.
    for (int i = 0; i < static_cast<int>(hint); ++i) b.insert_or_assign(i, i);
    EXPECT_EQ(b.stats().B, gomap_test::go_b_for_count(hint)) << "hint " << hint;
    b.check_invariants();
  }
}

TEST(Api, AbsurdHintIsIgnoredNotFatal) {
  for (std::size_t hint : {std::numeric_limits<std::size_t>::max(), std::size_t(1) << 62, std::size_t(1) << 50}) {
    Map<std::uint64_t, std::uint64_t> m(hint, Seed{2});
    EXPECT_TRUE(m.empty());
    EXPECT_LT(m.stats().B, 40u) << "hint " << hint;
    m.insert_or_assign(1, 1);
    EXPECT_EQ(*m.find(1), 1u);
    m.check_invariants();
  }
}

TEST(Api, GrowthFollowsGoLoadFactor) {
  Map<std::uint64_t, std::uint64_t> m(0, Seed{3});
  for (std::uint64_t n = 1; n <= 5000; ++n) {
    m.insert_or_assign(n * 0x9e3779b97f4a7c15ull, n);
    ASSERT_EQ(m.stats().B, gomap_test::go_b_for_count(n)) << "after " << n << " inserts";
  }
}

TEST(Api, SameSeedSameOperationsSameIterationOrder) {
  auto build = [](std::uint64_t seed) {
    Map<std::string, int> m(0, Seed{seed});
    for (int i = 0; i < 300; ++i) m.insert_or_assign("k" + std::to_string(i), i);
    for (int i = 0; i < 300; i += 3) m.erase("k" + std::to_string(i));
    std::vector<std::string> order;
    for (auto&& [k, v] : m) order.push_back(k);
    for (auto&& [k, v] : m) order.push_back(k);  // the second loop draws a new start
    return order;
  };
  EXPECT_EQ(build(77), build(77));
  std::set<std::vector<std::string>> distinct;
  for (std::uint64_t s = 1; s <= 8; ++s) distinct.insert(build(s));
  EXPECT_GT(distinct.size(), 1u) << "different seeds should give different orders";
}

TEST(Api, SeedIsRerandomisedWhenMapEmptiesOrIsCleared) {
  Map<int, int> m(0, Seed{4});
  m.insert_or_assign(1, 1);
  const std::uint64_t s0 = A::hash_seed(m);
  m.insert_or_assign(2, 2);
  m.erase(2);
  EXPECT_EQ(A::hash_seed(m), s0) << "erase that leaves entries keeps the seed";
  m.erase(1);
  const std::uint64_t s1 = A::hash_seed(m);
  EXPECT_NE(s1, s0) << "Go issue 25237: a map that empties gets a fresh seed";
  m.insert_or_assign(3, 3);
  m.clear();
  EXPECT_NE(A::hash_seed(m), s1) << "clear() re-randomises the seed";
}

// ---------------------------------------------------------------------------
// lookup, assignment, erase, size
// ---------------------------------------------------------------------------

TEST(Api, FindOnConstMap) {
  IntMap m(0, Seed{5});
  m.insert_or_assign(1, 10);
  const IntMap& cm = m;
  const int* p = cm.find(1);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 10);
  EXPECT_EQ(cm.find(2), nullptr);
  EXPECT_TRUE(cm.contains(1));
  EXPECT_FALSE(cm.contains(2));
  EXPECT_EQ(cm.size(), 1u);
  EXPECT_FALSE(cm.empty());
  // The non-const find gives a writable pointer to the stored value.
  *m.find(1) = 11;
  EXPECT_EQ(*cm.find(1), 11);
}

struct Aggregate {
  int a;
  double b;
  std::string s;
};

TEST(Api, SubscriptValueInitialises) {
  IntMap m(0, Seed{6});
  EXPECT_EQ(m[5], 0);
  EXPECT_EQ(m.size(), 1u);
  m[5] += 3;
  m[5] += 4;
  EXPECT_EQ(*m.find(5), 7);
  Map<int, std::string> ms(0, Seed{7});
  EXPECT_EQ(ms[1], "");
  ms[1] += "ab";
  EXPECT_EQ(*ms.find(1), "ab");
  Map<int, Aggregate> ma(0, Seed{8});
  const Aggregate& agg = ma[1];
  EXPECT_EQ(agg.a, 0);
  EXPECT_EQ(agg.b, 0.0);
  EXPECT_EQ(agg.s, "");
  Map<int, double> md(0, Seed{9});
  EXPECT_EQ(md[1], 0.0);
  // operator[] on an existing key returns the stored value, not a fresh one.
  m[6] = 42;
  EXPECT_EQ(m[6], 42);
  EXPECT_EQ(m.size(), 2u);
}

TEST(Api, InsertOrAssignOverwrites) {
  Map<std::string, std::string> m(0, Seed{10});
  m.insert_or_assign("k", "v1");
  m.insert_or_assign("k", "v2");
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.find("k"), "v2");
  m.check_invariants();
}

TEST(Api, FloatKeyAssignmentOverwritesStoredKey) {
  // "Keys" in gomap/map.hpp: writing -0.0 over +0.0 keeps one entry whose key is now -0.0.
  Map<double, int> m(0, Seed{11});
  m.insert_or_assign(0.0, 1);
  m.insert_or_assign(-0.0, 2);
  ASSERT_EQ(m.size(), 1u);
  for (auto&& [k, v] : m) {
    EXPECT_TRUE(std::signbit(k));
    EXPECT_EQ(v, 2);
  }
  m[0.0] += 1;
  for (auto&& [k, v] : m) {
    EXPECT_FALSE(std::signbit(k));
    EXPECT_EQ(v, 3);
  }
}

TEST(Api, EraseReturnsWhetherSomethingWasErased) {
  IntMap m(0, Seed{12});
  for (int i = 0; i < 50; ++i) m.insert_or_assign(i, i);
  EXPECT_TRUE(m.erase(10));
  EXPECT_FALSE(m.erase(10));
  EXPECT_FALSE(m.erase(1000));
  EXPECT_EQ(m.size(), 49u);
  EXPECT_FALSE(m.contains(10));
  for (int i = 0; i < 50; ++i) m.erase(i);
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.size(), 0u);
  m.check_invariants();
}

TEST(Api, NaNKeysAreNeverFoundButCountedIteratedAndCleared) {
  Map<double, int> m(0, Seed{13});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  m.insert_or_assign(nan, 1);
  m.insert_or_assign(nan, 2);
  m[nan] += 3;
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.find(nan), nullptr);
  EXPECT_FALSE(m.contains(nan));
  EXPECT_FALSE(m.erase(nan));
  std::multiset<int> values;
  for (auto&& [k, v] : m) {
    EXPECT_TRUE(std::isnan(k));
    values.insert(v);
  }
  EXPECT_EQ(values, (std::multiset<int>{1, 2, 3}));
  m.check_invariants();
  m.clear();
  EXPECT_TRUE(m.empty());
}

// ---------------------------------------------------------------------------
// iteration
// ---------------------------------------------------------------------------

IntMap squares(int n, std::uint64_t seed = 14) {
  IntMap m(0, Seed{seed});
  for (int i = 0; i < n; ++i) m.insert_or_assign(i, i * i);
  return m;
}

TEST(Api, RangeForWithStructuredBindings) {
  IntMap m = squares(100);
  std::set<int> keys;
  for (auto&& [k, v] : m) {
    static_assert(std::is_same_v<decltype(k), const int&>);
    static_assert(std::is_same_v<decltype(v), int&>);
    EXPECT_EQ(v, k * k);
    v += 1;  // values are writable through a non-const loop
    EXPECT_TRUE(keys.insert(k).second);
  }
  EXPECT_EQ(keys.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*m.find(i), i * i + 1);
}

TEST(Api, RangeForOverConstMap) {
  const IntMap m = squares(100);
  std::set<int> keys;
  for (auto&& [k, v] : std::as_const(m)) {
    static_assert(std::is_same_v<decltype(k), const int&>);
    static_assert(std::is_same_v<decltype(v), const int&>);
    EXPECT_EQ(v, k * k);
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), 100u);
  std::size_t n = 0;
  for (auto it = m.cbegin(); it != m.cend(); ++it) ++n;
  EXPECT_EQ(n, 100u);
}

TEST(Api, ExplicitIteratorApi) {
  IntMap m = squares(30);
  IntMap::iterator none;
  EXPECT_TRUE(none.done());
  EXPECT_FALSE(static_cast<bool>(none));
  EXPECT_TRUE(none == m.end());
  std::set<int> keys;
  for (IntMap::iterator it = m.begin(); it != m.end(); ++it) {
    EXPECT_FALSE(it.done());
    EXPECT_TRUE(static_cast<bool>(it));
    EXPECT_EQ(it.value(), it.key() * it.key());
    auto [k, v] = *it;
    EXPECT_EQ(&k, &it.key());
    EXPECT_EQ(&v, &it.value());
    it.value() = -it.key();
    keys.insert(it.key());
  }
  EXPECT_EQ(keys.size(), 30u);
  EXPECT_EQ(*m.find(7), -7);
  // while-style loop
  auto it = m.begin();
  std::size_t n = 0;
  while (it) {
    ++n;
    ++it;
  }
  EXPECT_EQ(n, 30u);
  EXPECT_TRUE(it.done());
  ++it;  // advancing a finished iterator stays finished
  EXPECT_TRUE(it.done());
}

TEST(Api, RangeViewAndCallback) {
  IntMap m = squares(40);
  std::set<int> keys;
  for (auto&& [k, v] : m.range()) {
    EXPECT_EQ(v, k * k);
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), 40u);

  int calls = 0;
  m.range([&](const int& k, int& v) {
    EXPECT_EQ(v, k * k);
    ++calls;
  });
  EXPECT_EQ(calls, 40);

  calls = 0;
  m.range([&](const int&, int&) { return ++calls < 5; });  // stops when fn returns false
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(m.stats().live_iterators, 0u);

  calls = 0;
  m.range([&](const int& k, int& v) {
    v = k;  // writable
    ++calls;
    return true;
  });
  EXPECT_EQ(calls, 40);
  EXPECT_EQ(*m.find(9), 9);
}

TEST(Api, IteratorCopiesAndMovesAreIndependent) {
  IntMap m = squares(50);
  auto a = m.begin();
  auto b = a;  // copy: same position
  EXPECT_EQ(&a.key(), &b.key());
  EXPECT_EQ(m.stats().live_iterators, 2u);
  std::vector<int> rest_a, rest_b;
  for (; a != m.end(); ++a) rest_a.push_back(a.key());
  EXPECT_EQ(m.stats().live_iterators, 1u);
  for (; b != m.end(); ++b) rest_b.push_back(b.key());
  EXPECT_EQ(rest_a, rest_b);
  EXPECT_EQ(rest_a.size(), 50u);
  EXPECT_EQ(m.stats().live_iterators, 0u);

  auto c = m.begin();
  auto d = std::move(c);
  EXPECT_TRUE(c.done());  // NOLINT(bugprone-use-after-move): moved-from iterator is finished
  EXPECT_FALSE(d.done());
  EXPECT_EQ(m.stats().live_iterators, 1u);
  c = d;
  EXPECT_EQ(m.stats().live_iterators, 2u);
  d = IntMap::iterator();
  EXPECT_EQ(m.stats().live_iterators, 1u);
}

// Moving a map while one of its iterators is live must not corrupt either
// map's live-iterator count: once the iterator is gone, neither map has live
// iterators, and compact() (a no-op while iterators are live) works again.
TEST(Api, MovingAMapWithALiveIteratorKeepsIteratorCountsRight) {
  IntMap a = squares(1000, 30);
  IntMap b(0, Seed{31});
  {
    auto it = a.begin();
    ASSERT_FALSE(it.done());
    b = std::move(a);
  }
  EXPECT_EQ(a.stats().live_iterators, 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.stats().live_iterators, 0u);
  for (int i = 10; i < 1000; ++i) b.erase(i);
  b.compact();
  EXPECT_EQ(b.stats().B, gomap_test::go_b_for_count(10)) << "compact() stays disabled by a phantom live iterator";
  IntMap c(std::move(b));
  {
    auto it = c.begin();
    IntMap d(std::move(c));
  }
  EXPECT_EQ(c.stats().live_iterators, 0u);  // NOLINT(bugprone-use-after-move)
}

TEST(Api, EmptyMapStaysEmptyForAnIteratorEvenIfFilledDuringTheLoop) {
  IntMap m(0, Seed{15});
  auto it = m.begin();
  m.insert_or_assign(1, 1);
  EXPECT_TRUE(it.done());
}

// ---------------------------------------------------------------------------
// stats
// ---------------------------------------------------------------------------

TEST(Api, StatsAreConsistent) {
  Map<std::uint64_t, std::uint64_t> m(0, Seed{16});
  gomap::Stats s = m.stats();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.B, 0u);
  EXPECT_EQ(s.buckets, 1u);
  EXPECT_FALSE(s.growing);
  EXPECT_EQ(s.live_iterators, 0u);
  EXPECT_GT(s.bytes, 0u);
  std::size_t last_bytes = s.bytes;
  bool saw_growing = false;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    m.insert_or_assign(i, i);
    s = m.stats();
    ASSERT_EQ(s.count, m.size());
    ASSERT_EQ(s.buckets, std::size_t(1) << s.B);
    ASSERT_GE(s.bytes, s.buckets * 8 * 2 * sizeof(std::uint64_t)) << "at least the slots";
    if (!s.growing) {
      // (While growing the old array is held too; it is freed at the end.)
      ASSERT_GE(s.bytes, last_bytes) << "bytes must not shrink while inserting";
      last_bytes = s.bytes;
    }
    if (s.growing) {
      saw_growing = true;
      ASSERT_FALSE(s.same_size_grow);
      ASSERT_LT(s.nevacuate, s.buckets / 2) << "nevacuate counts old buckets";
    }
  }
  EXPECT_TRUE(saw_growing);
  IntMap small = squares(10);
  EXPECT_LT(small.stats().bytes, s.bytes);
}

TEST(Api, StatsDuringGrowth) {
  Map<std::uint64_t, std::uint64_t> m(0, Seed{17});
  std::uint64_t i = 0;
  while (!m.stats().growing) m.insert_or_assign(i++, 0);
  const gomap::Stats s = m.stats();
  EXPECT_TRUE(s.growing);
  EXPECT_GT(s.B, 0u);
  std::size_t prev = s.nevacuate;
  // Each write advances the evacuation until the growth is done.
  while (m.stats().growing) {
    m.insert_or_assign(0, 1);
    if (m.stats().growing) {
      EXPECT_GE(m.stats().nevacuate, prev);
      prev = m.stats().nevacuate;
    }
  }
  EXPECT_EQ(m.stats().B, s.B);
}

TEST(Api, StatsCountLiveIterators) {
  IntMap m = squares(100);
  EXPECT_EQ(m.stats().live_iterators, 0u);
  {
    auto a = m.begin();
    EXPECT_EQ(m.stats().live_iterators, 1u);
    auto b = std::as_const(m).begin();
    EXPECT_EQ(m.stats().live_iterators, 2u);
    std::size_t inner = 0;
    for (auto&& [k, v] : m) {
      (void)k;
      (void)v;
      if (inner++ == 0) {
        EXPECT_EQ(m.stats().live_iterators, 3u);
      }
    }
    EXPECT_EQ(m.stats().live_iterators, 2u) << "a loop that ran to the end holds nothing";
    for (auto&& [k, v] : m) {
      (void)k;
      (void)v;
      break;
    }
    EXPECT_EQ(m.stats().live_iterators, 2u) << "a loop left by break releases its iterator";
    while (!a.done()) ++a;
    EXPECT_EQ(m.stats().live_iterators, 1u) << "a finished iterator is no longer live";
  }
  EXPECT_EQ(m.stats().live_iterators, 0u);
}

TEST(Api, StatsClearSeqAndOverflow) {
  Map<std::uint64_t, std::uint64_t, gomap_test::ConstantHash<std::uint64_t>> m(0, Seed{18});
  EXPECT_EQ(m.stats().clear_seq, 0u);
  m.clear();
  EXPECT_EQ(m.stats().clear_seq, 0u) << "clearing an empty map removes nothing";
  for (std::uint64_t i = 0; i < 40; ++i) m.insert_or_assign(i, i);
  EXPECT_GT(m.stats().overflow_buckets, 0u) << "one long chain";
  EXPECT_EQ(m.stats().overflow_buckets, A::chain_length(m, 0) - 1 + (m.stats().growing ? A::chain_length(m, 0, true) - 1 : 0));
  const unsigned B = m.stats().B;
  m.clear();
  EXPECT_EQ(m.stats().clear_seq, 1u);
  EXPECT_EQ(m.stats().overflow_buckets, 0u) << "clear frees overflow buckets";
  EXPECT_EQ(m.stats().B, B) << "clear keeps B";
}

TEST(Api, FilterInSparesLeavesTheSparesItDisplaced) {
  // "Where it lives" at Table::filter: at B = 8 the filter takes 4 of Go's 16
  // spare overflow buckets. One chain that needs 20 overflow buckets uses the
  // 12 spares left and then allocates; neither may write over the filter, nor
  // the filter over them.
  using Big = Map<std::uint64_t, std::uint64_t, gomap_test::ConstantHash<std::uint64_t>>;
  Big m(1500, Seed{40});
  ASSERT_EQ(m.stats().B, 8u);
  constexpr std::size_t kBucket = 8 + 8 * 8 + 8 * 8 + 8;  // tophash, keys, values, overflow pointer
  EXPECT_LT(m.stats().bytes, sizeof(Big) + (256 + 16) * kBucket + 256 * sizeof(std::uint16_t))
      << "the filter shares the spares' allocation";
  constexpr std::uint64_t kKeys = 8 * 21;
  for (std::uint64_t i = 0; i < kKeys; ++i) m.insert_or_assign(i, i + 1);
  const gomap::Stats s = m.stats();
  ASSERT_FALSE(s.growing);
  ASSERT_EQ(s.B, 8u);
  EXPECT_EQ(A::chain_length(m, 0), 21u);
  EXPECT_EQ(s.overflow_buckets, 20u);
  for (std::size_t b = 1; b < 256; ++b) ASSERT_EQ(A::filter(m, b), 0u) << "bucket " << b << " holds nothing";
  for (std::uint64_t i = 0; i < kKeys; ++i) ASSERT_EQ(*m.find(i), i + 1);
  m.check_invariants();
  for (std::uint64_t i = 0; i < kKeys; i += 2) m.erase(i);
  m.clear();
  EXPECT_EQ(A::filter(m, 0), 0u) << "clear empties the filter with the spares";
  m.check_invariants();
}

// ---------------------------------------------------------------------------
// compact
// ---------------------------------------------------------------------------

TEST(Api, CompactShrinksToSmallestFittingB) {
  for (std::size_t keep : {0, 1, 8, 9, 13, 14, 100, 700}) {
    Map<std::uint64_t, std::uint64_t> m(0, Seed{19});
    for (std::uint64_t i = 0; i < 5000; ++i) m.insert_or_assign(i, i * 3);
    for (std::uint64_t i = keep; i < 5000; ++i) m.erase(i);
    const std::size_t before = m.stats().bytes;
    m.compact();
    const gomap::Stats s = m.stats();
    EXPECT_EQ(s.B, gomap_test::go_b_for_count(keep)) << "keep " << keep;
    EXPECT_FALSE(s.growing);
    EXPECT_LT(s.bytes, before);
    ASSERT_EQ(m.size(), keep);
    for (std::uint64_t i = 0; i < keep; ++i) ASSERT_EQ(*m.find(i), i * 3);
    m.check_invariants();
    m.insert_or_assign(99999, 1);  // still a working map
    m.check_invariants();
  }
}

TEST(Api, CompactIsNoOpWhileIteratorIsLive) {
  Map<std::uint64_t, std::uint64_t> m(0, Seed{20});
  for (std::uint64_t i = 0; i < 2000; ++i) m.insert_or_assign(i, i);
  for (std::uint64_t i = 10; i < 2000; ++i) m.erase(i);
  const unsigned B = m.stats().B;
  std::set<std::uint64_t> seen;
  for (auto&& [k, v] : m) {
    m.compact();  // documented: does nothing while an iterator is live
    EXPECT_EQ(m.stats().B, B);
    seen.insert(k);
    EXPECT_EQ(v, k);
  }
  EXPECT_EQ(seen.size(), 10u);
  {
    auto it = m.begin();
    m.compact();
    EXPECT_EQ(m.stats().B, B);
  }
  m.compact();
  EXPECT_EQ(m.stats().B, gomap_test::go_b_for_count(10));
  m.check_invariants();
}

// ---------------------------------------------------------------------------
// hash functors
// ---------------------------------------------------------------------------

struct KeyOnlyHash {  // std::hash style: no seed
  std::size_t operator()(const int& k) const { return static_cast<std::size_t>(k) * 31u; }
};

TEST(Api, KeyOnlyHashFunctorWorks) {
  Map<int, int, KeyOnlyHash> m(0, Seed{21});
  for (int i = 0; i < 2000; ++i) m.insert_or_assign(i, -i);
  for (int i = 0; i < 2000; i += 2) m.erase(i);
  m.check_invariants();
  EXPECT_EQ(m.size(), 1000u);
  for (int i = 1; i < 2000; i += 2) ASSERT_EQ(*m.find(i), -i);
  Map<std::string, int, std::hash<std::string>> ms(0, Seed{22});
  for (int i = 0; i < 500; ++i) ms["s" + std::to_string(i)] = i;
  ms.check_invariants();
  EXPECT_EQ(*ms.find("s250"), 250);
  // The map mixes the per-map seed in: two seeds place keys differently.
  Map<int, int, KeyOnlyHash> a(0, Seed{1}), b(0, Seed{2});
  EXPECT_NE(A::hash_of(a, 5), A::hash_of(b, 5));
}

template <class K>
void expect_good_seeded_hash(const std::vector<K>& keys) {
  gomap::Hash<K> h;
  std::unordered_set<std::uint64_t> hashes;
  for (const K& k : keys) {
    EXPECT_EQ(h(k, 1), h(k, 1)) << "deterministic";
    hashes.insert(h(k, 1));
  }
  EXPECT_EQ(hashes.size(), keys.size()) << "distinct keys, distinct 64-bit hashes";
  std::size_t differs = 0;
  std::set<std::uint8_t> tops;
  std::set<std::uint64_t> lows;
  for (const K& k : keys) {
    differs += h(k, 1) != h(k, 2);
    tops.insert(static_cast<std::uint8_t>(h(k, 1) >> 56));
    lows.insert(h(k, 1) & 63);
  }
  EXPECT_EQ(differs, keys.size()) << "the seed changes every hash";
  EXPECT_GT(tops.size(), 100u) << "top byte (tophash) is well spread";
  EXPECT_EQ(lows.size(), 64u) << "low bits (bucket index) are well spread";
}

TEST(Api, GomapHashForBuiltinKeyTypes) {
  std::vector<int> ints;
  std::vector<std::uint64_t> u64s;
  std::vector<std::string> strings;
  std::vector<double> doubles;
  std::vector<float> floats;
  for (int i = 0; i < 1000; ++i) {
    ints.push_back(i - 500);
    u64s.push_back(static_cast<std::uint64_t>(i) << 40);
    strings.push_back("key" + std::to_string(i));
    doubles.push_back(i * 0.25 - 100);
    floats.push_back(static_cast<float>(i) * 0.5f + 0.25f);
  }
  expect_good_seeded_hash(ints);
  expect_good_seeded_hash(u64s);
  expect_good_seeded_hash(strings);
  expect_good_seeded_hash(doubles);
  expect_good_seeded_hash(floats);
  std::vector<std::string_view> views(strings.begin(), strings.end());
  expect_good_seeded_hash(views);

  // +0.0 and -0.0 are one key, so they hash alike.
  EXPECT_EQ(gomap::Hash<double>{}(0.0, 9), gomap::Hash<double>{}(-0.0, 9));
  EXPECT_EQ(gomap::Hash<float>{}(0.0f, 9), gomap::Hash<float>{}(-0.0f, 9));
  // Go's == on floats: NaN != NaN.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_FALSE(gomap::Equal<double>{}(nan, nan));
  EXPECT_TRUE(gomap::Equal<double>{}(0.0, -0.0));
  static_assert(!gomap::KeyTraits<double>::reflexive && gomap::KeyTraits<double>::needs_key_update);
  static_assert(gomap::KeyTraits<int>::reflexive && !gomap::KeyTraits<int>::needs_key_update);
}

TEST(Api, MapsOverEveryBuiltinKeyType) {
  Map<std::string_view, int> sv(0, Seed{23});
  const std::string backing[] = {"alpha", "beta", "gamma"};
  for (int i = 0; i < 3; ++i) sv.insert_or_assign(backing[i], i);
  EXPECT_EQ(*sv.find("beta"), 1);
  Map<float, int> f(0, Seed{24});
  f.insert_or_assign(0.0f, 1);
  f.insert_or_assign(-0.0f, 2);
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(*f.find(0.0f), 2);
  f.insert_or_assign(std::numeric_limits<float>::quiet_NaN(), 3);
  EXPECT_EQ(f.size(), 2u);
  Map<std::uint64_t, int> u(0, Seed{25});
  u.insert_or_assign(std::numeric_limits<std::uint64_t>::max(), 1);
  EXPECT_TRUE(u.contains(std::numeric_limits<std::uint64_t>::max()));
  sv.check_invariants();
  f.check_invariants();
  u.check_invariants();
}

TEST(Api, CheckInvariantsThrowsInvariantErrorAsLogicError) {
  IntMap m = squares(20);
  A::set_count(m, 21);
  EXPECT_THROW(m.check_invariants(), gomap::InvariantError);
  EXPECT_THROW(m.check_invariants(), std::logic_error);
  A::set_count(m, 20);
  EXPECT_NO_THROW(m.check_invariants());
}

}  // namespace
