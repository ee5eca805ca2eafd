// lifecycle_test.cpp — construction/destruction balance of keys and values.
//
// Every Counted the map ever constructs must be destroyed exactly once: after
// each scenario live() == 0 once the map is gone, and at quiet points (no
// growth in progress, no live iterator) live() == 2 * size() (one key and one
// value per entry). While a growth runs, old slots keep moved-from (or, with
// iterators live, copied) objects until the old array is freed, so in between
// only live() >= 2 * size() holds. The fixture also fails any test in which a
// counted object was destroyed twice or used after destruction or after being
// moved from.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gomap/map.hpp"
#include "support/map_test_access.hpp"
#include "support/counting.hpp"
#include "support/map_helpers.hpp"

namespace {

using gomap::Map;
using gomap::Seed;
using gomap_test::BigCounted;
using gomap_test::BigCountedStr;
using gomap_test::Counted;
using gomap_test::CountedStr;
using gomap_test::Counts;
using gomap_test::FewBitsHash;
using gomap_test::InjectedFault;

class Lifecycle : public ::testing::Test {
 public:
  void SetUp() override { Counted::reset(); }
  void TearDown() override {
    Counted::disarm();
    EXPECT_EQ(Counted::live(), 0) << "leaked or over-destroyed counted objects: " << Counted::counts();
    EXPECT_EQ(Counted::double_destroys(), 0);
    EXPECT_EQ(Counted::dead_uses(), 0);
    EXPECT_EQ(Counted::moved_from_uses(), 0);
  }

  // live() == 2 * entries at quiet points, >= in between. `extra` counts
  // counted objects the test itself holds outside the map(s).
  template <class... M>
  static ::testing::AssertionResult Balanced(long extra, const M&... maps) {
    const long entries = (0L + ... + static_cast<long>(maps.size()));
    const bool all_quiet = (true && ... && gomap_test::quiet(maps));
    const long live = Counted::live();
    if (all_quiet ? live == 2 * entries + extra : live >= 2 * entries + extra) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "live()=" << live << (all_quiet ? " != " : " < ") << "2*" << entries
                                         << "+" << extra << " (quiet=" << all_quiet << ") " << Counted::counts();
  }
};

using CMap = Map<Counted, Counted>;

// ---------------------------------------------------------------------------
// insert / erase / assign churn
// ---------------------------------------------------------------------------

TEST_F(Lifecycle, InsertEraseAssignChurnBalances) {
  {
    CMap m(0, Seed{1});
    std::unordered_map<std::int64_t, std::int64_t> model;
    std::mt19937_64 rng(11);
    bool saw_growth = false;
    for (int op = 0; op < 6000; ++op) {
      const std::int64_t k = static_cast<std::int64_t>(rng() % 400);
      const std::int64_t v = static_cast<std::int64_t>(rng() % 1000);
      switch (rng() % 10) {
        case 0: case 1: case 2: case 3:
          m.insert_or_assign(Counted(k), Counted(v));
          model[k] = v;
          break;
        case 4: case 5:
          m[Counted(k)] = Counted(v);
          model[k] = v;
          break;
        case 6: case 7: case 8:
          ASSERT_EQ(m.erase(Counted(k)), model.erase(k) == 1);
          break;
        default: {
          const Counted* p = m.find(Counted(k));
          const auto it = model.find(k);
          ASSERT_EQ(p != nullptr, it != model.end());
          if (p) {
            ASSERT_EQ(p->payload(), it->second);
          }
        }
      }
      saw_growth = saw_growth || m.stats().growing;
      ASSERT_EQ(m.size(), model.size());
      ASSERT_TRUE(Balanced(0, m));
    }
    EXPECT_TRUE(saw_growth);
    m.check_invariants();
    for (auto&& [k, v] : m) ASSERT_EQ(model.at(k.payload()), v.payload());
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, StringPayloadChurnBalances) {
  // Heap-allocated std::string payloads: LeakSanitizer sees any lost entry.
  {
    Map<CountedStr, CountedStr> m(0, Seed{2});
    std::unordered_map<std::string, std::string> model;
    std::mt19937_64 rng(12);
    for (int op = 0; op < 3000; ++op) {
      const std::string k = "key-with-a-heap-allocated-payload-" + std::to_string(rng() % 300);
      const std::string v(20 + rng() % 200, static_cast<char>('a' + rng() % 26));
      if (rng() % 3 != 0) {
        m.insert_or_assign(CountedStr(k), CountedStr(v));
        model[k] = v;
      } else {
        ASSERT_EQ(m.erase(CountedStr(k)), model.erase(k) == 1);
      }
      ASSERT_EQ(m.size(), model.size());
      ASSERT_TRUE(Balanced(0, m));
    }
    m.check_invariants();
  }
  EXPECT_EQ(Counted::live(), 0);
}

// ---------------------------------------------------------------------------
// clear
// ---------------------------------------------------------------------------

TEST_F(Lifecycle, ClearDestroysEveryEntryAndTheMapStaysUsable) {
  CMap m(0, Seed{3});
  for (int i = 0; i < 500; ++i) m.insert_or_assign(Counted(i), Counted(i));
  ASSERT_TRUE(Balanced(0, m));
  const unsigned B = m.stats().B;
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(Counted::live(), 0) << "clear() must destroy every key and value";
  EXPECT_EQ(m.stats().B, B) << "clear() never shrinks";
  m.clear();  // clearing an empty map is a no-op
  EXPECT_EQ(Counted::live(), 0);
  for (int i = 0; i < 100; ++i) m.insert_or_assign(Counted(i), Counted(-i));
  ASSERT_TRUE(Balanced(0, m));
  m.check_invariants();
}

TEST_F(Lifecycle, ClearMidGrowthDestroysOldAndNewEntries) {
  CMap m(0, Seed{4});
  int i = 0;
  while (!m.stats().growing) {
    m.insert_or_assign(Counted(i), Counted(i));
    ++i;
  }
  ASSERT_GT(gomap_test::old_bucket_count(m), 2u) << "want a growth that is still in progress";
  m.clear();
  EXPECT_FALSE(m.stats().growing);
  EXPECT_EQ(Counted::live(), 0);
  m.check_invariants();
}

TEST_F(Lifecycle, ClearWithLiveIteratorFreesEntriesWhenIteratorDies) {
  {
    CMap m(0, Seed{5});
    for (int i = 0; i < 200; ++i) m.insert_or_assign(Counted(i), Counted(i));
    {
      auto it = m.begin();
      ASSERT_FALSE(it.done());
      m.clear();
      EXPECT_EQ(m.size(), 0u);
      // The iterator may keep the cleared array (and its entries) alive, but
      // never more than what was there.
      EXPECT_LE(Counted::live(), 2 * 200);
      ++it;
      EXPECT_TRUE(it.done()) << "an iterator must not yield cleared entries";
    }
    EXPECT_EQ(Counted::live(), 0) << "the cleared entries must be destroyed once the iterator is gone";
    m.insert_or_assign(Counted(1), Counted(1));
    ASSERT_TRUE(Balanced(0, m));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, ClearInsideRangeForLoop) {
  CMap m(0, Seed{6});
  for (int i = 0; i < 300; ++i) m.insert_or_assign(Counted(i), Counted(i));
  int yields = 0;
  for (auto&& [k, v] : m) {
    (void)k;
    (void)v;
    if (++yields == 10) {
      m.clear();
      for (int i = 1000; i < 1100; ++i) m.insert_or_assign(Counted(i), Counted(i));
    }
  }
  EXPECT_EQ(m.size(), 100u);
  ASSERT_TRUE(Balanced(0, m));
  m.check_invariants();
}

// ---------------------------------------------------------------------------
// growth
// ---------------------------------------------------------------------------

TEST_F(Lifecycle, DoublingGrowthBalances) {
  {
    CMap m(0, Seed{7});
    unsigned growths = 0;
    unsigned lastB = m.stats().B;
    for (int i = 0; i < 3000; ++i) {
      m.insert_or_assign(Counted(i), Counted(2 * i));
      ASSERT_TRUE(Balanced(0, m));
      if (m.stats().B != lastB) {
        ++growths;
        lastB = m.stats().B;
      }
    }
    EXPECT_GE(growths, 8u);
    m.check_invariants();
    for (int i = 0; i < 3000; ++i) ASSERT_EQ(m.find(Counted(i))->payload(), 2 * i);
  }
  EXPECT_EQ(Counted::live(), 0);
}

// Builds overflow chains bucket by bucket and erases them again, so that
// noverflow reaches 2^B while the count stays low: a same-size growth.
template <class M>
bool churn_until_same_size_growth(M& m, std::int64_t& cursor, unsigned B, int max_rounds = 20) {
  using H = FewBitsHash<Counted, 2>;
  for (int round = 0; round < max_rounds; ++round) {
    for (std::size_t bucket = 0; bucket < 4; ++bucket) {
      auto keys = gomap_test::keys_where<Counted>(
          12, cursor, [](std::int64_t i) { return Counted(i); },
          [&](const Counted& k) { return H::bucket_of(k, B) == bucket; });
      for (const Counted& k : keys) {
        m.insert_or_assign(k, Counted(1));
        if (m.stats().same_size_grow) return true;
      }
      for (const Counted& k : keys) m.erase(k);
    }
  }
  return false;
}

TEST_F(Lifecycle, SameSizeGrowthBalances) {
  {
    Map<Counted, Counted, FewBitsHash<Counted, 2>> m(20, Seed{8});
    ASSERT_EQ(m.stats().B, 2u);
    for (int i = 0; i < 6; ++i) m.insert_or_assign(Counted(100000 + i), Counted(i));
    std::int64_t cursor = 0;
    ASSERT_TRUE(churn_until_same_size_growth(m, cursor, 2)) << "scenario did not reach a same-size growth";
    EXPECT_EQ(m.stats().B, 2u);
    // Finish the growth with more writes; balance holds throughout.
    for (int i = 0; i < 10 && m.stats().growing; ++i) {
      m.insert_or_assign(Counted(100000 + i), Counted(i + 1));
      ASSERT_TRUE(Balanced(0, m));
    }
    EXPECT_FALSE(m.stats().growing);
    ASSERT_TRUE(Balanced(0, m));
    m.check_invariants();
    for (int i = 0; i < 6; ++i) EXPECT_TRUE(m.contains(Counted(100000 + i)));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, DestructionMidGrowth) {
  // Growths from B >= 2 take more than one write; each of these counts is the
  // insert that starts one (13 * 2^(B-1) + 1).
  for (int target : {27, 53, 105, 209, 417, 833}) {
    {
      CMap m(0, Seed{static_cast<std::uint64_t>(target)});
      for (int i = 0; i < target; ++i) m.insert_or_assign(Counted(i), Counted(i));
      ASSERT_TRUE(m.stats().growing) << "count " << target;
      ASSERT_TRUE(Balanced(0, m));
    }
    ASSERT_EQ(Counted::live(), 0) << "map destroyed mid-growth (count " << target << ")";
  }
  // Long chains in the old array, and entries already evacuated out of them.
  {
    Map<Counted, CountedStr, FewBitsHash<Counted, 1>> m(0, Seed{9});
    int i = 0;
    while ((!m.stats().growing || m.stats().nevacuate == 0) && i < 100000) {
      m.insert_or_assign(Counted(i), CountedStr(std::string(40, 'v')));
      ++i;
    }
    ASSERT_TRUE(m.stats().growing);
    ASSERT_GT(m.stats().nevacuate, 0u);
  }
  EXPECT_EQ(Counted::live(), 0);
}

// ---------------------------------------------------------------------------
// compact
// ---------------------------------------------------------------------------

TEST_F(Lifecycle, CompactBalancesAndKeepsContents) {
  CMap m(0, Seed{10});
  for (int i = 0; i < 2000; ++i) m.insert_or_assign(Counted(i), Counted(i));
  for (int i = 0; i < 1990; ++i) m.erase(Counted(i));
  ASSERT_TRUE(Balanced(0, m));
  m.compact();
  EXPECT_EQ(Counted::live(), 2 * 10);
  EXPECT_EQ(m.stats().B, gomap_test::go_b_for_count(10));
  for (int i = 1990; i < 2000; ++i) ASSERT_EQ(m.find(Counted(i))->payload(), i);
  m.check_invariants();
  // Compacting mid-growth finishes the growth and frees the old array.
  int i = 5000;
  while (!m.stats().growing) {
    m.insert_or_assign(Counted(i), Counted(i));
    ++i;
  }
  m.compact();
  EXPECT_FALSE(m.stats().growing);
  ASSERT_TRUE(Balanced(0, m));
  m.check_invariants();
  // Compacting an emptied map drops everything.
  for (auto k : std::vector<int>{1990, 1991, 1992, 1993, 1994, 1995, 1996, 1997, 1998, 1999}) m.erase(Counted(k));
  for (int j = 5000; j < i; ++j) m.erase(Counted(j));
  ASSERT_TRUE(m.empty());
  m.compact();
  EXPECT_EQ(Counted::live(), 0);
  m.insert_or_assign(Counted(1), Counted(1));
  ASSERT_TRUE(Balanced(0, m));
}

// ---------------------------------------------------------------------------
// copy and move
// ---------------------------------------------------------------------------

TEST_F(Lifecycle, CopyConstructionIsDeep) {
  {
    CMap a(0, Seed{11});
    for (int i = 0; i < 300; ++i) a.insert_or_assign(Counted(i), Counted(i));
    const Counts before = Counted::counts();
    CMap b(a);
    const Counts d = Counted::counts() - before;
    EXPECT_EQ(d.copy_ctor, 2 * 300) << d;
    EXPECT_EQ(d.constructions(), 2 * 300) << d;
    EXPECT_EQ(d.dtor, 0) << d;
    ASSERT_TRUE(Balanced(0, a, b));
    b.check_invariants();
    // Mutating the copy leaves the original alone.
    for (int i = 0; i < 100; ++i) b.erase(Counted(i));
    for (int i = 100; i < 200; ++i) b.insert_or_assign(Counted(i), Counted(-1));
    for (int i = 300; i < 400; ++i) b.insert_or_assign(Counted(i), Counted(i));
    ASSERT_EQ(a.size(), 300u);
    for (int i = 0; i < 300; ++i) ASSERT_EQ(a.find(Counted(i))->payload(), i);
    EXPECT_FALSE(a.contains(Counted(300)));
    ASSERT_TRUE(Balanced(0, a, b));
    // ... and mutating the original leaves the copy alone.
    a.clear();
    EXPECT_EQ(b.size(), 300u);
    EXPECT_EQ(b.find(Counted(150))->payload(), -1);
    ASSERT_TRUE(Balanced(0, a, b));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, CopyOfMapMidGrowthCopiesEveryEntryOnce) {
  CMap a(0, Seed{12});
  int n = 0;
  while (!a.stats().growing) {
    a.insert_or_assign(Counted(n), Counted(n));
    ++n;
  }
  ASSERT_TRUE(a.stats().growing);
  const Counts before = Counted::counts();
  CMap b(a);
  EXPECT_EQ((Counted::counts() - before).copy_ctor, 2 * n);
  EXPECT_EQ(b.size(), static_cast<std::size_t>(n));
  b.check_invariants();
  for (int i = 0; i < n; ++i) ASSERT_EQ(b.find(Counted(i))->payload(), i);
  ASSERT_TRUE(Balanced(0, a, b));
}

TEST_F(Lifecycle, CopyAssignmentIsDeepAndDestroysOldContents) {
  {
    CMap a(0, Seed{13});
    CMap b(0, Seed{14});
    for (int i = 0; i < 100; ++i) a.insert_or_assign(Counted(i), Counted(i));
    for (int i = 0; i < 250; ++i) b.insert_or_assign(Counted(1000 + i), Counted(i));
    b = a;
    ASSERT_TRUE(Balanced(0, a, b));
    EXPECT_EQ(b.size(), 100u);
    EXPECT_FALSE(b.contains(Counted(1000)));
    b.insert_or_assign(Counted(5), Counted(55));
    EXPECT_EQ(a.find(Counted(5))->payload(), 5);
    b.check_invariants();
    // Self-assignment changes nothing.
    const Counts before = Counted::counts();
    const CMap& alias = b;
    b = alias;
    EXPECT_EQ(Counted::counts(), before);
    EXPECT_EQ(b.size(), 100u);
    // Assigning an empty map empties.
    b = CMap();
    EXPECT_TRUE(b.empty());
    ASSERT_TRUE(Balanced(0, a, b));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, MoveConstructionTouchesNoEntry) {
  {
    CMap a(0, Seed{15});
    for (int i = 0; i < 300; ++i) a.insert_or_assign(Counted(i), Counted(i));
    const Counts before = Counted::counts();
    CMap b(std::move(a));
    EXPECT_EQ(Counted::counts(), before) << "moving a map must not construct or destroy entries";
    EXPECT_EQ(b.size(), 300u);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moved-from is specified empty
    a.check_invariants();
    // The moved-from map is usable.
    a.insert_or_assign(Counted(7), Counted(70));
    EXPECT_EQ(a.find(Counted(7))->payload(), 70);
    EXPECT_FALSE(a.contains(Counted(8)));
    a.check_invariants();
    b.check_invariants();
    ASSERT_TRUE(Balanced(0, a, b));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, MoveAssignmentTouchesOnlyTheReplacedEntries) {
  {
    CMap a(0, Seed{16});
    CMap b(0, Seed{17});
    for (int i = 0; i < 300; ++i) a.insert_or_assign(Counted(i), Counted(i));
    for (int i = 0; i < 40; ++i) b.insert_or_assign(Counted(-i - 1), Counted(i));
    const Counts before = Counted::counts();
    b = std::move(a);
    const Counts d = Counted::counts() - before;
    EXPECT_EQ(d.constructions(), 0) << d;
    EXPECT_EQ(d.dtor, 2 * 40) << "exactly b's old entries are destroyed: " << d;
    EXPECT_EQ(b.size(), 300u);
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
    a.insert_or_assign(Counted(1), Counted(1));
    a.check_invariants();
    b.check_invariants();
    ASSERT_TRUE(Balanced(0, a, b));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, MoveOfMapMidGrowth) {
  {
    CMap a(0, Seed{18});
    int n = 0;
    while (!a.stats().growing) {
      a.insert_or_assign(Counted(n), Counted(n));
      ++n;
    }
    const Counts before = Counted::counts();
    CMap b(std::move(a));
    EXPECT_EQ(Counted::counts(), before);
    EXPECT_TRUE(b.stats().growing);
    for (int i = n; i < n + 500; ++i) b.insert_or_assign(Counted(i), Counted(i));
    b.check_invariants();
    for (int i = 0; i < n + 500; ++i) ASSERT_TRUE(b.contains(Counted(i)));
    ASSERT_TRUE(Balanced(0, a, b));
  }
  EXPECT_EQ(Counted::live(), 0);
}

// ---------------------------------------------------------------------------
// iteration with a mutating body
// ---------------------------------------------------------------------------

TEST_F(Lifecycle, IterationBodyErasesInsertsAndGrows) {
  {
    CMap m(0, Seed{19});
    for (int i = 0; i < 100; ++i) m.insert_or_assign(Counted(i), Counted(i));
    int next = 1000;
    int yields = 0;
    std::vector<int> original_yields(100, 0);
    for (auto&& [k, v] : m) {
      ++yields;
      const std::int64_t key = k.payload();
      if (key < 100) ++original_yields[key];
      EXPECT_EQ(v.payload(), key < 1000 ? key : -key);
      if (key % 3 == 0) m.erase(Counted(key));
      for (int j = 0; j < 5; ++j, ++next) m.insert_or_assign(Counted(next), Counted(-next));  // forces growth
      if (yields > 5000) break;
    }
    for (int i = 0; i < 100; ++i) EXPECT_EQ(original_yields[i], 1) << "key " << i;
    m.check_invariants();
    ASSERT_TRUE(Balanced(0, m));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, IterationBodyErasesTheYieldedKeyByReference) {
  // erase(k) with k referring into the slot being erased (documented as fine).
  {
    Map<CountedStr, CountedStr> m(0, Seed{20});
    for (int i = 0; i < 200; ++i) m.insert_or_assign(CountedStr("k" + std::to_string(i) + std::string(30, 'x')), CountedStr("v"));
    for (auto&& [k, v] : m) {
      (void)v;
      m.erase(k);
    }
    EXPECT_TRUE(m.empty());
    EXPECT_EQ(Counted::live(), 0);
    m.check_invariants();
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, IterationBodyClearsAndRefillsRepeatedly) {
  {
    CMap m(0, Seed{21});
    for (int i = 0; i < 64; ++i) m.insert_or_assign(Counted(i), Counted(i));
    int yields = 0;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (++yields % 7 == 0) {
        m.clear();
        for (int i = 0; i < 64; ++i) m.insert_or_assign(Counted(yields * 100 + i), Counted(i));
      }
      if (yields > 400) break;
    }
    m.check_invariants();
    ASSERT_TRUE(Balanced(0, m));
  }
  EXPECT_EQ(Counted::live(), 0);
}

// ---------------------------------------------------------------------------
// big (indirectly stored) keys and values
// ---------------------------------------------------------------------------

// The whole life of a map whose keys and/or values are stored indirectly.
template <class K, class V>
void big_entries_scenario() {
  using BMap = Map<K, V>;
  BMap m(0, Seed{22});
  std::map<std::int64_t, std::string> model;
  std::mt19937_64 rng(23);
  for (int op = 0; op < 2000; ++op) {
    const std::int64_t k = static_cast<std::int64_t>(rng() % 300);
    if (rng() % 3 != 0) {
      std::string v = "value-" + std::to_string(rng() % 1000) + std::string(24, '#');
      m.insert_or_assign(K(k), V(v));
      model[k] = v;
    } else {
      ASSERT_EQ(m.erase(K(k)), model.erase(k) == 1);
    }
    ASSERT_TRUE(Lifecycle::Balanced(0, m));
  }
  m.check_invariants();
  EXPECT_GT(m.stats().bytes, m.size() * (sizeof(K) + sizeof(V)));
  // Iteration whose body grows the map (old entries copied for the iterator).
  int next = 10000;
  for (auto&& [k, v] : m) {
    ASSERT_EQ(v.payload(), model.at(k.payload()));
    for (int j = 0; j < 3; ++j, ++next) {
      m.insert_or_assign(K(next), V("new"));
      model[next] = "new";
    }
    if (next > 12000) break;
  }
  ASSERT_TRUE(Lifecycle::Balanced(0, m));
  BMap copy(m);
  ASSERT_TRUE(Lifecycle::Balanced(0, m, copy));
  BMap moved(std::move(copy));
  for (int i = 0; i < 10000; ++i) m.erase(K(i));
  m.compact();
  ASSERT_TRUE(Lifecycle::Balanced(0, m, copy, moved));
  m.clear();
  ASSERT_TRUE(Lifecycle::Balanced(0, m, copy, moved));
  // Destroyed mid-growth.
  int i = 20000;
  while (!moved.stats().growing) {
    moved.insert_or_assign(K(i), V("g"));
    ++i;
  }
}

TEST_F(Lifecycle, BigIndirectKeys) {
  big_entries_scenario<BigCounted, CountedStr>();
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, BigIndirectValues) {
  big_entries_scenario<Counted, BigCountedStr>();
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, BigIndirectKeysAndValues) {
  big_entries_scenario<BigCounted, BigCountedStr>();
  EXPECT_EQ(Counted::live(), 0);
}

// Indirect slots hold pointers; the pointed-to objects must be deleted when
// the table dies even when the slot type itself (a pointer) is trivial.
template <class K, class V>
void destroy_filled_map(int n) {
  Map<K, V> m(0, Seed{31});
  for (int i = 0; i < n; ++i) m.insert_or_assign(K(std::int64_t(i)), V(std::int64_t(i)));
}

TEST_F(Lifecycle, BigKeyAndBigValueAreDestroyedWithTheMap) {
  destroy_filled_map<BigCounted, BigCounted>(100);
  EXPECT_EQ(Counted::live(), 0) << "indirect keys/values leaked when the map died: " << Counted::counts();
}

TEST_F(Lifecycle, BigKeyWithTrivialValueIsDestroyedWithTheMap) {
  Counted::reset();
  {
    Map<BigCounted, std::int64_t> m(0, Seed{32});
    for (int i = 0; i < 100; ++i) m.insert_or_assign(BigCounted(i), i);
  }
  EXPECT_EQ(Counted::live(), 0) << "indirect keys leaked when the map died: " << Counted::counts();
}

TEST_F(Lifecycle, TrivialKeyWithBigValueIsDestroyedByClearAndGrowth) {
  {
    Map<std::int64_t, BigCounted> m(0, Seed{33});
    for (int i = 0; i < 100; ++i) m.insert_or_assign(i, BigCounted(i));  // several growths
    EXPECT_EQ(Counted::live(), 100) << "growth must free the values left in the old arrays: " << Counted::counts();
    m.clear();
    EXPECT_EQ(Counted::live(), 0) << "clear() must destroy indirect values: " << Counted::counts();
    m.insert_or_assign(1, BigCounted(1));
  }
  EXPECT_EQ(Counted::live(), 0);
}

// ---------------------------------------------------------------------------
// exception safety
// ---------------------------------------------------------------------------

// After an injected throw the map must be exactly as before and writable
// (no stale hashWriting flag, which would make the next write abort with
// "concurrent map writes").
template <class M>
void expect_unchanged_after_throw(M& m, const std::map<std::int64_t, std::int64_t>& model) {
  // Iterating mid-growth would make the rest of the growth copy instead of
  // move (Go's oldIterator flag); keep the write paths these tests aim at.
  const bool iterate = !m.stats().growing;
  m.check_invariants();
  ASSERT_EQ(m.size(), model.size());
  for (const auto& [k, v] : model) {
    const Counted* p = m.find(Counted(k));
    ASSERT_NE(p, nullptr) << "key " << k << " lost by a throwing write";
    ASSERT_EQ(p->payload(), v);
  }
  if (!iterate) return;
  std::size_t seen = 0;
  for (auto&& [k, v] : m) {
    ASSERT_EQ(model.at(k.payload()), v.payload());
    ++seen;
  }
  ASSERT_EQ(seen, model.size());
}

TEST_F(Lifecycle, InsertWhoseKeyCopyThrowsLeavesMapUnchanged) {
  {
    CMap m(0, Seed{24});
    std::map<std::int64_t, std::int64_t> model;
    for (int n = 0; n < 120; ++n) {
      Counted::throw_on_copy();
      EXPECT_THROW(m.insert_or_assign(Counted(100000 + n), Counted(1)), InjectedFault) << "n=" << n;
      Counted::disarm();
      ASSERT_NO_FATAL_FAILURE(expect_unchanged_after_throw(m, model));
      ASSERT_FALSE(m.contains(Counted(100000 + n)));
      ASSERT_TRUE(Balanced(0, m));
      m.insert_or_assign(Counted(n), Counted(n));  // must not die with "concurrent map writes"
      model[n] = n;
    }
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, InsertWhoseValueMoveThrowsLeavesMapUnchanged) {
  {
    CMap m(0, Seed{25});
    std::map<std::int64_t, std::int64_t> model;
    int tested = 0;
    for (int n = 0; n < 120; ++n) {
      const gomap::Stats s = m.stats();
      // Without growth work pending, the only move inside the map is the value's.
      if (!s.growing && !gomap_test::go_over_load_factor(m.size() + 1, s.B)) {
        ++tested;
        Counted::throw_on_move();
        EXPECT_THROW(m.insert_or_assign(Counted(100000 + n), Counted(1)), InjectedFault) << "n=" << n;
        Counted::disarm();
        ASSERT_NO_FATAL_FAILURE(expect_unchanged_after_throw(m, model));
        ASSERT_TRUE(Balanced(0, m));
      }
      m.insert_or_assign(Counted(n), Counted(n));
      model[n] = n;
    }
    EXPECT_GT(tested, 60);
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, OperatorBracketWhoseDefaultConstructorThrowsLeavesMapUnchanged) {
  {
    CMap m(0, Seed{26});
    std::map<std::int64_t, std::int64_t> model;
    for (int n = 0; n < 60; ++n) {
      Counted::throw_on_default();
      EXPECT_THROW(m[Counted(100000 + n)], InjectedFault);
      Counted::disarm();
      ASSERT_NO_FATAL_FAILURE(expect_unchanged_after_throw(m, model));
      ASSERT_TRUE(Balanced(0, m));
      m[Counted(n)] = Counted(n);
      model[n] = n;
    }
  }
  EXPECT_EQ(Counted::live(), 0);
}

// With an iterator live, evacuation copies keys and values (the old slots
// must stay readable for the iterator). If such a copy throws, the write that
// triggered the evacuation throws, and the map must still hold every entry.
TEST_F(Lifecycle, EvacuationCopyThrowingWithLiveIteratorLeavesMapConsistent) {
  {
    CMap m(0, Seed{27});
    std::map<std::int64_t, std::int64_t> model;
    for (int i = 0; i < 52; ++i) {  // B = 3 holds 52; the 53rd insert doubles
      m.insert_or_assign(Counted(i), Counted(i));
      model[i] = i;
    }
    ASSERT_EQ(m.stats().B, 3u);
    {
      auto it = m.begin();
      ASSERT_FALSE(it.done());
      Counted::throw_on_copy();  // the first copy evacuation makes
      EXPECT_THROW(m.insert_or_assign(Counted(1000), Counted(1000)), InjectedFault);
      Counted::disarm();
    }
    ASSERT_NO_FATAL_FAILURE(expect_unchanged_after_throw(m, model));
    m.insert_or_assign(Counted(1001), Counted(1001));
    m.check_invariants();
  }
  EXPECT_EQ(Counted::live(), 0);
}

// Without an iterator, evacuation moves a key whose move cannot throw
// (std::string) and copies a value whose move might (Counted). A copy that
// throws partway through an old bucket leaves the keys moved so far in the
// new array; the rollback must move each one back, which it finds by the
// marks it kept for the slots evacuated so far, including those of the bucket
// it stopped in.
TEST_F(Lifecycle, EvacuationValueCopyThrowingMidBucketGivesMovedKeysBack) {
  for (long nth = 1; nth < 8; ++nth) {
    {
      Map<std::string, Counted> m(0, Seed{41});
      std::map<std::string, std::int64_t> model;
      for (int i = 0; i < 52; ++i) {  // B = 3 holds 52; the 53rd insert doubles
        m.insert_or_assign("key-" + std::to_string(i), Counted(i));
        model["key-" + std::to_string(i)] = i;
      }
      ASSERT_EQ(m.stats().B, 3u);
      Counted::throw_on_copy(nth);
      EXPECT_THROW(m.insert_or_assign("new", Counted(1000)), InjectedFault) << "nth " << nth;
      Counted::disarm();
      m.check_invariants();
      ASSERT_EQ(m.size(), model.size());
      for (const auto& [k, v] : model) {
        const Counted* p = m.find(k);
        ASSERT_NE(p, nullptr) << "key " << k << " lost when copy " << nth << " threw";
        ASSERT_EQ(p->payload(), v);
      }
    }
    EXPECT_EQ(Counted::live(), 0);
  }
}

// compact() moves every entry into a new array; if a move (or, equally, an
// overflow-bucket allocation) throws halfway, the map must keep every entry
// and leak nothing. (Succeeding without throwing is fine too.)
TEST_F(Lifecycle, CompactWhoseMoveThrowsLeavesMapConsistent) {
  {
    CMap m(0, Seed{34});
    std::map<std::int64_t, std::int64_t> model;
    for (int i = 0; i < 1000; ++i) m.insert_or_assign(Counted(i), Counted(i));
    for (int i = 0; i < 1000; ++i) {
      if (i % 50 != 0) {
        m.erase(Counted(i));
      } else {
        model[i] = i;
      }
    }
    ASSERT_EQ(m.size(), 20u);
    Counted::throw_on_move(7);  // a few entries in
    try {
      m.compact();
    } catch (const InjectedFault&) {
    }
    Counted::disarm();
    ASSERT_NO_FATAL_FAILURE(expect_unchanged_after_throw(m, model));
    ASSERT_TRUE(Balanced(0, m));
    m.insert_or_assign(Counted(5000), Counted(1));  // still writable
    m.compact();
    EXPECT_EQ(m.stats().B, gomap_test::go_b_for_count(21));
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, CopyConstructionThrowingMidwayLeaksNothing) {
  {
    CMap a(0, Seed{28});
    for (int i = 0; i < 100; ++i) a.insert_or_assign(Counted(i), Counted(i));
    Counted::throw_on_copy(101);  // fail in the middle of copying the entries
    EXPECT_THROW({ CMap b(a); }, InjectedFault);
    Counted::disarm();
    EXPECT_EQ(Counted::live(), 2 * 100) << "a failed map copy must destroy what it copied: " << Counted::counts();
    a.check_invariants();
  }
  EXPECT_EQ(Counted::live(), 0);
}

TEST_F(Lifecycle, CopyAssignmentThrowingMidwayKeepsTarget) {
  {
    CMap a(0, Seed{29});
    CMap b(0, Seed{30});
    for (int i = 0; i < 100; ++i) a.insert_or_assign(Counted(i), Counted(i));
    for (int i = 0; i < 10; ++i) b.insert_or_assign(Counted(-i), Counted(i));
    Counted::throw_on_copy(50);
    EXPECT_THROW(b = a, InjectedFault);
    Counted::disarm();
    EXPECT_EQ(b.size(), 10u);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(b.find(Counted(-i))->payload(), i);
    b.check_invariants();
    b.insert_or_assign(Counted(500), Counted(500));
    EXPECT_EQ(Counted::live(), 2 * (100 + 11)) << Counted::counts();
  }
  EXPECT_EQ(Counted::live(), 0);
}

}  // namespace
