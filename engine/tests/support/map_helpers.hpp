// engine/tests/support/map_helpers.hpp — small helpers shared by the engine
// tests: driving a map into a growth, picking keys by bucket, reading the raw
// structure through gomap::MapTestAccess. Header-only; not globbed by CMake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "gomap/map.hpp"
#include "map_test_access.hpp"
#include "gomap_harness/go_rules.hpp"

namespace gomap_test {

// No growth in progress and no live iterator: the map holds exactly its
// entries (no moved-from or copied leftovers in an old array).
template <class M>
bool quiet(const M& m) {
  const gomap::Stats s = m.stats();
  return !s.growing && s.live_iterators == 0;
}

// Go's overLoadFactor and makemap's sizing (the smallest B that holds n
// entries), for tests that predict growth: stated once in go_rules.hpp.
using gomap_harness::go_b_for_count;
using gomap_harness::go_over_load_factor;

// The first `n` keys make_key(i), i = cursor, cursor+1, ..., for which
// bucket_of(key) == bucket. Advances cursor past the last one examined.
template <class K, class MakeKey, class BucketOf>
std::vector<K> keys_where(std::size_t n, std::int64_t& cursor, MakeKey make_key, BucketOf pred) {
  std::vector<K> out;
  while (out.size() < n) {
    K k = make_key(cursor++);
    if (pred(k)) out.push_back(std::move(k));
  }
  return out;
}

// Number of buckets in the array that old buckets are read from while the
// map grows (2^B for same-size growth, 2^(B-1) for doubling).
template <class M>
std::size_t old_bucket_count(const M& m) {
  const gomap::Stats s = m.stats();
  if (!s.growing) return 0;
  return s.same_size_grow ? s.buckets : s.buckets / 2;
}

struct SlotRef {
  std::size_t bucket = 0;
  std::size_t chain = 0;
  unsigned slot = 0;
  bool old = false;
};

// Every filled slot (tophash >= minTopHash) of the current (old=false) or old array.
template <class M>
std::vector<SlotRef> filled_slots(M& m, bool old = false) {
  using A = gomap::MapTestAccess;
  std::vector<SlotRef> out;
  const std::size_t nb = old ? old_bucket_count(m) : m.stats().buckets;
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t len = A::chain_length(m, b, old);
    for (std::size_t c = 0; c < len; ++c) {
      for (unsigned i = 0; i < 8; ++i) {
        if (A::tophash(m, b, i, c, old) >= A::kMinTopHash) out.push_back(SlotRef{b, c, i, old});
      }
    }
  }
  return out;
}

}  // namespace gomap_test
