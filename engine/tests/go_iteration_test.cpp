// Go's range-loop guarantees, ported from the intent of Go's map tests (the
// code and comments are ours). A loop body may write to the map it ranges
// over; the iterator must then still yield each live entry at most once,
// never yield an entry erased before it was reached, and yield current values.
//
//   GrowWithNaN               runtime TestGrowWithNaN
//   GrowWithNegativeZero      runtime TestGrowWithNegativeZero
//   IterGrowAndDelete         runtime TestIterGrowAndDelete
//   MapNanGrowIterator        runtime TestMapNanGrowIterator
//   MapIterOrder, MapSparseIterOrder   runtime TestMapIterOrder / TestMapSparseIterOrder
//   SameSeedSameOrder         gomap's determinism contract ("Determinism" in gomap/map.hpp)
//   MapIterDuplicate          Go 1.24 TestMapIterDuplicate
//   MapIterDeleteReplace      Go 1.24 TestMapIterDeleteReplace
//   ClearDuringRange*         test/fixedbugs/issue59411.go, issue70189.go
//   DeleteAllInRange          test/mapclear.go
//
// Keys and values yielded by the loop refer into the map and are valid only
// until the next write, so every body that writes copies them first.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "go_test_support.hpp"

namespace gomap_go_tests_iteration {

// A struct key with a float field, like Go's FloatInt in TestGrowWithNegativeZero:
// (+0, n) and (-0, n) are the same key, and NaN fields make it non-reflexive.
struct FloatInt {
  double x;
  int y;
  friend bool operator==(const FloatInt& a, const FloatInt& b) { return a.x == b.x && a.y == b.y; }
};
struct FloatIntHash {
  std::uint64_t operator()(const FloatInt& k, std::uint64_t seed) const noexcept {
    const double x = k.x == 0.0 ? 0.0 : k.x;  // both zeros hash alike
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(x) ^
                               (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.y)) * 0x9e3779b97f4a7c15ull);
    return gomap::Hash<std::uint64_t>{}(bits, seed);
  }
};

}  // namespace gomap_go_tests_iteration

// No KeyTraits specialisation: the defaults must derive what Go derives for
// such a struct (not reflexive: a NaN field makes k != k; needs a key update:
// -0 over +0 rewrites the key).
static_assert(!gomap::KeyTraits<gomap_go_tests_iteration::FloatInt>::reflexive);
static_assert(gomap::KeyTraits<gomap_go_tests_iteration::FloatInt>::needs_key_update);

namespace gomap_go_tests_iteration {
namespace {

using namespace gomap_go_tests;

// ---------------------------------------------------------------------------

TEST(GoIteration, GrowWithNaN) {
  const double nan = quiet_nan();
  gomap::Map<double, int> m(4, gomap::Seed{101});
  m.insert_or_assign(nan, 1);
  m.insert_or_assign(nan, 2);
  m[nan] += 4;
  ASSERT_EQ(m.size(), 3u);
  const unsigned B0 = m.stats().B;

  int nan_yields = 0, nan_bits = 0, other_yields = 0;
  bool first = true;
  std::set<double> others;
  for (auto&& [k, v] : m) {
    const double key = k;
    const int value = v;
    if (first) {
      first = false;
      // Grow the table several times over from inside the loop, with both
      // plain assignment and m[k] op= x.
      for (int i = 0; i < 50; ++i) m.insert_or_assign(double(i), i);
      for (int i = 50; i < 100; ++i) m[double(i)] += i;
      EXPECT_GT(m.stats().B, B0) << "the body was meant to grow the map";
    }
    if (std::isnan(key)) {
      ++nan_yields;
      nan_bits |= value;
    } else {
      ++other_yields;
      EXPECT_TRUE(others.insert(key).second) << "key " << key << " yielded twice";
      EXPECT_EQ(value, int(key));
    }
  }
  EXPECT_EQ(nan_yields, 3) << "NaN entries lost or repeated across the growth";
  EXPECT_EQ(nan_bits, 7) << "NaN values lost across the growth";
  EXPECT_LE(other_yields, 100);
  EXPECT_EQ(m.size(), 103u);
  for (int i = 0; i < 100; ++i) {
    ASSERT_NE(m.find(double(i)), nullptr) << i;
    EXPECT_EQ(*m.find(double(i)), i);
  }
  m.check_invariants();
}

TEST(GoIteration, GrowWithNegativeZero) {
  using M = gomap::Map<FloatInt, int, FloatIntHash>;
  const double nz = negative_zero();
  M m(4, gomap::Seed{102});
  m.insert_or_assign({0.0, 0}, 1);
  m[{0.0, 1}] += 2;
  m[{0.0, 2}] += 4;
  m.insert_or_assign({0.0, 3}, 8);
  ASSERT_EQ(m.size(), 4u);

  bool first = true;
  int bits = 0, counted = 0, negative = 0;
  for (auto&& [k, v] : m) {
    const FloatInt key = k;
    const int value = v;
    if (value == 0) continue;  // the filler entries added below
    ++counted;
    if (std::signbit(key.x)) {
      // Rewritten during the loop: the key and its value change together.
      EXPECT_EQ(value & 16, 16) << "yielded the new -0 key with the old value, y=" << key.y;
      ++negative;
      bits |= value & 15;
    } else {
      EXPECT_EQ(value & 16, 0) << "yielded the old +0 key with the new value, y=" << key.y;
      bits |= value;
    }
    if (first) {
      first = false;
      for (int i = 0; i < 100; ++i) m.insert_or_assign({3.0, i}, 0);  // grows the map
      for (int i = 0; i < 4; ++i) m.insert_or_assign({nz, i}, (1 << i) | 16);
      EXPECT_EQ(m.size(), 104u) << "-0 must overwrite the +0 keys, not add new ones";
    }
  }
  EXPECT_EQ(bits, 15) << "an original entry was not yielded";
  EXPECT_EQ(counted, 4) << "wrong number of original entries yielded";
  EXPECT_EQ(negative, 3) << "entries reached after the rewrite must be yielded with the -0 key";
  int negative_after = 0;
  for (auto&& [k, v] : m) {
    if (v != 0) {
      ++negative_after;
      EXPECT_TRUE(std::signbit(k.x));
    }
  }
  EXPECT_EQ(negative_after, 4);
  m.check_invariants();
}

TEST(GoIteration, IterGrowAndDelete) {
  gomap::Map<int, int> m(4, gomap::Seed{103});
  for (int i = 0; i < 100; ++i) m.insert_or_assign(i, i);
  bool first = true;
  int first_key = -1;
  std::map<int, int> yields;
  for (auto&& [k, v] : m) {
    const int key = k;
    EXPECT_EQ(v, key);
    ++yields[key];
    if (first) {
      first = false;
      first_key = key;
      for (int i = 100; i < 1000; ++i) m.insert_or_assign(i, i);  // grow
      for (int i = 1; i < 1000; i += 2) m.erase(i);               // then delete the odd keys
      EXPECT_EQ(m.size(), 500u);
    } else {
      EXPECT_EQ(key & 1, 0) << "odd key " << key << " yielded after it was erased";
    }
  }
  // Every even key present at the start and never erased is yielded exactly once.
  for (int i = 0; i < 100; i += 2) EXPECT_EQ(yields[i], 1) << "key " << i;
  for (auto [k, n] : yields) EXPECT_EQ(n, 1) << "key " << k << " yielded " << n << " times";
  EXPECT_NE(first_key, -1);
  m.check_invariants();
}

TEST(GoIteration, MapNanGrowIterator) {
  const double nan = quiet_nan();
  gomap::Map<double, int> m(0, gomap::Seed{104});
  const int n_buckets = 16;
  const int n_keys = n_buckets * 13 / 2;  // fills 16 buckets to the load factor
  for (int i = 0; i < n_keys; ++i) m.insert_or_assign(nan, i);
  ASSERT_EQ(m.stats().buckets, std::size_t(n_buckets));
  ASSERT_FALSE(m.stats().growing);
  // One more key starts a growth; erasing it leaves the growth unfinished.
  m.insert_or_assign(1.0, 1);
  m.erase(1.0);
  ASSERT_TRUE(m.stats().growing) << "the test needs a growth in progress when the loop starts";

  std::vector<int> seen(n_keys, 0);
  int distinct = 0;
  bool finished_growth = false;
  for (auto&& [k, v] : m) {
    ASSERT_TRUE(std::isnan(k));
    ASSERT_TRUE(v >= 0 && v < n_keys);
    ASSERT_EQ(seen[v], 0) << "NaN entry " << v << " yielded twice";
    seen[v] = 1;
    ++distinct;
    if (distinct == n_keys / 2 && !finished_growth) {
      // Halfway through, finish the growth with writes that change nothing
      // (erasing an absent key still evacuates).
      for (int i = 0; i < n_buckets; ++i) m.erase(1.0);
      EXPECT_FALSE(m.stats().growing);
      finished_growth = true;
    }
  }
  EXPECT_TRUE(finished_growth);
  EXPECT_EQ(distinct, n_keys) << "NaN entries missing after a growth finished mid-loop";
  m.check_invariants();
}

// ---------------------------------------------------------------------------
// Iteration order is randomised per loop.

std::vector<int> key_order(gomap::Map<int, bool>& m) {
  return collect<int>(m, [](int k, bool) { return k; });
}

TEST(GoIteration, MapIterOrder) {
  for (int n = 3; n <= 20; ++n) {
    // Unseeded maps: every map gets its own generator.
    for (int rep = 0; rep < 20; ++rep) {
      gomap::Map<int, bool> m;
      for (int i = 0; i < n; ++i) m.insert_or_assign(i, true);
      const std::vector<int> first = key_order(m);
      ASSERT_EQ(first.size(), std::size_t(n));
      bool differs = false;
      for (int attempt = 0; attempt < 100 && !differs; ++attempt) differs = key_order(m) != first;
      ASSERT_TRUE(differs) << "n=" << n << ": 100 loops over one map all had the same order";
    }
    // A seeded map draws each loop's start from its own generator, so its
    // loops differ too (deterministically).
    gomap::Map<int, bool> s(0, gomap::Seed{std::uint64_t(200 + n)});
    for (int i = 0; i < n; ++i) s.insert_or_assign(i, true);
    std::set<std::vector<int>> orders;
    for (int loop = 0; loop < 50; ++loop) orders.insert(key_order(s));
    EXPECT_GE(orders.size(), 2u) << "seeded map with n=" << n << " iterated in one order 50 times";
  }
}

TEST(GoIteration, MapSparseIterOrder) {
  // Go issue 8410: a map with few entries left in many buckets.
  for (int round = 0; round < 4; ++round) {
    gomap::Map<int, bool> m = round < 2 ? gomap::Map<int, bool>() : gomap::Map<int, bool>(0, gomap::Seed{std::uint64_t(300 + round)});
    for (int i = 0; i < 1000; ++i) m.insert_or_assign(i, true);
    for (int i = 20; i < 1000; ++i) m.erase(i);
    ASSERT_EQ(m.size(), 20u);
    const std::vector<int> first = key_order(m);
    bool differs = false;
    for (int attempt = 0; attempt < 800 && !differs; ++attempt) differs = key_order(m) != first;
    EXPECT_TRUE(differs) << "round " << round << ": constant iteration order for a sparse map";
  }
}

// ---------------------------------------------------------------------------
// Determinism: same seed + same operations = same behaviour.

TEST(GoIteration, SameSeedSameOrder) {
  // A fixed op script: inserts, erases, NaN inserts, overwrites, and an
  // iteration order snapshot every 25 ops (some of them mid-growth).
  auto run = [](std::uint64_t seed) {
    gomap::Map<double, int> m(0, gomap::Seed{seed});
    std::mt19937_64 rng(12345);  // the script itself, identical for every map
    std::vector<std::vector<int>> orders;
    int next_value = 0;
    bool saw_growth = false;
    for (int op = 0; op < 1500; ++op) {
      const unsigned r = unsigned(rng() % 100);
      const double key = double(rng() % 400);
      if (r < 55) {
        m.insert_or_assign(key, next_value++);
      } else if (r < 60) {
        m.insert_or_assign(quiet_nan(), next_value++);
      } else if (r < 90) {
        m.erase(key);
      } else {
        m[key] = next_value++;
      }
      saw_growth |= m.stats().growing;
      if (op % 25 == 0) {
        // Values identify entries uniquely (every write uses a new value).
        orders.push_back(collect<int>(m, [](double, int v) { return v; }));
      }
    }
    for (int loop = 0; loop < 5; ++loop) orders.push_back(collect<int>(m, [](double, int v) { return v; }));
    EXPECT_TRUE(saw_growth);
    m.check_invariants();
    return std::make_pair(orders, gomap::MapTestAccess::hash_seed(m));
  };
  const auto a = run(42);
  const auto b = run(42);
  ASSERT_EQ(a.first.size(), b.first.size());
  for (std::size_t i = 0; i < a.first.size(); ++i) EXPECT_EQ(a.first[i], b.first[i]) << "snapshot " << i;
  EXPECT_EQ(a.second, b.second) << "same seed, same ops: the hash seeds differ";

  // Different seeds give different orders (with these fixed seeds, surely).
  for (std::uint64_t other : {43ull, 7ull, 0xdeadbeefull}) {
    const auto c = run(other);
    EXPECT_NE(a.first, c.first) << "seed " << other << " iterated exactly like seed 42";
    // ... but the same contents.
    auto sorted = [](std::vector<int> v) {
      std::sort(v.begin(), v.end());
      return v;
    };
    EXPECT_EQ(sorted(a.first.back()), sorted(c.first.back()));
  }
}

// ---------------------------------------------------------------------------

TEST(GoIteration, MapIterDuplicate) {
  std::mt19937_64 rng(777);
  for (int trial = 0; trial < 8; ++trial) {
    gomap::Map<int, int> m(0, gomap::Seed{std::uint64_t(400 + trial)});
    std::set<int> model;
    // Heavy churn: many deletes and re-inserts over a small key space leaves
    // tombstones and overflow chains everywhere.
    for (int op = 0; op < 6000; ++op) {
      const int key = int(rng() % 700);
      if (rng() % 5 < 3) {
        m.insert_or_assign(key, key * 2);
        model.insert(key);
      } else {
        EXPECT_EQ(m.erase(key), model.erase(key) == 1);
      }
    }
    m.check_invariants();
    ASSERT_EQ(m.size(), model.size());

    // A plain loop yields every entry exactly once.
    std::map<int, int> yields;
    for (auto&& [k, v] : m) {
      ++yields[k];
      EXPECT_EQ(v, k * 2);
    }
    ASSERT_EQ(yields.size(), model.size());
    for (auto [k, n] : yields) ASSERT_EQ(n, 1) << "key " << k << " yielded " << n << " times";

    // A loop that erases unreached keys and adds new ones (enough to grow):
    // no key twice, erased keys never, every surviving original key once.
    const std::vector<int> originals(model.begin(), model.end());
    std::set<int> erased, yielded;
    int fresh = 100000;
    for (auto&& [k, v] : m) {
      const int key = k;
      ASSERT_TRUE(yielded.insert(key).second) << "key " << key << " yielded twice";
      ASSERT_EQ(erased.count(key), 0u) << "key " << key << " yielded after being erased";
      ASSERT_NE(m.find(key), nullptr);
      EXPECT_EQ(v, *m.find(key));
      for (int j = 0; j < 3; ++j) {
        m.insert_or_assign(fresh, fresh * 2);
        ++fresh;
      }
      const int victim = originals[rng() % originals.size()];
      if (!yielded.count(victim) && m.erase(victim)) erased.insert(victim);
    }
    for (int k : originals) {
      if (!erased.count(k)) {
        EXPECT_EQ(yielded.count(k), 1u) << "surviving key " << k << " never yielded";
      }
    }
    m.check_invariants();
  }
}

TEST(GoIteration, MapIterDeleteReplace) {
  // Deleting the yielded key and putting it back with a new value must not
  // make the loop see the new entry (the key goes back into the slot the
  // loop has already passed), and the loop must end with every key replaced.
  std::vector<int> sizes;
  for (int n = 0; n <= 1200; n += 7) sizes.push_back(n);
  for (int n : {8, 9, 13, 14, 26, 27, 52, 53, 104, 105, 208, 209, 416, 417}) sizes.push_back(n);
  for (int n : sizes) {
    gomap::Map<int, bool> m(0, gomap::Seed{std::uint64_t(500 + n)});
    for (int j = 0; j < n; ++j) m.insert_or_assign(j, false);
    std::size_t steps = 0;
    for (auto&& [k, v] : m) {
      const int key = k;
      ASSERT_FALSE(v) << "n=" << n << ": saw replaced entry " << key;
      ASSERT_FALSE(*m.find(key));
      m.erase(key);
      m.insert_or_assign(key, true);
      ASSERT_LE(++steps, std::size_t(n)) << "n=" << n << ": loop does not terminate";
    }
    EXPECT_EQ(steps, std::size_t(n)) << "n=" << n;
    ASSERT_EQ(m.size(), std::size_t(n));
    for (int j = 0; j < n; ++j) ASSERT_TRUE(*m.find(j)) << "n=" << n << " key " << j;
    m.check_invariants();
  }
}

// ---------------------------------------------------------------------------
// clear() during range.

// Builds a map with `nans` NaN keys (values 0..nans-1) and `ints` integer
// keys (values 1000+i).
gomap::Map<double, int> nan_map(int nans, int ints, std::uint64_t seed) {
  gomap::Map<double, int> m(0, gomap::Seed{seed});
  for (int i = 0; i < nans; ++i) m.insert_or_assign(quiet_nan(), i);
  for (int i = 0; i < ints; ++i) m.insert_or_assign(double(i), 1000 + i);
  return m;
}

TEST(GoIteration, ClearDuringRangeIssue59411) {
  struct Case {
    int nans, ints, clear_after;
    bool growing;
  };
  // 417 = 13 * 64 / 2 + 1 entries: a growth from 64 buckets has just started.
  const Case cases[] = {{1000, 0, 1, false}, {8, 0, 1, false},   {400, 17, 1, true},
                        {400, 17, 100, true}, {17, 400, 1, true}, {200, 217, 300, true}};
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "nans=" << c.nans << " ints=" << c.ints << " clear_after=" << c.clear_after);
    gomap::Map<double, int> m = nan_map(c.nans, c.ints, 600 + c.nans + c.ints);
    ASSERT_EQ(m.stats().growing, c.growing);
    const std::uint64_t seq = m.stats().clear_seq;
    int yields = 0;
    bool cleared = false;
    for (auto&& [k, v] : m) {
      (void)k;
      (void)v;
      ASSERT_FALSE(cleared) << "an entry was yielded after clear()";
      if (++yields == c.clear_after) {
        m.clear();
        cleared = true;
        EXPECT_EQ(m.size(), 0u);
      }
    }
    EXPECT_TRUE(cleared);
    EXPECT_EQ(yields, c.clear_after);
    EXPECT_EQ(m.size(), 0u);
    EXPECT_EQ(m.stats().clear_seq, seq + 1);
    EXPECT_FALSE(m.stats().growing);
    m.check_invariants();
    m.insert_or_assign(1.5, 1);
    EXPECT_EQ(collect<int>(m, [](double, int v) { return v; }), std::vector<int>{1});
  }
}

TEST(GoIteration, ClearDuringRangeIssue70189) {
  // A one-bucket NaN map; the loop body grows it (from one bucket the growth
  // finishes at once, so the loop's bucket array is no longer the map's) and
  // then clears it. The stale array still holds the NaNs; none may be yielded.
  for (std::uint64_t seed = 700; seed < 716; ++seed) {
    gomap::Map<double, int> m = nan_map(8, 0, seed);
    ASSERT_EQ(m.stats().buckets, 1u);
    bool first = true;
    int yields = 0;
    for (auto&& [k, v] : m) {
      ++yields;
      if (first) {
        first = false;
        for (int i = 0; i < 10; ++i) m.insert_or_assign(double(i), 10 + i);
        EXPECT_GT(m.stats().buckets, 1u);
        EXPECT_FALSE(m.stats().growing);
        m.clear();
      } else {
        ADD_FAILURE() << "seed " << seed << ": yielded value " << v << " (NaN=" << std::isnan(k) << ") after clear()";
      }
    }
    EXPECT_EQ(yields, 1);
    EXPECT_EQ(m.size(), 0u);
  }
}

TEST(GoIteration, ClearDuringRangeThenRefill) {
  // After clear() the loop may only yield entries that exist now, with their
  // current values: refill some of the cleared integer keys with new values.
  gomap::Map<double, int> m = nan_map(20, 200, 720);
  bool first = true;
  std::set<double> yielded_after;
  for (auto&& [k, v] : m) {
    if (first) {
      first = false;
      m.clear();
      for (int i = 0; i < 200; i += 2) m.insert_or_assign(double(i), -i);
      continue;
    }
    const double key = k;
    ASSERT_FALSE(std::isnan(key)) << "a cleared NaN was yielded";
    ASSERT_EQ(int(key) % 2, 0) << "cleared key " << key << " was yielded";
    ASSERT_EQ(v, -int(key)) << "yielded a value from before clear()";
    ASSERT_TRUE(yielded_after.insert(key).second);
  }
  EXPECT_EQ(m.size(), 100u);
  m.check_invariants();
}

// ---------------------------------------------------------------------------
// test/mapclear.go: the delete-everything-in-range idiom.

template <class K>
void delete_all_in_range(gomap::Map<K, int>& m, bool erase_through_reference) {
  const std::size_t n = m.size();
  std::size_t yields = 0;
  std::set<K> seen;
  for (auto&& [k, v] : m) {
    (void)v;
    EXPECT_TRUE(seen.insert(k).second) << "a key was yielded twice";
    if (erase_through_reference) {
      EXPECT_TRUE(m.erase(k));  // documented as safe: erase does not use k after destroying it
    } else {
      const K key = k;
      EXPECT_TRUE(m.erase(key));
    }
    ++yields;
  }
  EXPECT_EQ(yields, n) << "every entry present at the start must be reached";
  EXPECT_EQ(m.size(), 0u);
  EXPECT_TRUE(m.empty());
  m.check_invariants();
  EXPECT_EQ(count_by_iteration(m), 0);
}

TEST(GoIteration, DeleteAllInRange) {
  for (bool by_ref : {false, true}) {
    SCOPED_TRACE(by_ref ? "erase(k)" : "erase(copy of k)");
    for (int n : {2, 8, 100, 417, 1000}) {
      gomap::Map<int, int> m(0, gomap::Seed{std::uint64_t(800 + n)});
      for (int i = 0; i < n; ++i) m.insert_or_assign(i, i);
      if (n == 417) {
        ASSERT_TRUE(m.stats().growing) << "417 entries: a growth has just started";
      }
      delete_all_in_range(m, by_ref);
      // The emptied map is still a working map.
      m.insert_or_assign(0, 0);
      EXPECT_EQ(collect<int>(m, [](int k, int) { return k; }), std::vector<int>{0});
    }
    for (int n : {2, 100, 417}) {
      gomap::Map<std::string, int> m(0, gomap::Seed{std::uint64_t(900 + n)});
      for (int i = 0; i < n; ++i) m.insert_or_assign("key-" + std::to_string(i) + std::string(30, 's'), i);
      if (n == 417) {
        ASSERT_TRUE(m.stats().growing);
      }
      delete_all_in_range(m, by_ref);
      m.insert_or_assign("again", 1);
      EXPECT_EQ(m.size(), 1u);
    }
  }
  // A growth in progress that the loop started before: erase inside the loop
  // finishes it.
  gomap::Map<int, int> m(0, gomap::Seed{999});
  for (int i = 0; i < 833; ++i) m.insert_or_assign(i, i);  // 833 = 13 * 128 / 2 + 1
  ASSERT_TRUE(m.stats().growing);
  delete_all_in_range(m, false);
  EXPECT_FALSE(m.stats().growing);
}

}  // namespace
}  // namespace gomap_go_tests_iteration
