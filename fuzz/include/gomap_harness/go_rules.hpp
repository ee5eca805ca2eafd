// gomap_harness/go_rules.hpp — Go's sizing rules, stated once, as the
// executable spec the harness and the engine's tests hold gomap::Map to.
//
// Written from Go's runtime (map.go's overLoadFactor, tooManyOverflowBuckets
// and makemap's hint handling), independently of the engine's own code, so a
// test that uses them does not just restate what it checks. No engine
// include: engine/tests can use this header as it is.
//   - A bucket holds 8 entries; the load factor is 6.5 entries per bucket,
//     written as 13/2 so that it stays integer arithmetic.
//   - A map of count entries with 2^B buckets is over the load factor when
//     count > 8 and count > 6.5 * 2^B; a new key that finds it so (and no
//     growth running) starts a doubling growth.
//   - Otherwise, a new key that finds at least 2^min(B, 15) overflow buckets
//     starts a same-size growth.
//   - make(map, hint) picks the smallest B that holds hint entries without
//     being over the load factor; a hint too large to allocate is ignored (B = 0).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gomap_harness {

inline constexpr std::size_t kGoBucketEntries = 8;
inline constexpr std::size_t kGoLoadFactorNum = 13, kGoLoadFactorDen = 2;  // 6.5 entries per bucket
inline constexpr unsigned kGoMaxB = 63;                                       // 2^B buckets must fit a word
inline constexpr unsigned kGoOverflowCapB = 15;                               // tooManyOverflowBuckets caps B
// Hints at or over this many entries are ignored by make(map, hint) here
// (Go panics or fails to allocate; gomap takes them as no hint).
inline constexpr std::uint64_t kGoAbsurdHint = (std::uint64_t(1) << 48) / kGoBucketEntries;

static_assert(kGoLoadFactorNum / kGoLoadFactorDen < kGoBucketEntries, "the load factor leaves room in a bucket");

// Go's overLoadFactor(count, B).
constexpr bool go_over_load_factor(std::size_t count, unsigned B) noexcept {
  return count > kGoBucketEntries && B < kGoMaxB &&
         count > kGoLoadFactorNum * ((std::size_t(1) << B) / kGoLoadFactorDen);
}

// Go's tooManyOverflowBuckets(noverflow, B).
constexpr bool go_too_many_overflow(std::size_t noverflow, unsigned B) noexcept {
  return noverflow >= (std::size_t(1) << (B < kGoOverflowCapB ? B : kGoOverflowCapB));
}

// The smallest B that holds `count` entries without being over the load
// factor: what make(map, count) picks, and what a map grown to `count`
// entries one insert at a time reaches (compact() rebuilds to it).
constexpr unsigned go_b_for_count(std::size_t count) noexcept {
  unsigned B = 0;
  while (go_over_load_factor(count, B)) ++B;
  return B;
}

// make(map, hint)'s B, absurd hints included.
constexpr unsigned go_b_for_hint(std::uint64_t hint) noexcept {
  return hint >= kGoAbsurdHint ? 0 : go_b_for_count(static_cast<std::size_t>(hint));
}

// Go's growth points, as its own tests state them.
static_assert(go_b_for_count(8) == 0 && go_b_for_count(9) == 1 && go_b_for_count(13) == 1 &&
              go_b_for_count(14) == 2 && go_b_for_count(26) == 2 && go_b_for_count(27) == 3);

}  // namespace gomap_harness
