// gomap/detail/random.hpp — the splitmix64 generator behind every map's
// randomness (seeds, reseeds, iteration starts, NaN hashes), and the seed
// of maps constructed without one. See "Determinism" in gomap/map.hpp.
#pragma once

#include <cstdint>
#include <random>

namespace gomap::detail {

// splitmix64's increment (2^64 / golden ratio): each draw adds it to the state.
inline constexpr std::uint64_t kSplitmixStep = 0x9e3779b97f4a7c15ull;

// splitmix64's output function: a bijection that spreads every state bit.
inline std::uint64_t splitmix_mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A seed for maps constructed without one: unpredictable across processes,
// distinct across maps.
inline std::uint64_t fresh_seed() {
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (std::uint64_t(rd()) << 32) ^ rd();
  }();
  state += kSplitmixStep;
  return splitmix_mix(state);
}

}  // namespace gomap::detail
