// map_types.hpp — the concurrent map configurations every typed test runs
// on, and key/value codecs so one random program drives u64 and string maps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gomap/sharded_map.hpp"
#include "gomap/sync_map.hpp"

namespace gomap_test {

// Each configuration names its map type and how to build one.
template <class K, class V>
struct SyncCfg {
  using Map = gomap::SyncMap<K, V>;
  using Key = K;
  using Value = V;
  static std::unique_ptr<Map> make() { return std::make_unique<Map>(); }
};
template <class K, class V, std::size_t Shards>
struct ShardedCfg {
  using Map = gomap::ShardedMap<K, V>;
  using Key = K;
  using Value = V;
  static std::unique_ptr<Map> make() { return std::make_unique<Map>(Shards); }
};

// Codes -> keys/values. Strings mix short (SSO) and heap-allocated lengths.
template <class T>
T from_code(std::uint64_t c);
template <>
inline std::uint64_t from_code<std::uint64_t>(std::uint64_t c) {
  return c;
}
template <>
inline std::string from_code<std::string>(std::uint64_t c) {
  std::string s = "k" + std::to_string(c);
  if (c % 3 == 0) s += std::string(24, static_cast<char>('a' + c % 26));  // beyond SSO
  return s;
}

}  // namespace gomap_test
