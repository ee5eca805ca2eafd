// invariants_test.cpp — check_invariants() bites, and a randomized
// differential run that calls it after every operation.
//
// (a) InvariantsBite: for each invariant check_invariants() enforces that can
//     be reached through gomap::MapTestAccess, corrupt a healthy map, expect
//     InvariantError naming that invariant and its location, restore the byte
//     or key, and expect the map to pass again. Not reachable through the
//     backdoor (it has no setter for B, nevacuate, noverflow or the table
//     pointers): array-size-is-2^B, growth-has-new-array, nevacuate-in-range,
//     noverflow-counts-overflow-buckets.
// (b) InvariantsDifferential: several fixed seeds x a few thousand random
//     operations against std::unordered_map, for integer keys with a small
//     domain, long string keys, double keys (NaN, +-0, inf, subnormals) and a
//     degenerate hash (long chains, same-size growth).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "gomap/map.hpp"
#include "support/map_test_access.hpp"
#include "support/counting.hpp"
#include "support/map_helpers.hpp"

namespace {

using gomap::Map;
using gomap::MapTestAccess;
using gomap::Seed;
using A = gomap::MapTestAccess;
using gomap_test::SlotRef;

// ===========================================================================
// (a) check_invariants bites
// ===========================================================================

// check_invariants() must throw InvariantError whose message names
// `invariant` and contains `where` (e.g. "bucket 3" or "header").
template <class M>
::testing::AssertionResult Violates(const M& m, const std::string& invariant, const std::string& where) {
  try {
    m.check_invariants();
  } catch (const gomap::InvariantError& e) {
    const std::string what = e.what();
    if (what.find("'" + invariant + "'") == std::string::npos) {
      return ::testing::AssertionFailure() << "expected invariant '" << invariant << "', got: " << what;
    }
    if (what.find(where) == std::string::npos) {
      return ::testing::AssertionFailure() << "expected location containing \"" << where << "\", got: " << what;
    }
    return ::testing::AssertionSuccess() << what;
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "wrong exception type: " << e.what();
  }
  return ::testing::AssertionFailure() << "check_invariants() accepted the corrupted map (" << invariant << ")";
}

template <class M>
::testing::AssertionResult Healthy(const M& m) {
  try {
    m.check_invariants();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << e.what();
  }
  return ::testing::AssertionSuccess();
}

std::string bucket_at(const SlotRef& s) {
  return std::string(s.old ? "old" : "new") + " bucket " + std::to_string(s.bucket);
}
std::string slot_at(const SlotRef& s) {
  std::string w = bucket_at(s);
  if (s.chain != 0) w += " overflow#" + std::to_string(s.chain);
  return w + " slot " + std::to_string(s.slot);
}

using U64Map = Map<std::uint64_t, std::uint64_t>;

U64Map healthy_map(std::size_t n = 100, std::uint64_t seed = 42) {
  U64Map m(0, Seed{seed});
  for (std::uint64_t i = 0; i < n; ++i) m.insert_or_assign(i * 7919, i);
  return m;
}

// A map in the middle of a doubling growth with many old buckets left.
U64Map growing_map(std::uint64_t seed = 43) {
  U64Map m(0, Seed{seed});
  std::uint64_t i = 0;
  while (!(m.stats().growing && gomap_test::old_bucket_count(m) >= 16)) {
    m.insert_or_assign(i * 7919, i);
    ++i;
  }
  return m;
}

std::size_t bucket_of(const U64Map& m, std::uint64_t k, bool old = false) {
  const std::size_t n = old ? gomap_test::old_bucket_count(m) : m.stats().buckets;
  return A::hash_of(m, k) & (n - 1);
}

// First chain-0 bucket with at least `min_filled` filled leading slots and,
// when want_rest, an emptyRest tail.
template <class M>
std::optional<std::size_t> bucket_with_prefix(M& m, unsigned min_filled, bool want_rest, bool old = false) {
  const std::size_t nb = old ? gomap_test::old_bucket_count(m) : m.stats().buckets;
  for (std::size_t b = 0; b < nb; ++b) {
    if (A::chain_length(m, b, old) != 1) continue;
    unsigned filled = 0;
    while (filled < 8 && A::tophash(m, b, filled, 0, old) >= A::kMinTopHash) ++filled;
    if (filled < min_filled) continue;
    if (want_rest && (filled == 8 || A::tophash(m, b, filled, 0, old) != A::kEmptyRest)) continue;
    if (old && A::tophash(m, b, 0, 0, true) < A::kMinTopHash) continue;
    return b;
  }
  return std::nullopt;
}

// Go's tophash(): the top byte, bumped past the reserved states.
std::uint8_t tophash_of(std::uint64_t hash) {
  std::uint8_t top = static_cast<std::uint8_t>(hash >> 56);
  return top < A::kMinTopHash ? static_cast<std::uint8_t>(top + A::kMinTopHash) : top;
}

TEST(InvariantsBite, HealthyMapsPass) {
  EXPECT_TRUE(Healthy(U64Map()));
  EXPECT_TRUE(Healthy(healthy_map()));
  EXPECT_TRUE(Healthy(growing_map()));
}

TEST(InvariantsBite, CountMatchesSlots) {
  auto m = healthy_map();
  A::set_count(m, 101);
  EXPECT_TRUE(Violates(m, "count-matches-slots", "header"));
  A::set_count(m, 99);
  EXPECT_TRUE(Violates(m, "count-matches-slots", "header"));
  A::set_count(m, 100);
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, KeyInItsHashBucket) {
  auto m = healthy_map();
  const SlotRef s = gomap_test::filled_slots(m).at(0);
  std::uint64_t& key = A::key(m, s.bucket, s.slot, s.chain);
  const std::uint64_t saved = key;
  std::uint64_t other = 1;
  while (m.contains(other) || bucket_of(m, other) == s.bucket) ++other;
  key = other;
  EXPECT_TRUE(Violates(m, "key-in-its-hash-bucket", slot_at(s)));
  key = saved;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, KeyInItsHashBucketInOldArray) {
  auto m = growing_map();
  const auto b = bucket_with_prefix(m, 1, false, /*old=*/true);
  ASSERT_TRUE(b.has_value());
  std::uint64_t& key = A::key(m, *b, 0, 0, true);
  const std::uint64_t saved = key;
  std::uint64_t other = 1;
  while (m.contains(other) || bucket_of(m, other, true) == *b) ++other;
  key = other;
  EXPECT_TRUE(Violates(m, "key-in-its-hash-bucket", "old bucket " + std::to_string(*b)));
  key = saved;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, TophashMatchesHash) {
  auto m = healthy_map();
  const SlotRef s = gomap_test::filled_slots(m).at(3);
  std::uint8_t& top = A::tophash(m, s.bucket, s.slot, s.chain);
  const std::uint8_t saved = top;
  top = saved == 200 ? 201 : 200;
  EXPECT_TRUE(Violates(m, "tophash-matches-hash", slot_at(s)));
  top = saved;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NothingAfterEmptyRest) {
  auto m = healthy_map();
  const auto b = bucket_with_prefix(m, 2, false);
  ASSERT_TRUE(b.has_value());
  std::uint8_t& top = A::tophash(m, *b, 0);
  const std::uint8_t saved = top;
  top = A::kEmptyRest;  // slot 1 is filled: a filled slot after emptyRest
  EXPECT_TRUE(Violates(m, "nothing-after-emptyRest", "new bucket " + std::to_string(*b) + " slot 1"));
  top = A::kEmptyOne;  // the legal form of the same hole
  EXPECT_TRUE(Violates(m, "count-matches-slots", "header"));
  top = saved;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NothingAfterEmptyRestAcrossOverflow) {
  // A chain of several buckets: an emptyRest in the first bucket while the
  // overflow bucket still holds entries.
  Map<std::uint64_t, std::uint64_t, gomap_test::ConstantHash<std::uint64_t>> m(0, Seed{44});
  for (std::uint64_t i = 0; i < 20; ++i) m.insert_or_assign(i, i);
  ASSERT_GE(A::chain_length(m, 0), 2u);
  std::uint8_t& top = A::tophash(m, 0, 7, 0);
  const std::uint8_t saved = top;
  top = A::kEmptyRest;
  EXPECT_TRUE(Violates(m, "nothing-after-emptyRest", "overflow#1 slot 0"));
  top = saved;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NoTrailingEmptyOne) {
  auto m = healthy_map();
  const auto b = bucket_with_prefix(m, 1, /*want_rest=*/true);
  ASSERT_TRUE(b.has_value());
  unsigned last = 0;
  while (A::tophash(m, *b, last + 1) >= A::kMinTopHash) ++last;
  std::uint8_t& top = A::tophash(m, *b, last);
  const std::uint8_t saved = top;
  top = A::kEmptyOne;  // as if erase had skipped the backward emptyRest walk
  EXPECT_TRUE(Violates(m, "no-trailing-emptyOne", "new bucket " + std::to_string(*b) + " slot " + std::to_string(last)));
  top = saved;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NoTrailingEmptyOneAtEndOfChain) {
  // The walk must cross back into earlier buckets of the chain: an emptyOne
  // in slot 7 of the first bucket followed by an all-emptyRest overflow.
  Map<std::uint64_t, std::uint64_t, gomap_test::ConstantHash<std::uint64_t>> m(0, Seed{45});
  for (std::uint64_t i = 0; i < 9; ++i) m.insert_or_assign(i, i);  // B=0 holds 8 before growing
  m.erase(8);
  const std::size_t len = A::chain_length(m, 0);
  if (len >= 2) {
    ASSERT_EQ(A::tophash(m, 0, 0, 1), A::kEmptyRest);
    std::uint8_t& top = A::tophash(m, 0, 7, 0);
    const std::uint8_t saved = top;
    top = A::kEmptyOne;
    EXPECT_TRUE(Violates(m, "no-trailing-emptyOne", "bucket 0 slot 7"));
    top = saved;
  } else {
    // Grew instead; corrupt the last slot of the single bucket.
    std::uint8_t& top = A::tophash(m, 0, 7, 0);
    const std::uint8_t saved = top;
    top = A::kEmptyOne;
    EXPECT_TRUE(Violates(m, "no-trailing-emptyOne", "bucket 0 slot 7"));
    top = saved;
  }
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NoDuplicateKeys) {
  auto m = healthy_map();
  const auto b = bucket_with_prefix(m, 2, false);
  ASSERT_TRUE(b.has_value());
  std::uint64_t& k1 = A::key(m, *b, 1);
  std::uint8_t& t1 = A::tophash(m, *b, 1);
  const std::uint64_t saved_k = k1;
  const std::uint8_t saved_t = t1;
  k1 = A::key(m, *b, 0);
  t1 = A::tophash(m, *b, 0);
  EXPECT_TRUE(Violates(m, "no-duplicate-keys", "new bucket " + std::to_string(*b) + " slot 1"));
  k1 = saved_k;
  t1 = saved_t;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, EvacuationMarksOnlyInEvacuatedOldBuckets) {
  auto m = healthy_map();
  const SlotRef s = gomap_test::filled_slots(m).at(5);
  for (std::uint8_t mark : {A::kEvacuatedX, A::kEvacuatedY, A::kEvacuatedEmpty}) {
    std::uint8_t& top = A::tophash(m, s.bucket, s.slot, s.chain);
    const std::uint8_t saved = top;
    top = mark;
    EXPECT_TRUE(Violates(m, "evacuation-marks-only-in-evacuated-old-buckets", slot_at(s))) << int(mark);
    top = saved;
  }
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, EvacuationMarksOnlyInEvacuatedOldBucketsOldArray) {
  auto m = growing_map();
  const auto b = bucket_with_prefix(m, 2, false, /*old=*/true);
  ASSERT_TRUE(b.has_value());
  std::uint8_t& top = A::tophash(m, *b, 1, 0, true);
  const std::uint8_t saved = top;
  top = A::kEvacuatedY;  // a half-evacuated old bucket
  EXPECT_TRUE(Violates(m, "evacuation-marks-only-in-evacuated-old-buckets", "old bucket " + std::to_string(*b) + " slot 1"));
  top = saved;
  EXPECT_TRUE(Healthy(m));
}

std::optional<std::size_t> evacuated_old_bucket(U64Map& m) {
  for (std::size_t y = 0; y < gomap_test::old_bucket_count(m); ++y) {
    const std::uint8_t t = A::tophash(m, y, 0, 0, true);
    if (t >= A::kEvacuatedX && t <= A::kEvacuatedEmpty) return y;
  }
  return std::nullopt;
}

TEST(InvariantsBite, EvacuationCoversWholeChain) {
  auto m = growing_map();
  const auto y = evacuated_old_bucket(m);
  ASSERT_TRUE(y.has_value());
  for (unsigned slot : {3u, 7u}) {
    std::uint8_t& top = A::tophash(m, *y, slot, 0, true);
    const std::uint8_t saved = top;
    top = A::kEmptyRest;  // a slot the evacuation skipped
    EXPECT_TRUE(Violates(m, "evacuation-covers-whole-chain", "old bucket " + std::to_string(*y) + " slot " + std::to_string(slot)));
    top = 77;  // a still-filled slot in an evacuated bucket
    EXPECT_TRUE(Violates(m, "evacuation-covers-whole-chain", "old bucket " + std::to_string(*y)));
    top = saved;
  }
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NewBucketEmptyUntilEvacuated) {
  auto m = growing_map();
  const std::size_t old_n = gomap_test::old_bucket_count(m);
  std::optional<std::size_t> y;
  for (std::size_t i = m.stats().nevacuate; i < old_n; ++i) {
    const std::uint8_t t = A::tophash(m, i, 0, 0, true);
    if (!(t >= A::kEvacuatedX && t <= A::kEvacuatedEmpty)) {
      y = i;
      break;
    }
  }
  ASSERT_TRUE(y.has_value());
  for (std::size_t x : {*y, *y + old_n}) {  // the X and Y destinations
    std::uint8_t& top = A::tophash(m, x, 7, 0);
    ASSERT_EQ(top, A::kEmptyRest);
    top = A::kEmptyOne;
    EXPECT_TRUE(Violates(m, "new-bucket-empty-until-evacuated", "new bucket " + std::to_string(x)));
    top = A::kEmptyRest;
  }
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, EvacuatedBelowNevacuate) {
  // All keys in bucket 0: the other old buckets evacuate empty, and their new
  // buckets stay empty, so un-marking one leaves only this invariant broken.
  Map<std::uint64_t, std::uint64_t, gomap_test::ConstantHash<std::uint64_t>> m(0, Seed{46});
  std::uint64_t i = 0;
  while (!(m.stats().growing && gomap_test::old_bucket_count(m) >= 4 && m.stats().nevacuate >= 2)) {
    m.insert_or_assign(i++, 0);
    ASSERT_LT(i, 10000u);
  }
  const std::size_t y = 1;
  ASSERT_LT(y, m.stats().nevacuate);
  ASSERT_EQ(A::chain_length(m, y, true), 1u);
  for (unsigned s = 0; s < 8; ++s) {
    ASSERT_EQ(A::tophash(m, y, s, 0, true), A::kEvacuatedEmpty);
    A::tophash(m, y, s, 0, true) = A::kEmptyRest;
  }
  EXPECT_TRUE(Violates(m, "evacuated-below-nevacuate", "old bucket 1"));
  for (unsigned s = 0; s < 8; ++s) A::tophash(m, y, s, 0, true) = A::kEvacuatedEmpty;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, NoWriteInProgress) {
  auto m = healthy_map();
  const std::uint8_t f = A::flags(m);
  A::set_flags(m, f | A::kHashWriting);
  EXPECT_TRUE(Violates(m, "no-write-in-progress", "header"));
  A::set_flags(m, f);
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, SameSizeFlagOnlyWhileGrowing) {
  auto m = healthy_map();
  const std::uint8_t f = A::flags(m);
  A::set_flags(m, f | A::kSameSizeGrow);
  EXPECT_TRUE(Violates(m, "same-size-flag-only-while-growing", "header"));
  A::set_flags(m, f);
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, OldArrayIsHalf) {
  // A doubling growth that claims to be same-size: the old array has the
  // wrong number of buckets for that.
  auto m = growing_map();
  const std::uint8_t f = A::flags(m);
  A::set_flags(m, f | A::kSameSizeGrow);
  EXPECT_TRUE(Violates(m, "old-array-is-half", "header"));
  A::set_flags(m, f);
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, LoadFactorBound) {
  // B=1 holds at most 13 entries (+1 per old bucket while growing); fill all
  // 16 slots by hand with keys that belong there.
  U64Map m(10, Seed{47});
  ASSERT_EQ(m.stats().B, 1u);
  for (std::uint64_t i = 0; i < 10; ++i) m.insert_or_assign(i, i);
  ASSERT_EQ(m.stats().B, 1u);
  ASSERT_EQ(m.stats().overflow_buckets, 0u);
  std::vector<SlotRef> planted;
  std::uint64_t next = 1000;
  for (std::size_t b = 0; b < 2; ++b) {
    for (unsigned s = 0; s < 8; ++s) {
      if (A::tophash(m, b, s) >= A::kMinTopHash) continue;
      ASSERT_EQ(A::tophash(m, b, s), A::kEmptyRest);
      while (bucket_of(m, next) != b) ++next;
      A::key(m, b, s) = next;  // trivial key type: plain bytes
      A::tophash(m, b, s) = tophash_of(A::hash_of(m, next));
      A::note_filter(m, b, A::tophash(m, b, s));  // as an insertion would
      planted.push_back(SlotRef{b, 0, s, false});
      ++next;
    }
  }
  ASSERT_EQ(planted.size(), 6u);
  A::set_count(m, 16);
  EXPECT_TRUE(Violates(m, "load-factor-bound", "header"));
  for (const SlotRef& s : planted) A::tophash(m, s.bucket, s.slot) = A::kEmptyRest;
  A::set_count(m, 10);
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, FilterCoversChain) {
  gomap::Map<std::uint64_t, std::uint64_t> m(0, gomap::Seed{77});
  for (std::uint64_t i = 0; i < 40; ++i) m.insert_or_assign(i, i);
  ASSERT_TRUE(Healthy(m));
  // Find a bucket with entries and drop its filter: lookups would miss.
  std::size_t victim = 0;
  while (A::tophash(m, victim, 0) < A::kMinTopHash) ++victim;
  const std::uint16_t saved = A::filter(m, victim);
  A::filter(m, victim) = 0;
  EXPECT_TRUE(Violates(m, "filter-covers-chain", "bucket " + std::to_string(victim)));
  A::filter(m, victim) = saved;
  EXPECT_TRUE(Healthy(m));
  // Extra bits are allowed (the filter is a superset), missing ones are not.
  A::filter(m, victim) = 0xffff;
  EXPECT_TRUE(Healthy(m));
}

TEST(InvariantsBite, SameSizeGrowthUsesXOnly) {
  using H = gomap_test::FewBitsHash<std::uint64_t, 2>;
  Map<std::uint64_t, std::uint64_t, H> m(20, Seed{48});
  ASSERT_EQ(m.stats().B, 2u);
  for (std::uint64_t i = 0; i < 8; ++i) m.insert_or_assign(1000000 + i, i);
  // Churn chains bucket by bucket until a same-size growth starts.
  std::int64_t cursor = 0;
  bool started = false;
  for (int round = 0; round < 20 && !started; ++round) {
    for (std::size_t bucket = 0; bucket < 4 && !started; ++bucket) {
      auto keys = gomap_test::keys_where<std::uint64_t>(
          12, cursor, [](std::int64_t i) { return static_cast<std::uint64_t>(i); },
          [&](std::uint64_t k) { return H::bucket_of(k, 2) == bucket; });
      for (std::uint64_t k : keys) {
        m.insert_or_assign(k, 1);
        if (m.stats().same_size_grow) {
          started = true;
          break;
        }
      }
      if (!started)
        for (std::uint64_t k : keys) m.erase(k);
    }
  }
  ASSERT_TRUE(started);
  ASSERT_TRUE(Healthy(m));
  // An evacuated old bucket holding an evacuatedX mark.
  std::optional<SlotRef> x;
  for (std::size_t y = 0; y < 4 && !x; ++y) {
    const std::size_t len = A::chain_length(m, y, true);
    for (std::size_t c = 0; c < len && !x; ++c)
      for (unsigned s = 0; s < 8 && !x; ++s)
        if (A::tophash(m, y, s, c, true) == A::kEvacuatedX) x = SlotRef{y, c, s, true};
  }
  ASSERT_TRUE(x.has_value());
  std::uint8_t& top = A::tophash(m, x->bucket, x->slot, x->chain, true);
  top = A::kEvacuatedY;
  EXPECT_TRUE(Violates(m, "same-size-growth-uses-X-only", slot_at(*x)));
  top = A::kEvacuatedX;
  EXPECT_TRUE(Healthy(m));
}

// ===========================================================================
// (b) randomized differential runs
// ===========================================================================

// A key type policy: the map type, key and value generation, and how the
// model (std::unordered_map) represents a key (nullopt: NaN, never found).
struct U64Policy {
  using K = std::uint64_t;
  using V = std::uint64_t;
  using MapT = Map<K, V>;
  using MK = K;
  static K key(std::mt19937_64& r) { return r() % 64; }  // small domain: reuse, erase, reinsert
  static V value(std::mt19937_64& r) { return r() % 1000; }
  static std::optional<MK> model_key(K k) { return k; }
  static void add(V& v, V x) { v += x; }
};

// Only eight buckets are ever used. The run goes in phases of 80 operations
// over one "hot" bucket at a time: fill its chain, then empty it again. The
// count stays low while emptied overflow buckets pile up, which is what makes
// Go start a same-size growth.
struct FewBitsPolicy : U64Policy {
  using H = gomap_test::FewBitsHash<K, 3>;
  using MapT = Map<K, V, H>;
  static K key(std::mt19937_64& r) { return r() % 400; }
  static K phased_key(std::mt19937_64& r, int op, bool& erase_heavy) {
    static const std::vector<std::vector<K>> pools = [] {
      std::vector<std::vector<K>> p(8);
      for (K k = 0; k < 100000 && p[7].size() < 48; ++k) {
        auto& pool = p[H::bucket_of(k, 3)];
        if (pool.size() < 48) pool.push_back(k);
      }
      return p;
    }();
    const int phase = op / 80;
    erase_heavy = (phase & 1) != 0;
    if (r() % 10 == 0) return key(r);
    const auto& pool = pools[(phase / 2) % 8];
    return pool[r() % pool.size()];
  }
};

struct StringPolicy {
  using K = std::string;
  using V = std::string;
  using MapT = Map<K, V>;
  using MK = K;
  static K key(std::mt19937_64& r) {
    const unsigned i = static_cast<unsigned>(r() % 120);
    if (i % 4 == 0) return "long-" + std::to_string(i) + std::string(200 + i, static_cast<char>('a' + i % 26));
    if (i == 1) return std::string();
    return "k" + std::to_string(i);
  }
  static V value(std::mt19937_64& r) { return std::string(r() % 40, static_cast<char>('A' + r() % 26)); }
  static std::optional<MK> model_key(const K& k) { return k; }
  static void add(V& v, const V& x) {
    v += x.substr(0, 3);
    if (v.size() > 64) v.erase(0, 32);
  }
};

struct DoublePolicy {
  using K = double;
  using V = int;
  using MapT = Map<K, V>;
  using MK = double;
  static K key(std::mt19937_64& r) {
    constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
    constexpr double kInf = std::numeric_limits<double>::infinity();
    constexpr double kDen = std::numeric_limits<double>::denorm_min();
    static const double specials[] = {0.0,  -0.0, kInf, -kInf, kDen, -kDen, 2 * kDen, std::numeric_limits<double>::min(),
                                      -std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
                                      std::numeric_limits<double>::lowest(), 0.5, -1.5, 1e300};
    const unsigned c = static_cast<unsigned>(r() % 100);
    if (c < 3) return c == 0 ? kNaN : -std::nan("7");  // NaN payloads and signs
    if (c < 30) return specials[r() % (sizeof specials / sizeof specials[0])];
    return static_cast<double>(static_cast<int>(r() % 50) - 25) / 4.0;
  }
  static V value(std::mt19937_64& r) { return static_cast<int>(r() % 1000); }
  static std::optional<MK> model_key(K k) {
    if (std::isnan(k)) return std::nullopt;
    return k == 0.0 ? 0.0 : k;  // fold -0.0 into +0.0
  }
  static void add(V& v, V x) { v += x; }
};

template <class P>
class DifferentialRun {
 public:
  using K = typename P::K;
  using V = typename P::V;
  using M = typename P::MapT;
  using MK = typename P::MK;

  explicit DifferentialRun(std::uint64_t seed) : rng_(seed), m_(rng_() % 40, Seed{seed}) {}

  void run(int ops) {
    for (op_ = 0; op_ < ops; ++op_) {
      step();
      if (::testing::Test::HasFatalFailure()) return;
    }
    ASSERT_NO_FATAL_FAILURE(compare_by_iteration(m_));
  }

  bool saw_same_size_growth() const { return saw_same_size_; }
  bool saw_growth() const { return saw_growth_; }

 private:
  struct Entry {
    V value;
    bool negative_zero = false;  // the stored key is -0.0 (Go: the last write's sign)
  };

  static bool neg_zero(const K& k) {
    if constexpr (std::is_floating_point_v<K>) return k == 0 && std::signbit(k);
    return false;
  }

  void step() {
    unsigned c = static_cast<unsigned>(rng_() % 1000);
    K k;
    if constexpr (requires(bool& e) { P::phased_key(rng_, 0, e); }) {
      bool erase_heavy = false;
      k = P::phased_key(rng_, op_, erase_heavy);
      if (erase_heavy && c < 500) c = 600;  // erase instead of insert
    } else {
      k = P::key(rng_);
    }
    const auto mk = P::model_key(k);
    if (c < 350) {
      const V v = P::value(rng_);
      m_.insert_or_assign(k, v);
      if (mk) {
        model_[*mk] = Entry{v, neg_zero(k)};
      } else {
        ++nans_;
      }
    } else if (c < 500) {
      const V v = P::value(rng_);
      P::add(m_[k], v);
      if (mk) {
        auto [it, fresh] = model_.try_emplace(*mk, Entry{V{}, false});
        P::add(it->second.value, v);
        it->second.negative_zero = neg_zero(k);
      } else {
        ++nans_;
      }
    } else if (c < 800) {
      const bool erased = m_.erase(k);
      ASSERT_EQ(erased, mk && model_.erase(*mk) == 1) << where();
    } else if (c < 960) {
      // lookups only
    } else if (c < 966) {
      const unsigned B = m_.stats().B;
      m_.clear();
      model_.clear();
      nans_ = 0;
      ASSERT_EQ(m_.stats().B, B) << "clear() must keep B" << where();
    } else if (c < 972) {
      m_.compact();
      ASSERT_FALSE(m_.stats().growing) << where();
      ASSERT_EQ(m_.stats().B, gomap_test::go_b_for_count(m_.size())) << where();
    } else if (c < 978) {
      M copy(m_);
      ASSERT_NO_FATAL_FAILURE(copy.check_invariants());
      ASSERT_NO_FATAL_FAILURE(compare_by_iteration(copy));
      if (rng_() & 1) {
        m_ = copy;
      } else {
        m_ = std::move(copy);
      }
    } else {
      ASSERT_NO_FATAL_FAILURE(iterate_and_erase());
    }
    if (m_.stats().growing) {
      saw_growth_ = true;
      if (m_.stats().same_size_grow) saw_same_size_ = true;
    }
    ASSERT_EQ(m_.size(), model_.size() + nans_) << where();
    try {
      m_.check_invariants();
    } catch (const gomap::InvariantError& e) {
      FAIL() << e.what() << where();
    }
    const V* found = m_.find(k);
    if (!mk) {
      ASSERT_EQ(found, nullptr) << "NaN must never be found" << where();
      ASSERT_FALSE(m_.contains(k));
    } else {
      const auto it = model_.find(*mk);
      ASSERT_EQ(found != nullptr, it != model_.end()) << where();
      if (found) {
        ASSERT_EQ(*found, it->second.value) << where();
      }
      ASSERT_EQ(m_.contains(k), it != model_.end()) << where();
    }
  }

  // Erase every yielded key whose value is odd, inside the loop. With no
  // insertions, every entry is yielded exactly once.
  void iterate_and_erase() {
    std::unordered_set<MK> seen;
    std::size_t nan_yields = 0;
    std::size_t erased_nans = 0;
    for (auto&& [k, v] : m_) {
      const auto mk = P::model_key(k);
      if (!mk) {
        ++nan_yields;
        continue;
      }
      ASSERT_TRUE(seen.insert(*mk).second) << "key yielded twice" << where();
      const auto it = model_.find(*mk);
      ASSERT_NE(it, model_.end()) << "yielded a key that is not in the map" << where();
      ASSERT_EQ(v, it->second.value) << where();
      if (value_is_odd(v)) {
        const K copy = k;
        ASSERT_TRUE(m_.erase(copy)) << where();
        model_.erase(*mk);
      }
    }
    (void)erased_nans;
    ASSERT_EQ(nan_yields, nans_) << "every NaN entry is yielded once" << where();
    for (const auto& [mk, e] : model_) ASSERT_TRUE(seen.count(mk)) << "entry not yielded" << where();
  }

  static bool value_is_odd(const V& v) {
    if constexpr (std::is_integral_v<V>) {
      return (v & 1) != 0;
    } else {
      return v.size() % 2 == 1;
    }
  }

  void compare_by_iteration(const M& m) {
    std::unordered_set<MK> seen;
    std::size_t nan_yields = 0;
    for (auto&& [k, v] : m) {
      const auto mk = P::model_key(k);
      if (!mk) {
        ++nan_yields;
        continue;
      }
      ASSERT_TRUE(seen.insert(*mk).second) << where();
      const auto it = model_.find(*mk);
      ASSERT_NE(it, model_.end()) << where();
      ASSERT_EQ(v, it->second.value) << where();
      ASSERT_EQ(neg_zero(k), it->second.negative_zero) << "stored zero key has the wrong sign" << where();
    }
    ASSERT_EQ(seen.size(), model_.size()) << where();
    ASSERT_EQ(nan_yields, nans_) << where();
  }

  std::string where() const { return " (op " + std::to_string(op_) + ")"; }

  std::mt19937_64 rng_;
  M m_;
  std::unordered_map<MK, Entry> model_;
  std::size_t nans_ = 0;
  int op_ = 0;
  bool saw_growth_ = false;
  bool saw_same_size_ = false;
};

TEST(InvariantsDifferential, Uint64SmallDomain) {
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    DifferentialRun<U64Policy> r(seed);
    r.run(5000);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    EXPECT_TRUE(r.saw_growth());
  }
}

TEST(InvariantsDifferential, LongStrings) {
  for (std::uint64_t seed : {11, 12, 13}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    DifferentialRun<StringPolicy> r(seed);
    r.run(4000);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
}

TEST(InvariantsDifferential, DoublesWithNaNAndSignedZero) {
  for (std::uint64_t seed : {21, 22, 23, 24, 25}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    DifferentialRun<DoublePolicy> r(seed);
    r.run(5000);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
  }
}

TEST(InvariantsDifferential, FewBitsHashLongChains) {
  bool same_size = false;
  for (std::uint64_t seed : {31, 32, 33, 34, 35}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    DifferentialRun<FewBitsPolicy> r(seed);
    r.run(5000);
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    same_size = same_size || r.saw_same_size_growth();
  }
  EXPECT_TRUE(same_size) << "the degenerate-hash runs should reach a same-size growth";
}

}  // namespace
