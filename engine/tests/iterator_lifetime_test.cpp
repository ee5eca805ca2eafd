// iterator_lifetime_test.cpp — iterators that stay alive while the map
// changes under them. Meant to be run under AddressSanitizer: every scenario
// keeps an iterator standing in memory the map would like to free (an old
// array after growth, an overflow bucket dropped by clear(), a snapshot that
// compaction would replace) and then advances it.
//
// Along the way each iterator is checked against Go's guarantees ("Iteration" in gomap/map.hpp),
// using a model of the map:
//   * no key is yielded twice, unless it was erased and re-inserted in between;
//   * no key is yielded after being erased (until it is re-inserted);
//   * the value yielded is the current one;
//   * an iterator that runs to the end yields every key that was present
//     when it started and was never erased (or cleared) while it ran.
// Keys are CountedStr: a yielded key that was moved from, destroyed or freed
// shows up as a failed alive() check, a counter, or an ASan report.
#include <gtest/gtest.h>

#include <cstdint>
#include <list>
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

using gomap::Seed;
using gomap_test::ConstantHash;
using gomap_test::Counted;
using gomap_test::FewBitsHash;
using Key = gomap_test::CountedStr;
using A = gomap::MapTestAccess;

template <class H = gomap::Hash<Key>>
using LMap = gomap::Map<Key, std::uint64_t, H>;

std::string key_name(std::int64_t i) {
  // Every fourth key is long enough to live on the heap.
  if (i % 4 == 0) return "long-key-" + std::to_string(i) + "-" + std::string(40, 'x');
  return "k" + std::to_string(i);
}

// A map, its model, and one "watch" per live iterator recording what that
// iterator has yielded and what it still must yield.
template <class M>
class World {
 public:
  struct Watch {
    std::unordered_set<std::string> yielded;  // since each key's last (re)insertion
    std::unordered_set<std::string> must;     // present at start, never erased since
    int id = 0;
    int yields = 0;
  };

  explicit World(std::uint64_t seed, std::size_t hint = 0) : m(hint, Seed{seed}) {}

  M m;
  std::unordered_map<std::string, std::uint64_t> model;

  Watch* watch() {
    Watch w;
    for (const auto& [k, v] : model) w.must.insert(k);
    w.id = next_id_++;
    watches_.push_back(std::move(w));
    return &watches_.back();
  }
  // An iterator copied from the one `w` watches: same history from here on.
  Watch* fork(const Watch* w) {
    watches_.push_back(*w);
    watches_.back().id = next_id_++;
    return &watches_.back();
  }
  // finished: the iterator ran to its end, so it must have yielded `must`.
  void unwatch(Watch* w, bool finished) {
    if (finished) {
      for (const std::string& k : w->must) {
        EXPECT_TRUE(w->yielded.count(k)) << "iterator " << w->id << " never yielded key " << k
                                         << ", present throughout (" << w->yields << " yields)";
      }
    }
    watches_.remove_if([w](const Watch& x) { return &x == w; });
  }

  void put(const std::string& k, std::optional<std::uint64_t> value = std::nullopt) {
    const std::uint64_t v = value ? *value : next_value_++;
    if (!model.count(k)) {
      for (Watch& w : watches_) w.yielded.erase(k);  // a re-inserted key may be yielded again
    }
    model[k] = v;
    m.insert_or_assign(Key(k), v);
  }
  void erase(const std::string& k) {
    const bool had = model.erase(k) == 1;
    for (Watch& w : watches_) w.must.erase(k);
    EXPECT_EQ(m.erase(Key(k)), had) << k;
  }
  void clear() {
    m.clear();
    model.clear();
    for (Watch& w : watches_) w.must.clear();
  }

  // The iterator watched by `w` now stands on (k, v).
  void yielded(Watch* w, const Key& k, std::uint64_t v) {
    ++w->yields;
    ASSERT_TRUE(k.alive()) << "iterator " << w->id << " yielded a moved-from or destroyed key";
    const std::string& name = k.payload();
    const auto it = model.find(name);
    ASSERT_NE(it, model.end()) << "iterator " << w->id << " yielded key " << name << ", which is not in the map";
    EXPECT_EQ(v, it->second) << "iterator " << w->id << " yielded a stale value for " << name;
    EXPECT_TRUE(w->yielded.insert(name).second) << "iterator " << w->id << " yielded key " << name << " twice";
  }
  template <class It>
  void yielded(Watch* w, const It& it) {
    if (!it.done()) yielded(w, it.key(), it.value());
  }

  std::string random_key(std::mt19937_64& rng) const {
    if (model.empty()) return key_name(0);
    auto it = model.begin();
    std::advance(it, static_cast<long>(rng() % model.size()));
    return it->first;
  }

 private:
  std::list<Watch> watches_;
  int next_id_ = 0;
  std::uint64_t next_value_ = 1;
};

class IteratorLifetime : public ::testing::Test {
 protected:
  void SetUp() override { Counted::reset(); }
  void TearDown() override {
    EXPECT_EQ(Counted::live(), 0) << Counted::counts();
    EXPECT_EQ(Counted::double_destroys(), 0);
    EXPECT_EQ(Counted::dead_uses(), 0) << "a destroyed key was read";
    EXPECT_EQ(Counted::moved_from_uses(), 0) << "a moved-from key was read (hashed, compared or yielded)";
  }
};

// ---------------------------------------------------------------------------
// growth inside the loop
// ---------------------------------------------------------------------------

TEST_F(IteratorLifetime, GrowthStartedAndFinishedInBody) {
  for (std::uint64_t seed : {1, 2, 3}) {
    World<LMap<>> w(seed);
    for (int i = 0; i < 50; ++i) w.put(key_name(i));
    std::mt19937_64 rng(seed);
    auto* watch = w.watch();
    int next = 1000;
    const unsigned B0 = w.m.stats().B;
    for (auto it = w.m.begin(); it != w.m.end(); ++it) {
      w.yielded(watch, it);
      if (HasFatalFailure()) return;
      if (next < 3000) {
        for (int j = 0; j < 10; ++j) w.put(key_name(next++));  // several growths
      }
      if (rng() % 3 == 0) w.erase(w.random_key(rng));  // maybe one not reached yet
      if (rng() % 3 == 0) w.put(w.random_key(rng));   // new value for an existing key
    }
    w.unwatch(watch, true);
    EXPECT_GT(w.m.stats().B, B0 + 3);
    w.m.check_invariants();
  }
}

TEST_F(IteratorLifetime, StartedMidGrowthWhileBodyFinishesIt) {
  for (std::uint64_t seed : {4, 5, 6}) {
    World<LMap<>> w(seed);
    int i = 0;
    while (!(w.m.stats().growing && gomap_test::old_bucket_count(w.m) >= 16)) w.put(key_name(i++));
    ASSERT_LT(w.m.stats().nevacuate, 4u);
    auto* watch = w.watch();
    std::mt19937_64 rng(seed);
    bool finished_growth_inside = false;
    for (auto it = w.m.begin(); it != w.m.end(); ++it) {
      w.yielded(watch, it);
      if (HasFatalFailure()) return;
      w.put(key_name(i++));  // every write evacuates: the growth ends inside the loop
      if (rng() % 4 == 0) w.erase(w.random_key(rng));
      if (!w.m.stats().growing) finished_growth_inside = true;
    }
    w.unwatch(watch, true);
    EXPECT_TRUE(finished_growth_inside);
    w.m.check_invariants();
  }
}

TEST_F(IteratorLifetime, StartedMidGrowthOverLongOldChains) {
  World<LMap<FewBitsHash<Key, 1>>> w(7);
  int i = 0;
  while (!(w.m.stats().growing && gomap_test::old_bucket_count(w.m) >= 8)) w.put(key_name(i++));
  ASSERT_GT(A::chain_length(w.m, 0, /*old=*/true) + A::chain_length(w.m, 1, true), 4u);
  auto* watch = w.watch();
  std::mt19937_64 rng(7);
  for (auto it = w.m.begin(); it != w.m.end(); ++it) {
    w.yielded(watch, it);
    if (HasFatalFailure()) return;
    if (i < 2000) w.put(key_name(i++));
    if (rng() % 3 == 0) w.erase(w.random_key(rng));
  }
  w.unwatch(watch, true);
  w.m.check_invariants();
}

// ---------------------------------------------------------------------------
// clear inside the loop
// ---------------------------------------------------------------------------

TEST_F(IteratorLifetime, ClearInBody) {
  World<LMap<>> w(8);
  for (int i = 0; i < 200; ++i) w.put(key_name(i));
  auto* watch = w.watch();
  int yields = 0;
  for (auto it = w.m.begin(); it != w.m.end(); ++it) {
    w.yielded(watch, it);
    if (HasFatalFailure()) return;
    if (++yields == 10) {
      w.clear();
      for (int i = 0; i < 200; i += 5) w.put(key_name(i));  // some old keys come back
      for (int i = 500; i < 520; ++i) w.put(key_name(i));
    }
  }
  w.unwatch(watch, true);
  EXPECT_LE(yields, 10 + 60);
  w.m.check_invariants();
}

// The iterator stands deep in an overflow chain when clear() drops every
// overflow bucket; advancing it must read memory that is still alive, and
// yield nothing that was cleared.
TEST_F(IteratorLifetime, ClearWhileStandingInOverflowBucket) {
  World<LMap<ConstantHash<Key>>> w(9);
  for (int i = 0; i < 100; ++i) w.put(key_name(i));
  ASSERT_FALSE(w.m.stats().growing);
  ASSERT_GE(A::chain_length(w.m, 0), 13u) << "one long chain";
  auto* watch = w.watch();
  auto it = w.m.begin();
  w.yielded(watch, it);
  for (int n = 1; n < 30; ++n) {
    ++it;
    w.yielded(watch, it);
  }
  ASSERT_FALSE(it.done());
  w.clear();
  EXPECT_EQ(A::chain_length(w.m, 0), 1u) << "clear frees the map's overflow buckets";
  for (int i = 0; i < 100; i += 7) w.put(key_name(i));
  for (++it; !it.done(); ++it) {
    w.yielded(watch, it);
    if (HasFatalFailure()) return;
  }
  w.unwatch(watch, true);
  w.m.check_invariants();
}

TEST_F(IteratorLifetime, ClearWhileStandingInOldOverflowBucketMidGrowth) {
  World<LMap<ConstantHash<Key>>> w(10);
  int i = 0;
  while (!(w.m.stats().growing && gomap_test::old_bucket_count(w.m) >= 4)) w.put(key_name(i++));
  auto* watch = w.watch();
  auto it = w.m.begin();  // started mid-growth: reads the old chain while it is not evacuated
  w.yielded(watch, it);
  for (int n = 1; n < 20 && !it.done(); ++n) {
    ++it;
    w.yielded(watch, it);
  }
  ASSERT_FALSE(it.done());
  w.clear();
  for (int j = 0; j < i; j += 3) w.put(key_name(j));
  for (++it; !it.done(); ++it) {
    w.yielded(watch, it);
    if (HasFatalFailure()) return;
  }
  w.unwatch(watch, true);
  w.m.check_invariants();
}

TEST_F(IteratorLifetime, RepeatedClearAndRefillInBody) {
  World<LMap<FewBitsHash<Key, 2>>> w(11);
  for (int i = 0; i < 80; ++i) w.put(key_name(i));
  auto* watch = w.watch();
  int yields = 0;
  int next = 100;
  for (auto it = w.m.begin(); it != w.m.end(); ++it) {
    w.yielded(watch, it);
    if (HasFatalFailure()) return;
    if (++yields % 5 == 0 && yields < 200) {
      w.clear();
      for (int j = 0; j < 40; ++j) w.put(key_name(next++));
    }
  }
  w.unwatch(watch, true);
  w.m.check_invariants();
}

// ---------------------------------------------------------------------------
// compact inside the loop
// ---------------------------------------------------------------------------

TEST_F(IteratorLifetime, CompactAttemptedInBody) {
  World<LMap<>> w(12);
  for (int i = 0; i < 500; ++i) w.put(key_name(i));
  for (int i = 0; i < 450; ++i) w.erase(key_name(i));
  const unsigned B = w.m.stats().B;
  auto* watch = w.watch();
  std::mt19937_64 rng(12);
  for (auto it = w.m.begin(); it != w.m.end(); ++it) {
    w.yielded(watch, it);
    if (HasFatalFailure()) return;
    w.m.compact();  // must not rebuild under the iterator
    EXPECT_EQ(w.m.stats().B, B);
    if (rng() % 2) w.erase(w.random_key(rng));
  }
  w.unwatch(watch, true);
  w.m.compact();
  EXPECT_LT(w.m.stats().B, B);
  w.m.check_invariants();
}

// ---------------------------------------------------------------------------
// several iterators at once
// ---------------------------------------------------------------------------

TEST_F(IteratorLifetime, NestedIteratorsWhileBodyMutates) {
  World<LMap<>> w(13);
  for (int i = 0; i < 120; ++i) w.put(key_name(i));
  std::mt19937_64 rng(13);
  int next = 1000;
  auto* outer_w = w.watch();
  for (auto outer = w.m.begin(); outer != w.m.end(); ++outer) {
    w.yielded(outer_w, outer);
    if (HasFatalFailure()) return;
    if (rng() % 8 != 0) continue;
    // Up to three more iterators over the same map, interleaved.
    auto* w1 = w.watch();
    auto* w2 = w.watch();
    auto a = w.m.begin();
    w.yielded(w1, a);
    auto b = w.m.begin();
    w.yielded(w2, b);
    int steps = 0;
    while (!a.done() || !b.done()) {
      if (!a.done()) {
        ++a;
        w.yielded(w1, a);
      }
      if (!b.done() && (steps & 1)) {
        ++b;
        w.yielded(w2, b);
      }
      if (HasFatalFailure()) return;
      ++steps;
      if (steps % 7 == 0) {
        auto* w3 = w.watch();
        for (auto c = w.m.begin(); c != w.m.end(); ++c) {
          w.yielded(w3, c);
          if (rng() % 16 == 0) w.erase(w.random_key(rng));
        }
        w.unwatch(w3, true);
      }
      if (next < 1600) w.put(key_name(next++));
      if (rng() % 3 == 0) w.erase(w.random_key(rng));
      if (rng() % 4 == 0) w.put(w.random_key(rng));
      EXPECT_GE(w.m.stats().live_iterators, 1u + !a.done() + !b.done());
    }
    w.unwatch(w1, true);
    w.unwatch(w2, true);
  }
  w.unwatch(outer_w, true);
  EXPECT_EQ(w.m.stats().live_iterators, 0u);
  w.m.check_invariants();
}

TEST_F(IteratorLifetime, CopiesOfAnIteratorAdvanceIndependently) {
  World<LMap<>> w(14);
  for (int i = 0; i < 100; ++i) w.put(key_name(i));
  // Without writes, a copy yields exactly the rest of the original's sequence.
  {
    auto a = w.m.begin();
    for (int n = 0; n < 30; ++n) ++a;
    auto b = a;
    std::vector<std::string> rest_a, rest_b;
    for (; !b.done(); ++b) rest_b.push_back(b.key().payload());
    for (; !a.done(); ++a) rest_a.push_back(a.key().payload());
    EXPECT_EQ(rest_a, rest_b);
    EXPECT_EQ(rest_a.size(), 70u);
  }
  // With writes between the steps, each copy keeps Go's guarantees.
  auto* wa = w.watch();
  auto a = w.m.begin();
  w.yielded(wa, a);
  for (int n = 0; n < 10; ++n) {
    ++a;
    w.yielded(wa, a);
  }
  auto* wb = w.fork(wa);
  auto b = a;
  auto* wc = w.fork(wa);
  auto c = std::move(b);  // b is finished; c took its place
  EXPECT_TRUE(b.done());  // NOLINT(bugprone-use-after-move)
  auto* wd = w.fork(wa);
  auto d = c;
  w.unwatch(wb, false);
  std::mt19937_64 rng(14);
  int next = 1000;
  while (!a.done() || !c.done() || !d.done()) {
    if (!a.done()) {
      ++a;
      w.yielded(wa, a);
    }
    if (!c.done() && rng() % 2) {
      ++c;
      w.yielded(wc, c);
    }
    if (!d.done() && rng() % 3 == 0) {
      ++d;
      w.yielded(wd, d);
    }
    if (HasFatalFailure()) return;
    if (next < 1500) w.put(key_name(next++));
    if (rng() % 2) w.erase(w.random_key(rng));
  }
  w.unwatch(wa, true);
  w.unwatch(wc, true);
  w.unwatch(wd, true);
  w.m.check_invariants();
}

// ---------------------------------------------------------------------------
// same-size growth during a loop
// ---------------------------------------------------------------------------

// Builds emptied overflow chains bucket by bucket (FewBitsHash<Key, 2>, B=2)
// until the map starts a same-size growth. Keys "churn-*" never stay.
template <class W>
void churn_until_same_size_growth(W& w, int& cursor) {
  using H = FewBitsHash<Key, 2>;
  for (int round = 0; round < 50; ++round) {
    for (std::size_t bucket = 0; bucket < 4; ++bucket) {
      std::vector<std::string> keys;
      while (keys.size() < 12) {
        std::string k = "churn-" + std::to_string(cursor++);
        if (H::bucket_of(Key(k), 2) == bucket) keys.push_back(k);
      }
      for (const auto& k : keys) {
        w.put(k);
        if (w.m.stats().same_size_grow) return;
      }
      for (const auto& k : keys) w.erase(k);
    }
  }
  FAIL() << "no same-size growth";
}

template <class W>
void finish_growth(W& w, const std::string& k) {
  for (int n = 0; n < 100 && w.m.stats().growing; ++n) w.put(k);
  ASSERT_FALSE(w.m.stats().growing);
}

// Go's iterator reads the map's *current* old array whenever its B equals the
// map's B, which after a same-size growth is true even for an iterator that
// started before it. This loop sees two same-size growths: the first
// evacuates the array the iterator started on (copying, as it must, since the
// iterator is live); the second evacuates the array the iterator now reads,
// while the iterator stands in the middle of one of its buckets.
TEST_F(IteratorLifetime, TwoSameSizeGrowthsDuringOneLoop) {
  using H = FewBitsHash<Key, 2>;
  bool ran = false;
  for (std::uint64_t seed = 1; seed <= 40 && !ran; ++seed) {
    World<LMap<H>> w(seed, 20);
    ASSERT_EQ(w.m.stats().B, 2u);
    // One key in each of buckets 0..2 and five in bucket 3.
    std::vector<std::string> in_bucket[4];
    for (int i = 0; in_bucket[3].size() < 5 || in_bucket[0].empty() || in_bucket[1].empty() || in_bucket[2].empty(); ++i) {
      std::string k = "stay-" + std::to_string(i);
      auto& v = in_bucket[H::bucket_of(Key(k), 2)];
      if (v.size() < (H::bucket_of(Key(k), 2) == 3 ? 5u : 1u)) v.push_back(k);
    }
    for (auto& v : in_bucket)
      for (auto& k : v) w.put(k);
    auto* watch = w.watch();
    auto it = w.m.begin();
    w.yielded(watch, it);
    // Walk to the bucket-2 entry without entering bucket 3.
    if (H::bucket_of(it.key(), 2) == 3) {
      w.unwatch(watch, false);
      continue;  // this seed starts in bucket 3; try another
    }
    while (H::bucket_of(it.key(), 2) != 2) {
      ++it;
      w.yielded(watch, it);
    }
    ran = true;
    int cursor = 0;
    ASSERT_NO_FATAL_FAILURE(churn_until_same_size_growth(w, cursor));  // growth 1
    ASSERT_NO_FATAL_FAILURE(finish_growth(w, in_bucket[0][0]));
    ASSERT_NO_FATAL_FAILURE(churn_until_same_size_growth(w, cursor));  // growth 2
    ASSERT_TRUE(w.m.stats().growing);
    ASSERT_LT(w.m.stats().nevacuate, 3u);
    // Step into bucket 3 (read from the old array), then write to bucket 3,
    // which evacuates it, then read the rest of the bucket.
    ++it;
    w.yielded(watch, it);
    ASSERT_FALSE(it.done());
    std::string extra;
    for (int i = 0; extra.empty(); ++i) {
      std::string k = "extra-" + std::to_string(i);
      if (H::bucket_of(Key(k), 2) == 3) extra = k;
    }
    w.put(extra);
    for (++it; !it.done(); ++it) {
      w.yielded(watch, it);
      if (HasFatalFailure()) return;
    }
    w.unwatch(watch, true);
    w.m.check_invariants();
  }
  EXPECT_TRUE(ran);
}

// ---------------------------------------------------------------------------
// randomized: up to four live iterators (and their copies) over one map
// while it is written, grown, cleared and compacted
// ---------------------------------------------------------------------------

template <class H>
void random_iterator_stress(std::uint64_t seed, int steps, int domain) {
  using M = LMap<H>;
  World<M> w(seed);
  std::mt19937_64 rng(seed);
  struct Live {
    typename M::iterator it;
    typename World<M>::Watch* watch;
  };
  std::vector<Live> live;
  for (int i = 0; i < domain / 2; ++i) w.put(key_name(static_cast<std::int64_t>(rng() % domain)));
  auto retire = [&](std::size_t i, bool finished) {
    w.unwatch(live[i].watch, finished);
    live.erase(live.begin() + static_cast<long>(i));
  };
  for (int step = 0; step < steps; ++step) {
    const unsigned c = static_cast<unsigned>(rng() % 100);
    if (c < 10) {
      if (live.size() < 4) {
        auto* watch = w.watch();
        live.push_back(Live{w.m.begin(), watch});
        if (live.back().it.done()) {
          retire(live.size() - 1, true);
        } else {
          w.yielded(watch, live.back().it);
        }
      }
    } else if (c < 50) {
      if (!live.empty()) {
        const std::size_t i = rng() % live.size();
        ++live[i].it;
        if (live[i].it.done()) {
          retire(i, true);
        } else {
          w.yielded(live[i].watch, live[i].it);
        }
      }
    } else if (c < 53) {
      if (!live.empty() && live.size() < 6) {
        const std::size_t i = rng() % live.size();
        auto* watch = w.fork(live[i].watch);
        live.push_back(Live{live[i].it, watch});
      }
    } else if (c < 55) {
      if (!live.empty()) retire(rng() % live.size(), false);
    } else if (c < 78) {
      w.put(key_name(static_cast<std::int64_t>(rng() % domain)));
    } else if (c < 97) {
      if (rng() % 2) {
        w.erase(w.random_key(rng));
      } else {
        w.erase(key_name(static_cast<std::int64_t>(rng() % domain)));
      }
    } else if (c < 98) {
      if (rng() % 4 == 0) w.clear();
    } else {
      w.m.compact();
    }
    if (::testing::Test::HasFatalFailure()) return;
    if (step % 64 == 0) w.m.check_invariants();
  }
  while (!live.empty()) {
    auto& l = live.back();
    for (++l.it; !l.it.done(); ++l.it) w.yielded(l.watch, l.it);
    retire(live.size() - 1, true);
  }
  w.m.check_invariants();
}

TEST_F(IteratorLifetime, RandomLiveIteratorsDefaultHash) {
  for (std::uint64_t seed = 101; seed <= 112; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    random_iterator_stress<gomap::Hash<Key>>(seed, 5000, 400);
    if (HasFatalFailure()) return;
  }
}

TEST_F(IteratorLifetime, RandomLiveIteratorsLongChains) {
  for (std::uint64_t seed = 201; seed <= 210; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    random_iterator_stress<FewBitsHash<Key, 2>>(seed, 4000, 150);
    if (HasFatalFailure()) return;
  }
}

TEST_F(IteratorLifetime, RandomLiveIteratorsConstantHash) {
  for (std::uint64_t seed = 301; seed <= 306; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    random_iterator_stress<ConstantHash<Key>>(seed, 3000, 80);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
