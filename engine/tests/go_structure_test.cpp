// Go map internals that decide its guarantees, checked through
// gomap::MapTestAccess: tombstones (emptyOne/emptyRest), slot reuse, clear(),
// seed re-randomisation, same-size growth and incremental evacuation.
//
//   MapTombstones, TombstoneBackwardWalk   runtime TestMapTombstones (+MapTombstoneCheck)
//   InsertReusesFirstEmptySlot             mapassign's first-empty-slot rule
//   ClearKeepsBucketArray                  clear(m): Go 1.21 mapclear + Go 1.24 clearSeq
//   SeedRerandomisedWhenEmptied            Go issue 25237
//   SameSizeGrowth                         hashGrow with sameSizeGrow (tooManyOverflowBuckets)
//   IncrementalEvacuation                  growWork / evacuate / advanceEvacuationMark
//
// Placement is controlled with IdentityHash (the key is its own hash): the low
// bits pick the bucket and the top byte becomes the tophash.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "go_test_support.hpp"

namespace {

using namespace gomap_go_tests;
using A = gomap::MapTestAccess;
using PlacedMap = gomap::Map<std::uint64_t, int, IdentityHash>;

// ---------------------------------------------------------------------------

TEST(GoStructure, MapTombstones) {
  gomap::Map<int, int> m(0, gomap::Seed{1001});
  const int n = 10000;
  for (int i = 0; i < n; ++i) m.insert_or_assign(i, i);
  EXPECT_EQ(tombstone_violation(m), "");
  for (int i = 0; i < n; i += 2) m.erase(i);  // every other key
  EXPECT_EQ(tombstone_violation(m), "");
  m.check_invariants();
  for (int i = n; i < 3 * n / 2; ++i) m.insert_or_assign(i, i);  // refill holes
  EXPECT_EQ(tombstone_violation(m), "");
  for (int i = 0; i < 3 * n / 2; ++i) m.erase(i);  // everything
  EXPECT_EQ(tombstone_violation(m), "");
  EXPECT_EQ(m.size(), 0u);
  m.check_invariants();
  // An emptied map is all emptyRest: every chain ends at its first slot.
  const gomap::Stats s = m.stats();
  ASSERT_FALSE(s.growing);
  for (std::size_t x = 0; x < s.buckets; ++x) {
    for (std::size_t c = 0; c < A::chain_length(m, x); ++c)
      for (unsigned i = 0; i < 8; ++i) ASSERT_EQ(A::tophash(m, x, i, c), A::kEmptyRest) << x << "/" << c << "/" << i;
  }

  // The same with long chains (all keys in two buckets) and erase orders that
  // leave emptyOnes behind filled slots.
  PlacedMap p(26, gomap::Seed{1002});  // 4 buckets
  std::vector<std::uint64_t> keys;
  for (unsigned i = 0; i < 24; ++i) keys.push_back(placed_key(10 + i, i % 2));  // buckets 0 and 1
  for (auto k : keys) p.insert_or_assign(k, 1);
  ASSERT_GE(A::chain_length(p, 0), 2u);
  EXPECT_EQ(tombstone_violation(p), "");
  for (std::size_t i = 0; i < keys.size(); i += 3) p.erase(keys[i]);
  EXPECT_EQ(tombstone_violation(p), "");
  for (std::size_t i = keys.size(); i-- > 0;) {
    p.erase(keys[i]);
    ASSERT_EQ(tombstone_violation(p), "") << "after erasing key #" << i;
  }
  p.check_invariants();
}

TEST(GoStructure, TombstoneBackwardWalk) {
  {
    // One bucket: slots 0..3 filled in order.
    PlacedMap m(0, gomap::Seed{1011});
    std::uint64_t k[4];
    for (unsigned i = 0; i < 4; ++i) {
      k[i] = placed_key(10 + i, 0);
      m.insert_or_assign(k[i], int(i));
    }
    for (unsigned i = 0; i < 4; ++i) {
      ASSERT_EQ(A::key(m, 0, i), k[i]) << "insert fills slots in order";
      ASSERT_EQ(A::tophash(m, 0, i), 10 + i);
    }
    for (unsigned i = 4; i < 8; ++i) ASSERT_EQ(A::tophash(m, 0, i), A::kEmptyRest);

    m.erase(k[3]);  // the last filled slot: nothing follows, so emptyRest
    EXPECT_EQ(A::tophash(m, 0, 3), A::kEmptyRest);
    m.erase(k[1]);  // a filled slot follows: emptyOne
    EXPECT_EQ(A::tophash(m, 0, 1), A::kEmptyOne);
    EXPECT_EQ(tombstone_violation(m), "");
    m.erase(k[2]);  // now 1..3 are a trailing run: all emptyRest
    EXPECT_EQ(A::tophash(m, 0, 1), A::kEmptyRest);
    EXPECT_EQ(A::tophash(m, 0, 2), A::kEmptyRest);
    EXPECT_EQ(A::tophash(m, 0, 3), A::kEmptyRest);
    EXPECT_EQ(A::tophash(m, 0, 0), 10u) << "the walk must stop at a filled slot";
    EXPECT_EQ(tombstone_violation(m), "");
    m.erase(k[0]);
    EXPECT_EQ(A::tophash(m, 0, 0), A::kEmptyRest);
    m.check_invariants();
  }
  {
    // A chain of two buckets: slot 7 of the first bucket is emptied while the
    // overflow bucket is occupied, then the overflow bucket empties.
    PlacedMap m(13, gomap::Seed{1012});  // 2 buckets
    ASSERT_EQ(m.stats().buckets, 2u);
    std::uint64_t k[10];
    for (unsigned i = 0; i < 10; ++i) {
      k[i] = placed_key(20 + i, 0);
      m.insert_or_assign(k[i], int(i));
    }
    ASSERT_EQ(A::chain_length(m, 0), 2u);
    ASSERT_EQ(A::key(m, 0, 7, 0), k[7]);
    ASSERT_EQ(A::key(m, 0, 0, 1), k[8]);
    ASSERT_EQ(A::key(m, 0, 1, 1), k[9]);

    m.erase(k[7]);
    EXPECT_EQ(A::tophash(m, 0, 7, 0), A::kEmptyOne) << "the overflow bucket still holds entries";
    m.erase(k[9]);
    EXPECT_EQ(A::tophash(m, 0, 1, 1), A::kEmptyRest);
    EXPECT_EQ(tombstone_violation(m), "");
    m.erase(k[8]);  // overflow empties: the walk crosses back into bucket 0
    EXPECT_EQ(A::tophash(m, 0, 0, 1), A::kEmptyRest);
    EXPECT_EQ(A::tophash(m, 0, 7, 0), A::kEmptyRest) << "the backward walk did not cross into the previous bucket";
    EXPECT_EQ(A::tophash(m, 0, 6, 0), 26u);
    EXPECT_EQ(tombstone_violation(m), "");
    m.check_invariants();
  }
  {
    // Three chained buckets; the whole middle bucket is emptyOne when the
    // last one empties, so the walk crosses two bucket boundaries.
    PlacedMap m(20, gomap::Seed{1013});  // 4 buckets
    ASSERT_EQ(m.stats().buckets, 4u);
    std::uint64_t k[20];
    for (unsigned i = 0; i < 20; ++i) {
      k[i] = placed_key(40 + i, 0);
      m.insert_or_assign(k[i], int(i));
    }
    ASSERT_EQ(A::chain_length(m, 0), 3u);
    m.erase(k[7]);
    for (unsigned i = 8; i < 16; ++i) m.erase(k[i]);
    for (unsigned i = 0; i < 8; ++i) ASSERT_EQ(A::tophash(m, 0, i, 1), A::kEmptyOne) << i;
    ASSERT_EQ(A::tophash(m, 0, 7, 0), A::kEmptyOne);
    for (unsigned i = 19; i > 16; --i) {
      m.erase(k[i]);
      EXPECT_EQ(A::tophash(m, 0, i - 16, 2), A::kEmptyRest) << i;
    }
    EXPECT_EQ(tombstone_violation(m), "");
    m.erase(k[16]);
    for (unsigned i = 0; i < 8; ++i) {
      EXPECT_EQ(A::tophash(m, 0, i, 2), A::kEmptyRest) << "last bucket slot " << i;
      EXPECT_EQ(A::tophash(m, 0, i, 1), A::kEmptyRest) << "middle bucket slot " << i;
    }
    EXPECT_EQ(A::tophash(m, 0, 7, 0), A::kEmptyRest);
    EXPECT_EQ(A::tophash(m, 0, 6, 0), 46u);
    EXPECT_EQ(tombstone_violation(m), "");
    EXPECT_EQ(m.size(), 7u);
    m.check_invariants();
    // A new key takes the first empty slot of the chain.
    const std::uint64_t fresh = placed_key(99, 0);
    m.insert_or_assign(fresh, 99);
    EXPECT_EQ(A::key(m, 0, 7, 0), fresh);
    EXPECT_EQ(A::tophash(m, 0, 7, 0), 99u);
    EXPECT_EQ(tombstone_violation(m), "");
  }
}

TEST(GoStructure, InsertReusesFirstEmptySlot) {
  {
    PlacedMap m(0, gomap::Seed{1021});
    std::uint64_t k[5];
    for (unsigned i = 0; i < 5; ++i) {
      k[i] = placed_key(10 + i, 0);
      m.insert_or_assign(k[i], int(i));
    }
    m.erase(k[2]);
    ASSERT_EQ(A::tophash(m, 0, 2), A::kEmptyOne);
    const std::uint64_t a = placed_key(50, 0);
    m.insert_or_assign(a, 50);
    EXPECT_EQ(A::key(m, 0, 2), a) << "the new key must take the emptyOne slot 2, not slot 5";
    EXPECT_EQ(A::tophash(m, 0, 2), 50u);
    EXPECT_EQ(A::tophash(m, 0, 5), A::kEmptyRest);

    // Two holes: they are filled lowest first, then the tail.
    m.erase(k[1]);
    m.erase(k[3]);
    const std::uint64_t b = placed_key(51, 0), c = placed_key(52, 0), d = placed_key(53, 0);
    m.insert_or_assign(b, 51);
    m.insert_or_assign(c, 52);
    m.insert_or_assign(d, 53);
    EXPECT_EQ(A::key(m, 0, 1), b);
    EXPECT_EQ(A::key(m, 0, 3), c);
    EXPECT_EQ(A::key(m, 0, 5), d);
    EXPECT_EQ(m.size(), 6u);
    EXPECT_EQ(*m.find(a), 50);
    m.check_invariants();
  }
  {
    // With an overflow chain: a hole in the first bucket is preferred to the
    // free slots of the overflow bucket.
    PlacedMap m(13, gomap::Seed{1022});
    std::uint64_t k[10];
    for (unsigned i = 0; i < 10; ++i) {
      k[i] = placed_key(20 + i, 0);
      m.insert_or_assign(k[i], int(i));
    }
    ASSERT_EQ(A::chain_length(m, 0), 2u);
    m.erase(k[3]);
    const std::uint64_t a = placed_key(60, 0);
    m.insert_or_assign(a, 60);
    EXPECT_EQ(A::key(m, 0, 3, 0), a);
    EXPECT_EQ(A::tophash(m, 0, 2, 1), A::kEmptyRest);
    // Overwriting an existing key that sits after a hole keeps it in place.
    m.erase(k[1]);
    m.insert_or_assign(k[9], 900);
    EXPECT_EQ(A::key(m, 0, 1, 1), k[9]);
    EXPECT_EQ(A::tophash(m, 0, 1, 0), A::kEmptyOne);
    EXPECT_EQ(*m.find(k[9]), 900);
    m.check_invariants();
  }
}

// ---------------------------------------------------------------------------

TEST(GoStructure, ClearKeepsBucketArray) {
  auto build = [](std::uint64_t seed) {
    gomap::Map<int, int> m(0, gomap::Seed{seed});
    for (int i = 0; i < 833; ++i) m.insert_or_assign(i, i);  // a growth to 256 buckets just started
    return m;
  };
  for (bool with_iterator : {false, true}) {
    SCOPED_TRACE(with_iterator ? "clear inside a range loop" : "plain clear");
    gomap::Map<int, int> m = build(1031);
    const gomap::Stats before = m.stats();
    ASSERT_TRUE(before.growing);
    ASSERT_GT(before.overflow_buckets, 0u) << "the test needs overflow buckets to free";
    const std::uint64_t seed_before = A::hash_seed(m);
    if (with_iterator) {
      int yields = 0;
      for (auto&& [k, v] : m) {
        (void)k;
        (void)v;
        if (++yields == 1) m.clear();
      }
      EXPECT_EQ(yields, 1);
    } else {
      m.clear();
    }
    const gomap::Stats after = m.stats();
    EXPECT_EQ(after.count, 0u);
    EXPECT_EQ(after.B, before.B) << "clear never shrinks";
    EXPECT_EQ(after.buckets, before.buckets);
    EXPECT_EQ(after.overflow_buckets, 0u) << "clear frees every overflow bucket";
    EXPECT_FALSE(after.growing) << "clear drops the old bucket array";
    EXPECT_FALSE(after.same_size_grow);
    EXPECT_EQ(after.nevacuate, 0u);
    EXPECT_EQ(after.clear_seq, before.clear_seq + 1);
    EXPECT_LT(after.bytes, before.bytes);
    EXPECT_NE(A::hash_seed(m), seed_before) << "clear must re-randomise the hash seed";
    EXPECT_EQ(A::noverflow(m), 0u);
    EXPECT_EQ(tombstone_violation(m), "");
    m.check_invariants();
    for (std::size_t x = 0; x < after.buckets; ++x) ASSERT_EQ(A::chain_length(m, x), 1u);

    // Refilling up to the old size needs no growth.
    for (int i = 0; i < 800; ++i) m.insert_or_assign(-i, i);
    EXPECT_EQ(m.stats().B, before.B);
    EXPECT_FALSE(m.stats().growing);
    for (int i = 0; i < 800; ++i) ASSERT_EQ(*m.find(-i), i);
    EXPECT_EQ(m.find(1), nullptr) << "a cleared key came back";
    m.check_invariants();
  }
  // Clearing an empty map changes nothing (Go returns early).
  gomap::Map<int, int> e(0, gomap::Seed{1032});
  const std::uint64_t s0 = A::hash_seed(e);
  e.clear();
  EXPECT_EQ(A::hash_seed(e), s0);
  EXPECT_EQ(e.stats().clear_seq, 0u);
}

TEST(GoStructure, SeedRerandomisedWhenEmptied) {
  gomap::Map<int, int> m(0, gomap::Seed{1041});
  const std::uint64_t s0 = A::hash_seed(m);
  m.erase(5);  // empty map, absent key
  EXPECT_EQ(A::hash_seed(m), s0);
  for (int i = 0; i < 3; ++i) m.insert_or_assign(i, i);
  EXPECT_EQ(A::hash_seed(m), s0) << "inserts do not reseed";
  m.erase(100);  // absent key in a non-empty map: a no-op
  EXPECT_EQ(A::hash_seed(m), s0);
  m.erase(0);
  m.erase(1);
  EXPECT_EQ(A::hash_seed(m), s0) << "the map is not empty yet";
  m.erase(2);
  ASSERT_TRUE(m.empty());
  const std::uint64_t s1 = A::hash_seed(m);
  EXPECT_NE(s1, s0) << "emptying the map by erase must re-randomise the seed (Go issue 25237)";
  m.erase(2);  // already gone
  EXPECT_EQ(A::hash_seed(m), s1);

  // The new seed is in use: keys still round-trip, the structure is valid.
  for (int i = 0; i < 100; ++i) m.insert_or_assign(i, i);
  m.check_invariants();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(*m.find(i), i);
  const std::uint64_t s2 = A::hash_seed(m);
  m.clear();
  EXPECT_NE(A::hash_seed(m), s2) << "clear must re-randomise the seed";
  // NaNs can only leave through clear(), which reseeds too.
  gomap::Map<double, int> d(0, gomap::Seed{1042});
  d.insert_or_assign(quiet_nan(), 1);
  const std::uint64_t ds = A::hash_seed(d);
  d.erase(quiet_nan());
  EXPECT_EQ(A::hash_seed(d), ds);
  d.clear();
  EXPECT_NE(A::hash_seed(d), ds);
}

// ---------------------------------------------------------------------------

TEST(GoStructure, SameSizeGrowth) {
  // Overflow buckets are created by one bucket's keys and left behind when
  // those keys are erased. One bucket's chain cannot do it alone (its keys
  // count toward the load factor), so churn every bucket in turn: nine keys
  // into bucket b (one overflow bucket), then erase the eight in the main
  // bucket. With 8 buckets, 8 overflow buckets and only 8 live keys, the next
  // new key must start a growth to the same size.
  PlacedMap m(40, gomap::Seed{1051});
  ASSERT_EQ(m.stats().B, 3u);
  std::vector<std::uint64_t> kept;
  for (unsigned b = 0; b < 8; ++b) {
    std::uint64_t k[9];
    for (unsigned j = 0; j < 9; ++j) {
      k[j] = placed_key(10 + j, b);
      m.insert_or_assign(k[j], int(b * 100 + j));
    }
    ASSERT_EQ(A::chain_length(m, b), 2u);
    for (unsigned j = 0; j < 8; ++j) m.erase(k[j]);
    kept.push_back(k[8]);
    ASSERT_FALSE(m.stats().growing) << "bucket " << b;
  }
  ASSERT_EQ(m.size(), 8u);
  ASSERT_EQ(A::noverflow(m), 8u);
  ASSERT_EQ(m.stats().overflow_buckets, 8u);
  m.check_invariants();

  const std::uint64_t trigger = placed_key(200, 5);
  m.insert_or_assign(trigger, 200);
  gomap::Stats s = m.stats();
  ASSERT_TRUE(s.growing) << "noverflow >= 2^B must start a growth";
  EXPECT_TRUE(s.same_size_grow);
  EXPECT_EQ(s.B, 3u) << "a same-size growth keeps B";
  EXPECT_EQ(s.buckets, 8u);
  EXPECT_EQ(A::flags(m) & A::kSameSizeGrow, A::kSameSizeGrow);
  m.check_invariants();

  // Finish it with writes that change nothing in the contents.
  int writes = 0;
  while (m.stats().growing) {
    m.insert_or_assign(kept[0], 0 * 100 + 8);
    ++writes;
    m.check_invariants();
    ASSERT_LE(writes, 8);
    for (unsigned b = 0; b < 8; ++b) ASSERT_EQ(*m.find(kept[b]), int(b * 100 + 8));
  }
  s = m.stats();
  EXPECT_FALSE(s.same_size_grow);
  EXPECT_EQ(s.B, 3u);
  EXPECT_EQ(s.overflow_buckets, 0u) << "the growth must have compacted the chains";
  for (unsigned b = 0; b < 8; ++b) EXPECT_EQ(A::chain_length(m, b), 1u) << "bucket " << b;
  EXPECT_EQ(A::noverflow(m), 0u);
  EXPECT_EQ(m.size(), 9u);
  for (unsigned b = 0; b < 8; ++b) EXPECT_EQ(*m.find(kept[b]), int(b * 100 + 8));
  EXPECT_EQ(*m.find(trigger), 200);
  EXPECT_EQ(tombstone_violation(m), "");

  // A realistic variant: random keys, churn in a map that never exceeds its
  // load factor, yet same-size growths keep overflow chains bounded.
  gomap::Map<std::uint64_t, int> r(0, gomap::Seed{1052});
  std::uint64_t next = 1;
  std::vector<std::uint64_t> live;
  bool saw_same_size = false;
  for (int i = 0; i < 200; ++i) {
    r.insert_or_assign(next, int(next));
    live.push_back(next++);
  }
  const unsigned B = r.stats().B;
  for (int round = 0; round < 40000 && !saw_same_size; ++round) {
    // Erase the oldest key, insert a new one: the size stays at 200.
    r.erase(live[std::size_t(round)]);
    r.insert_or_assign(next, int(next));
    live.push_back(next++);
    const gomap::Stats st = r.stats();
    saw_same_size |= st.same_size_grow;
    ASSERT_EQ(st.B, B) << "churn at a constant size must never double the map";
  }
  EXPECT_TRUE(saw_same_size) << "churn never triggered a same-size growth";
  r.check_invariants();
}

// ---------------------------------------------------------------------------

TEST(GoStructure, IncrementalEvacuation) {
  gomap::Map<int, int> m(0, gomap::Seed{1061});
  const int full = 13 * 64 / 2;  // 416: 64 buckets at the load factor
  for (int i = 0; i < full; ++i) m.insert_or_assign(i, i);
  ASSERT_FALSE(m.stats().growing);
  ASSERT_EQ(m.stats().B, 6u);

  m.insert_or_assign(full, full);  // the 417th key starts a doubling growth
  gomap::Stats s = m.stats();
  ASSERT_TRUE(s.growing);
  EXPECT_FALSE(s.same_size_grow);
  EXPECT_EQ(s.B, 7u);
  EXPECT_GE(s.nevacuate, 1u) << "the write that starts a growth already evacuates";
  const std::size_t old_buckets = std::size_t(1) << 6;
  const int n = full + 1;

  // Reads move nothing.
  for (int i = 0; i < n; ++i) ASSERT_EQ(*m.find(i), i);
  EXPECT_EQ(m.stats().nevacuate, s.nevacuate);
  EXPECT_TRUE(m.stats().growing);

  // Every write moves the evacuation mark by at least one bucket, and the
  // growth is over within 2^(B-1) writes; all keys stay reachable throughout.
  std::size_t writes = 0;
  while (m.stats().growing) {
    const std::size_t before = m.stats().nevacuate;
    switch (writes % 3) {
      case 0: m.insert_or_assign(int(writes * 7 % n), int(writes * 7 % n)); break;  // overwrite
      case 1: EXPECT_FALSE(m.erase(-1 - int(writes))); break;                        // absent key
      case 2: m[int(writes * 13 % n)] += 0; break;                                   // op=
    }
    ++writes;
    const gomap::Stats now = m.stats();
    if (now.growing) {
      EXPECT_GT(now.nevacuate, before) << "write " << writes << " evacuated nothing";
      EXPECT_LT(now.nevacuate, old_buckets);
    }
    ASSERT_LE(writes, old_buckets) << "growth did not finish within 2^(B-1) writes";
    ASSERT_EQ(m.size(), std::size_t(n));
    for (int i = 0; i < n; ++i) ASSERT_EQ(*m.find(i), i) << "key " << i << " lost after write " << writes;
    m.check_invariants();
  }
  EXPECT_EQ(m.stats().B, 7u);
  EXPECT_EQ(tombstone_violation(m), "");

  // No new growth starts while one is running: adding many keys right after a
  // growth starts still doubles only once until it finishes.
  gomap::Map<int, int> g(0, gomap::Seed{1062});
  for (int i = 0; i <= full; ++i) g.insert_or_assign(i, i);
  ASSERT_TRUE(g.stats().growing);
  int added = 0;
  while (g.stats().growing) {
    ASSERT_EQ(g.stats().B, 7u);
    g.insert_or_assign(100000 + added, 0);
    ++added;
  }
  EXPECT_LE(added, int(old_buckets));
  g.check_invariants();
}

}  // namespace
