// Go map semantics for keys, values and sizing, ported from the intent of
// Go's runtime/map_test.go and test/map.go (the code and comments are ours).
//
//   NegativeZero            TestNegativeZero, test/map.go testfloat
//   NanAssignment           TestMapAssignmentNan, TestMapOperatorAssignmentNan,
//                           test/map.go testnan
//   BigItems                TestBigItems (keys and values stored indirectly)
//   LargeKeyAndValueNoPointer  TestMapLargeKeyNoPointer / TestMapLargeValNoPointer
//   MapBucketsFromHint, LoadFactorGrowthPoints  TestMapBuckets, TestLoadFactor
//   IgnoreBogusMapHint      TestIgnoreBogusMapHint (Go issue 19926)
//   IncrementAfterDelete*   TestIncrementAfterDelete*, ...BulkClear... (issue 25936)
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "go_test_support.hpp"

namespace {

using namespace gomap_go_tests;

// ---------------------------------------------------------------------------
// ±0: one key, and the stored key follows the sign of the last write.

template <class F>
void check_negative_zero() {
  const F pz = F(0);
  const F nz = std::copysign(F(0), F(-1));
  ASSERT_TRUE(std::signbit(nz));

  auto only_key = [](gomap::Map<F, int>& m) {
    std::vector<F> keys;
    for (auto&& [k, v] : m) keys.push_back(k);
    EXPECT_EQ(keys.size(), 1u);
    return keys.empty() ? F(1) : keys[0];
  };

  {
    gomap::Map<F, int> m(0, gomap::Seed{11});
    m.insert_or_assign(pz, 1);
    m.insert_or_assign(nz, 2);  // overwrites the +0 entry, key included
    EXPECT_EQ(m.size(), 1u);
    EXPECT_TRUE(std::signbit(only_key(m))) << "-0 written last, but the stored key is +0";
    ASSERT_NE(m.find(pz), nullptr);
    EXPECT_EQ(*m.find(pz), 2);
    ASSERT_NE(m.find(nz), nullptr);
    m.check_invariants();
  }
  {
    gomap::Map<F, int> m(0, gomap::Seed{12});
    m.insert_or_assign(nz, 1);
    m.insert_or_assign(pz, 2);
    EXPECT_EQ(m.size(), 1u);
    EXPECT_FALSE(std::signbit(only_key(m))) << "+0 written last, but the stored key is -0";
    EXPECT_EQ(*m.find(nz), 2);
  }
  {
    // m[k] op= x is an assignment too: Go's mapassign rewrites the key.
    gomap::Map<F, int> m(0, gomap::Seed{13});
    m.insert_or_assign(pz, 1);
    m[nz] += 1;
    EXPECT_EQ(m.size(), 1u);
    EXPECT_EQ(*m.find(pz), 2);
    EXPECT_TRUE(std::signbit(only_key(m)));
  }
  {
    // Many alternating ±0 writes, spread through a map that grows meanwhile,
    // stay one entry whose sign is the last one written.
    gomap::Map<F, int> m(0, gomap::Seed{14});
    for (int i = 0; i < 1000; ++i) {
      m.insert_or_assign((i & 1) ? nz : pz, i);
      m.insert_or_assign(F(i + 1), i);  // other keys, to force growth around the zero
    }
    EXPECT_EQ(m.size(), 1001u);
    m.check_invariants();
    int zeros = 0;
    for (auto&& [k, v] : m) {
      if (k == F(0)) {
        ++zeros;
        EXPECT_TRUE(std::signbit(k)) << "last write (i=999) was -0";
        EXPECT_EQ(v, 999);
      }
    }
    EXPECT_EQ(zeros, 1);
    m.insert_or_assign(pz, -1);
    EXPECT_EQ(m.size(), 1001u);
    EXPECT_EQ(m.erase(nz), true);  // -0 finds and removes the +0 entry
    EXPECT_FALSE(m.contains(pz));
    EXPECT_EQ(m.size(), 1000u);
  }
}

TEST(GoSemantics, NegativeZero) {
  check_negative_zero<double>();
  check_negative_zero<float>();
}

// ---------------------------------------------------------------------------
// NaN: never equal to itself, so each write adds an entry nothing can find.

TEST(GoSemantics, NanAssignment) {
  const double nan = quiet_nan();
  {
    // Go TestMapAssignmentNan: three assignments, three entries.
    gomap::Map<double, int> m(0, gomap::Seed{21});
    m.insert_or_assign(nan, 1);
    m.insert_or_assign(nan, 2);
    m.insert_or_assign(nan, 4);
    EXPECT_EQ(m.size(), 3u);
    int bits = 0, yielded = 0;
    for (auto&& [k, v] : m) {
      EXPECT_TRUE(std::isnan(k));
      EXPECT_EQ(v & (v - 1), 0) << "value " << v << " is not one of 1, 2, 4";
      bits |= v;
      ++yielded;
    }
    EXPECT_EQ(yielded, 3);
    EXPECT_EQ(bits, 7);
    m.check_invariants();

    // Lookup and erase never find a NaN.
    EXPECT_EQ(m.find(nan), nullptr);
    EXPECT_FALSE(m.contains(nan));
    EXPECT_FALSE(m.erase(nan));
    EXPECT_EQ(m.size(), 3u);

    // clear() is the one way to remove them.
    m.clear();
    EXPECT_EQ(m.size(), 0u);
    EXPECT_TRUE(m.empty());
    EXPECT_EQ(count_by_iteration(m), 0);
    m.check_invariants();
  }
  {
    // Go TestMapOperatorAssignmentNan: m[NaN] op= x adds a fresh entry, which
    // starts from 0, every time.
    gomap::Map<double, int> m(0, gomap::Seed{22});
    m[nan] += 1;
    m[nan] += 2;
    m[nan] += 4;
    EXPECT_EQ(m.size(), 3u);
    int bits = 0, yielded = 0;
    for (auto&& [k, v] : m) {
      EXPECT_TRUE(std::isnan(k));
      EXPECT_EQ(v & (v - 1), 0) << "m[NaN] += x found an older NaN entry (value " << v << ")";
      bits |= v;
      ++yielded;
    }
    EXPECT_EQ(yielded, 3);
    EXPECT_EQ(bits, 7);
  }
  {
    // test/map.go testnan: 500 NaNs, every one of them iterated.
    gomap::Map<double, int> m(0, gomap::Seed{23});
    const int n = 500;
    for (int i = 0; i < n; ++i) m.insert_or_assign(nan, i);
    EXPECT_EQ(m.size(), std::size_t(n));
    m.check_invariants();
    std::vector<int> seen(n, 0);
    int yielded = 0;
    for (auto&& [k, v] : m) {
      EXPECT_TRUE(std::isnan(k));
      ASSERT_TRUE(v >= 0 && v < n);
      ++seen[v];
      ++yielded;
    }
    EXPECT_EQ(yielded, n);
    EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n) << "some NaN entries repeated or missing";
    // Mixed with ordinary keys, NaNs do not disturb lookups.
    for (int i = 0; i < 100; ++i) m.insert_or_assign(i + 0.5, i);
    for (int i = 0; i < 100; ++i) ASSERT_NE(m.find(i + 0.5), nullptr);
    EXPECT_EQ(m.size(), std::size_t(n + 100));
    m.clear();
    EXPECT_EQ(m.size(), 0u);
    EXPECT_EQ(m.find(0.5), nullptr);
  }
}

// ---------------------------------------------------------------------------
// Big keys and values (> 128 bytes) are stored indirectly.

using BigKey = std::array<char, 256>;
struct BigValue {
  std::array<std::string, 20> s;  // 20 strings: well over 128 bytes
};
static_assert(sizeof(BigKey) > 128 && sizeof(BigValue) > 128);

BigKey big_key(int i) {
  BigKey k;
  k.fill('f');
  const std::string tag = "string" + std::to_string(i);
  std::copy(tag.begin(), tag.end(), k.begin() + 37);
  return k;
}
int big_key_id(const BigKey& k) {
  int id = 0;
  for (std::size_t p = 37 + 6; k[p] >= '0' && k[p] <= '9'; ++p) id = id * 10 + (k[p] - '0');
  return id;
}
BigValue big_value(int i) {
  BigValue v;
  for (auto& s : v.s) s = "foo";
  v.s[7] = "value" + std::to_string(i) + std::string(40, 'x');  // heap-allocated
  return v;
}

TEST(GoSemantics, BigItems) {
  gomap::Map<BigKey, BigValue> m(4, gomap::Seed{31});
  const int n = 100;
  for (int i = 0; i < n; ++i) m.insert_or_assign(big_key(i), big_value(i));
  EXPECT_EQ(m.size(), std::size_t(n));
  EXPECT_GE(m.stats().B, 4u) << "100 entries must have grown the map";
  m.check_invariants();

  // Iteration yields every key with its own value.
  std::multiset<std::string> keys, values;
  for (auto&& [k, v] : m) {
    keys.insert(std::string(k.data() + 37, k.data() + 37 + 9));
    values.insert(v.s[7]);
    EXPECT_EQ(v.s[0], "foo");
  }
  for (int i = 0; i < n; ++i) {
    const BigKey k = big_key(i);
    EXPECT_EQ(keys.count(std::string(k.data() + 37, k.data() + 37 + 9)), 1u) << i;
    EXPECT_EQ(values.count(big_value(i).s[7]), 1u) << i;
    const BigValue* v = m.find(k);
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(v->s[7], big_value(i).s[7]);
  }

  // Overwrite, erase half, iterate again.
  for (int i = 0; i < n; i += 2) EXPECT_TRUE(m.erase(big_key(i)));
  for (int i = 1; i < n; i += 2) m.insert_or_assign(big_key(i), big_value(i + 1000));
  EXPECT_EQ(m.size(), std::size_t(n / 2));
  m.check_invariants();
  int yielded = 0;
  for (auto&& [k, v] : m) {
    ++yielded;
    const int id = big_key_id(k);
    EXPECT_EQ(id & 1, 1);
    EXPECT_EQ(v.s[7], big_value(id + 1000).s[7]) << "odd keys were rewritten with values 1001..1099";
  }
  EXPECT_EQ(yielded, n / 2);
  for (int i = 0; i < n; ++i) EXPECT_EQ(m.contains(big_key(i)), (i & 1) == 1) << i;

  // stats().bytes counts the separately allocated key and value: with the
  // bucket array already allocated (hint), one insert adds exactly their size,
  // one erase takes it back.
  gomap::Map<BigKey, BigValue> h(100, gomap::Seed{32});
  const gomap::Stats s0 = h.stats();
  h.insert_or_assign(big_key(1), big_value(1));
  const gomap::Stats s1 = h.stats();
  ASSERT_EQ(s1.overflow_buckets, s0.overflow_buckets);
  EXPECT_EQ(s1.bytes - s0.bytes, sizeof(BigKey) + sizeof(BigValue));
  h.insert_or_assign(big_key(2), big_value(2));
  EXPECT_EQ(h.stats().bytes - s0.bytes, 2 * (sizeof(BigKey) + sizeof(BigValue)));
  EXPECT_TRUE(h.erase(big_key(1)));
  EXPECT_EQ(h.stats().bytes - s0.bytes, sizeof(BigKey) + sizeof(BigValue));

  // The threshold is Go's: 128 bytes stays inline (no per-entry allocation),
  // 129 bytes goes indirect.
  gomap::Map<std::uint64_t, std::array<char, 128>> inline128(100, gomap::Seed{33});
  const std::size_t b128 = inline128.stats().bytes;
  inline128.insert_or_assign(1, {});
  EXPECT_EQ(inline128.stats().bytes, b128) << "a 128-byte value must be stored in the slot";
  gomap::Map<std::uint64_t, std::array<char, 129>> indirect129(100, gomap::Seed{34});
  const std::size_t b129 = indirect129.stats().bytes;
  indirect129.insert_or_assign(1, {});
  EXPECT_EQ(indirect129.stats().bytes - b129, 129u) << "a 129-byte value must be stored indirectly";
}

// A value over 128 bytes (stored indirectly) that counts its live instances.
struct CountedBig {
  static inline int live = 0;
  std::array<char, 200> pad{};
  int id = 0;
  CountedBig() { ++live; }
  explicit CountedBig(int i) : id(i) { ++live; }
  CountedBig(const CountedBig& o) : pad(o.pad), id(o.id) { ++live; }
  CountedBig(CountedBig&& o) noexcept : pad(o.pad), id(o.id) { ++live; }
  CountedBig& operator=(const CountedBig&) = default;
  CountedBig& operator=(CountedBig&&) = default;
  ~CountedBig() { --live; }
};
static_assert(sizeof(CountedBig) > 128);

TEST(GoSemantics, BigItemsAreDestroyed) {
  // Indirectly stored values are owned by the map: every one still in the map
  // must be destroyed (and freed) by the destructor and by clear(), including
  // the copies an evacuation keeps for a live iterator.
  CountedBig::live = 0;
  {
    gomap::Map<int, CountedBig> m(0, gomap::Seed{35});
    for (int i = 0; i < 100; ++i) m.insert_or_assign(i, CountedBig(i));
    for (int i = 0; i < 30; ++i) m.erase(i);
    EXPECT_EQ(CountedBig::live, 70) << "one live value per entry";
  }
  EXPECT_EQ(CountedBig::live, 0) << "~Map left indirect values alive (leaked)";

  CountedBig::live = 0;
  {
    gomap::Map<int, CountedBig> m(0, gomap::Seed{36});
    for (int i = 0; i < 100; ++i) m.insert_or_assign(i, CountedBig(i));
    m.clear();
    EXPECT_EQ(CountedBig::live, 0) << "clear() left indirect values alive (leaked)";
    for (int i = 0; i < 10; ++i) m[i].id = i;
    EXPECT_EQ(CountedBig::live, 10);
  }
  EXPECT_EQ(CountedBig::live, 0);

  CountedBig::live = 0;
  {
    gomap::Map<int, CountedBig> m(0, gomap::Seed{37});
    for (int i = 0; i < 8; ++i) m.insert_or_assign(i, CountedBig(i));
    bool first = true;
    for (auto&& [k, v] : m) {
      (void)k;
      (void)v;
      if (first) {
        first = false;
        for (int i = 8; i < 200; ++i) m.insert_or_assign(i, CountedBig(i));  // grows under the iterator
      }
    }
    EXPECT_EQ(m.size(), 200u);
  }
  EXPECT_EQ(CountedBig::live, 0) << "values copied for a live iterator during growth were never destroyed";
}

TEST(GoSemantics, LargeKeyAndValueNoPointer) {
  using T = std::array<std::int64_t, 64>;  // 512 bytes, no pointers
  auto make_t = [](int i) {
    T t;
    for (int j = 0; j < 64; ++j) t[j] = i + j;
    return t;
  };
  const int n = 1000;
  {
    gomap::Map<T, int> m(0, gomap::Seed{41});
    for (int i = 0; i < n; ++i) m.insert_or_assign(make_t(i), i);
    m.check_invariants();
    ASSERT_EQ(m.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) {
      const int* v = m.find(make_t(i));
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, i);
    }
    EXPECT_EQ(m.find(make_t(n)), nullptr);
  }
  {
    gomap::Map<int, T> m(0, gomap::Seed{42});
    for (int i = 0; i < n; ++i) m.insert_or_assign(i, make_t(i));
    m.check_invariants();
    for (int i = 0; i < n; ++i) {
      const T* v = m.find(i);
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(*v, make_t(i)) << i;
    }
    std::size_t yielded = 0;
    for (auto&& [k, v] : m) {
      ++yielded;
      EXPECT_EQ(v, make_t(k));
    }
    EXPECT_EQ(yielded, std::size_t(n));
  }
}

// ---------------------------------------------------------------------------
// Sizing: make(map, hint) and the 6.5-per-bucket load factor.

TEST(GoSemantics, MapBucketsFromHint) {
  struct Case {
    std::size_t hint;
    std::size_t buckets;
  };
  const Case cases[] = {{0, 1}, {1, 1}, {8, 1}, {9, 2}, {13, 2}, {14, 4}, {26, 4}, {27, 8}, {52, 8}, {53, 16}};
  for (const Case& c : cases) {
    gomap::Map<int, int> m(c.hint, gomap::Seed{51});
    EXPECT_EQ(m.stats().buckets, c.buckets) << "hint " << c.hint;
    EXPECT_EQ(m.stats().buckets, std::size_t(1) << m.stats().B);
    // Filling the map up to its hint never grows it.
    for (std::size_t i = 0; i < c.hint; ++i) {
      m.insert_or_assign(int(i), int(i));
      ASSERT_FALSE(m.stats().growing) << "hint " << c.hint << " grew at insert " << i + 1;
    }
    EXPECT_EQ(m.stats().buckets, c.buckets) << "hint " << c.hint << " after " << c.hint << " inserts";
    m.check_invariants();
  }
}

TEST(GoSemantics, LoadFactorGrowthPoints) {
  // From an empty map, the bucket count after n inserts is the smallest 2^B
  // with !(n > 8 && n > 13 * 2^B / 2).
  static_assert(go_b_for_count(8) == 0 && go_b_for_count(9) == 1 && go_b_for_count(13) == 1 && go_b_for_count(14) == 2 &&
                go_b_for_count(26) == 2 && go_b_for_count(27) == 3 && go_b_for_count(52) == 3 && go_b_for_count(53) == 4);
  gomap::Map<int, int> m(0, gomap::Seed{52});
  unsigned last_B = 0;
  for (int n = 1; n <= 2000; ++n) {
    m.insert_or_assign(n, n);
    const gomap::Stats s = m.stats();
    ASSERT_EQ(s.B, go_b_for_count(std::size_t(n))) << "after " << n << " inserts";
    if (s.B != last_B) {
      // Growth doubles, one step at a time, exactly when the new count
      // crosses the load factor.
      EXPECT_EQ(s.B, last_B + 1) << n;
      EXPECT_TRUE(go_over_load_factor(std::size_t(n), last_B));
      EXPECT_FALSE(go_over_load_factor(std::size_t(n - 1), last_B));
      last_B = s.B;
    }
  }
  // Spot values called out by Go's tests.
  gomap::Map<int, int> small(0, gomap::Seed{53});
  for (int i = 0; i < 8; ++i) small.insert_or_assign(i, i);
  EXPECT_EQ(small.stats().buckets, 1u);
  small.insert_or_assign(8, 8);
  EXPECT_EQ(small.stats().buckets, 2u) << "the 9th key into one bucket must double it";
  EXPECT_FALSE(small.stats().growing) << "growth from one bucket finishes in the same write";
  small.check_invariants();
  // Overwriting an existing key never grows.
  gomap::Map<int, int> full(0, gomap::Seed{54});
  for (int i = 0; i < 13; ++i) full.insert_or_assign(i, i);
  ASSERT_EQ(full.stats().buckets, 2u);
  for (int r = 0; r < 10; ++r)
    for (int i = 0; i < 13; ++i) full.insert_or_assign(i, -i);
  EXPECT_EQ(full.stats().buckets, 2u);
  full.insert_or_assign(13, 13);
  EXPECT_EQ(full.stats().buckets, 4u);
}

// Inserts, finds and erases in a map built with an ignored hint.
void check_usable_after_hint(std::size_t hint) {
  gomap::Map<int, int> m(hint, gomap::Seed{61});
  EXPECT_EQ(m.size(), 0u);
  m.insert_or_assign(1, 10);
  m.insert_or_assign(2, 20);
  ASSERT_NE(m.find(1), nullptr) << "hint " << hint;
  EXPECT_EQ(*m.find(1), 10);
  EXPECT_EQ(*m.find(2), 20);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_TRUE(m.erase(1));
  EXPECT_FALSE(m.contains(1));
  m.check_invariants();
}

TEST(GoSemantics, IgnoreBogusMapHint) {
  // Go's make(map, -1) and make(map, 1<<62): hints whose bucket array could
  // never be allocated are ignored.
  check_usable_after_hint(std::numeric_limits<std::size_t>::max());  // Go's -1
  check_usable_after_hint(std::numeric_limits<std::size_t>::max() / 2);
  check_usable_after_hint(std::size_t(1) << 62);
  // The unseeded constructor takes the same path.
  gomap::Map<std::string, int> s(std::numeric_limits<std::size_t>::max());
  s["x"] += 3;
  EXPECT_EQ(*s.find("x"), 3);
}

TEST(GoSemantics, IgnoreBogusMapHintTerabytes) {
  // A hint below the engine's 2^48-byte cutoff whose bucket array is still
  // absurd (1<<40 entries: ~2^37 buckets, tens of terabytes). Map's constructor
  // (gomap/map.hpp) ignores absurd hints instead of failing: this must neither throw nor abort,
  // in every build the project ships, sanitizer builds included.
  check_usable_after_hint(std::size_t(1) << 40);
  check_usable_after_hint(std::size_t(1) << 36);
}

// ---------------------------------------------------------------------------
// Go issue 25936: after a delete, m[k] op= x must start from a zero value even
// when the new key lands in the slot the deleted one used.

TEST(GoSemantics, IncrementAfterDeleteValueInt) {
  gomap::Map<int, int> m(0, gomap::Seed{71});
  m.insert_or_assign(12, 99);
  EXPECT_TRUE(m.erase(12));
  m[13] += 1;  // a one-bucket map: 13 reuses 12's slot
  EXPECT_EQ(*m.find(13), 1);
  m[12] += 1;  // and the deleted key itself restarts from zero
  EXPECT_EQ(*m.find(12), 1);

  gomap::Map<int, std::int64_t> m64(0, gomap::Seed{72});
  m64.insert_or_assign(12, 99);
  m64.erase(12);
  ++m64[13];
  EXPECT_EQ(*m64.find(13), 1);
}

TEST(GoSemantics, IncrementAfterDeleteKeyString) {
  gomap::Map<std::string, int> mi(0, gomap::Seed{73});
  mi.insert_or_assign("", 99);
  mi.erase("");
  mi["x"] += 1;
  EXPECT_EQ(*mi.find("x"), 1);
  mi[""] += 1;
  EXPECT_EQ(*mi.find(""), 1);

  gomap::Map<std::string, std::string> ms(0, gomap::Seed{74});
  ms.insert_or_assign("", "99");
  ms.erase("");
  ms["x"] += "1";
  EXPECT_EQ(*ms.find("x"), "1");
}

TEST(GoSemantics, IncrementAfterDeleteBigValue) {
  struct Counter {
    std::array<std::int64_t, 32> a{};  // 256 bytes: stored indirectly
  };
  gomap::Map<int, Counter> m(0, gomap::Seed{75});
  m[12].a.fill(99);
  m.erase(12);
  m[13].a[5] += 1;
  const Counter* c = m.find(13);
  ASSERT_NE(c, nullptr);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(c->a[i], i == 5 ? 1 : 0) << i;
}

TEST(GoSemantics, IncrementAfterBulkClear) {
  {
    // clear()
    gomap::Map<std::string, int> m(0, gomap::Seed{76});
    m.insert_or_assign("", 99);
    m.insert_or_assign("x", 98);
    m.clear();
    m["x"] += 1;
    EXPECT_EQ(*m.find("x"), 1);
    m[""]++;
    EXPECT_EQ(*m.find(""), 1);
    EXPECT_EQ(m.size(), 2u);
  }
  {
    // The delete-everything-in-range idiom.
    gomap::Map<std::string, int> m(0, gomap::Seed{77});
    m.insert_or_assign("", 99);
    for (auto&& [k, v] : m) {
      const std::string key = k;
      m.erase(key);
    }
    EXPECT_TRUE(m.empty());
    m["x"]++;
    EXPECT_EQ(*m.find("x"), 1);
  }
  {
    // A big value after clear of a grown map.
    gomap::Map<int, std::array<std::int64_t, 20>> m(0, gomap::Seed{78});
    for (int i = 0; i < 100; ++i) m[i].fill(i + 1);
    m.clear();
    for (int i = 0; i < 100; ++i) m[i][0] += 1;
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ((*m.find(i))[0], 1);
      EXPECT_EQ((*m.find(i))[19], 0);
    }
  }
}

}  // namespace
