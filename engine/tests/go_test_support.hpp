// go_test_support.hpp — helpers shared by the go_*_test.cpp files, which port
// the intent of Go's own map tests (runtime/map_test.go, test/map.go,
// test/mapclear.go and a few test/fixedbugs programs) to gomap::Map.
//
// Not a test source itself (engine/tests/CMakeLists.txt globs *.cpp only).
#pragma once

#include <gomap/map.hpp>
#include "support/map_test_access.hpp"
#include "gomap_harness/go_rules.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace gomap_go_tests {

// A seeded hash that ignores the seed and returns the key itself, so a test
// decides exactly where a key lives: the low bits pick the bucket, bits 56..63
// become the tophash byte. (A hash that takes only the key would be mixed with
// the map's seed and lose that control.)
struct IdentityHash {
  std::uint64_t operator()(std::uint64_t k, std::uint64_t /*seed*/) const noexcept { return k; }
};

// A key for IdentityHash maps: `top` ends up in the tophash byte (bumped by 5
// when below 5), `low` selects the bucket (low & (2^B - 1)).
constexpr std::uint64_t placed_key(unsigned top, std::uint64_t low) noexcept {
  return (static_cast<std::uint64_t>(top & 0xffu) << 56) | low;
}

inline double quiet_nan() { return std::numeric_limits<double>::quiet_NaN(); }
inline double negative_zero() { return std::copysign(0.0, -1.0); }

// Go's MapTombstoneCheck, rewritten against MapTestAccess: in every chain the
// How many entries one full range over `m` yields.
template <class M>
int count_by_iteration(M& m) {
  int n = 0;
  for (auto&& [k, v] : m) {
    (void)k;
    (void)v;
    ++n;
  }
  return n;
}

// tophash bytes must read "filled or emptyOne ..., then only emptyRest", and
// the last slot before the emptyRest run must not be emptyOne (erase must have
// walked it back). Returns "" when the map is fine, else a description of the
// first violation. Old buckets are checked while a growth is in progress,
// except those already evacuated (their bytes are evacuation marks).
template <class M>
std::string tombstone_violation(M& m) {
  using A = gomap::MapTestAccess;
  const gomap::Stats st = m.stats();
  auto check_chain = [&](std::size_t bucket, bool old) -> std::string {
    const std::size_t len = A::chain_length(m, bucket, old);
    if (len == 0) return {};
    if (old) {
      const std::uint8_t first = A::tophash(m, bucket, 0, 0, true);
      if (first >= A::kEvacuatedX && first <= A::kEvacuatedEmpty) return {};
    }
    bool seen_rest = false;
    int last_state = -1;  // tophash of the last slot that is not emptyRest
    for (std::size_t c = 0; c < len; ++c) {
      for (unsigned s = 0; s < 8; ++s) {
        const std::uint8_t top = A::tophash(m, bucket, s, c, old);
        const std::string where = std::string(old ? "old" : "new") + " bucket " + std::to_string(bucket) +
                                  " chain " + std::to_string(c) + " slot " + std::to_string(s);
        if (top == A::kEmptyRest) {
          seen_rest = true;
          continue;
        }
        if (seen_rest) return where + ": tophash " + std::to_string(top) + " after an emptyRest";
        last_state = top;
      }
    }
    if (last_state == A::kEmptyOne) {
      return std::string(old ? "old" : "new") + " bucket " + std::to_string(bucket) +
             ": last non-emptyRest slot is emptyOne";
    }
    return {};
  };
  for (std::size_t x = 0; x < st.buckets; ++x) {
    if (auto v = check_chain(x, false); !v.empty()) return v;
  }
  if (st.growing) {
    const std::size_t old_buckets = st.same_size_grow ? st.buckets : st.buckets / 2;
    for (std::size_t y = 0; y < old_buckets; ++y) {
      if (auto v = check_chain(y, true); !v.empty()) return v;
    }
  }
  return {};
}

// Go's overLoadFactor and make(map, hint)'s B, stated once for the harness
// and these tests, independently of the engine's code.
using gomap_harness::go_b_for_count;
using gomap_harness::go_over_load_factor;

// The projections of the entries yielded by one full range loop, in order.
template <class T, class M, class F>
std::vector<T> collect(M& m, F&& project) {
  std::vector<T> out;
  for (auto&& [k, v] : m) out.push_back(project(k, v));
  return out;
}

}  // namespace gomap_go_tests
