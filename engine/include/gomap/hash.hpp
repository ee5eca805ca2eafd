// gomap/hash.hpp — seeded hash functors, key equality and key traits.
//
// Every gomap::Map hashes with a per-map seed (Go's h.hash0), so the same key
// lands in different buckets in different maps and after every reseed. The
// functors here take that seed as a second argument; a user-supplied Hash that
// only takes the key (std::hash style) is accepted too and mixed with the seed
// by the map.
//
// Floating-point keys follow Go: +0.0 and -0.0 hash alike (they compare equal),
// and NaN is not reflexive (NaN != NaN). The map, not the hash, gives NaN its
// random hash, drawing it from the map's own seeded generator so runs replay.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <array>
#include <limits>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace gomap {

namespace detail {

// 64x64->128 multiply folded back to 64 bits: every input bit reaches both the
// low bits (bucket index) and the top byte (tophash).
inline std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t hash_word(std::uint64_t x, std::uint64_t seed) noexcept {
  return fold_mul(x ^ seed ^ 0xa0761d6478bd642full, 0xe7037ed1a0b428dbull);
}

inline std::uint64_t hash_bytes(const void* p, std::size_t n, std::uint64_t seed) noexcept {
  return XXH3_64bits_withSeed(p, n, seed);
}

// A hash functor that takes the seed itself (gomap::Hash, or a user's h(k, seed)).
template <class H, class K>
concept SeededHash = requires(const H& h, const K& k, std::uint64_t s) {
  { h(k, s) } -> std::convertible_to<std::uint64_t>;
};

// The one place a map mixes its seed into a key's hash: a seeded functor
// gets the seed, a std::hash-style one has its result mixed with it.
template <class H, class K>
std::uint64_t seeded_hash(const H& h, const K& k, std::uint64_t seed) {
  if constexpr (SeededHash<H, K>) {
    return static_cast<std::uint64_t>(h(k, seed));
  } else {
    return hash_word(static_cast<std::uint64_t>(h(k)), seed);
  }
}

}  // namespace detail

// Hash<K>: uint64_t operator()(const K&, uint64_t seed).
template <class K, class = void>
struct Hash;

template <class K>
struct Hash<K, std::enable_if_t<std::is_integral_v<K> || std::is_enum_v<K> || std::is_pointer_v<K>>> {
  std::uint64_t operator()(K k, std::uint64_t seed) const noexcept {
    std::uint64_t x;
    if constexpr (std::is_pointer_v<K>) {
      x = reinterpret_cast<std::uintptr_t>(k);
    } else {
      x = static_cast<std::uint64_t>(k);
    }
    return detail::hash_word(x, seed);
  }
};

template <class K>
struct Hash<K, std::enable_if_t<std::is_floating_point_v<K>>> {
  std::uint64_t operator()(K k, std::uint64_t seed) const noexcept {
    if (k == K(0)) k = K(0);  // -0.0 == +0.0, so both must hash alike
    if constexpr (sizeof(K) == 8) {
      return detail::hash_word(std::bit_cast<std::uint64_t>(k), seed);
    } else if constexpr (sizeof(K) == 4) {
      return detail::hash_word(std::bit_cast<std::uint32_t>(k), seed);
    } else {
      // Only the value bytes: x87's 80-bit long double sits in a 16-byte
      // object whose last 6 bytes are padding with unspecified contents.
      constexpr std::size_t value_bytes = std::numeric_limits<K>::digits == 64 ? 10 : sizeof(K);
      static_assert(value_bytes <= sizeof(K));
      unsigned char bytes[value_bytes];
      std::memcpy(bytes, &k, value_bytes);
      return detail::hash_bytes(bytes, value_bytes, seed);
    }
  }
};

template <>
struct Hash<std::string_view> {
  std::uint64_t operator()(std::string_view s, std::uint64_t seed) const noexcept {
    return detail::hash_bytes(s.data(), s.size(), seed);
  }
};

template <>
struct Hash<std::string> {
  std::uint64_t operator()(const std::string& s, std::uint64_t seed) const noexcept {
    return detail::hash_bytes(s.data(), s.size(), seed);
  }
};

// Plain-old-data keys without padding (std::array<char, 256>, packed structs):
// their bytes are their identity, so hashing the bytes is exact.
template <class K>
struct Hash<K, std::enable_if_t<!std::is_integral_v<K> && !std::is_enum_v<K> && !std::is_pointer_v<K> &&
                                !std::is_floating_point_v<K> && std::has_unique_object_representations_v<K>>> {
  std::uint64_t operator()(const K& k, std::uint64_t seed) const noexcept {
    return detail::hash_bytes(&k, sizeof(K), seed);
  }
};

// Equal<K>: Go's == on keys. For floats that is IEEE equality, so NaN != NaN
// and -0.0 == +0.0.
template <class K>
struct Equal {
  bool operator()(const K& a, const K& b) const noexcept(noexcept(a == b)) { return a == b; }
};

// KeyTraits<K>: the two properties of Go's maptype that change the algorithm,
// derived from the key type as Go derives them, for every type:
//  reflexive         — k == k for every k (Go's reflexivekey). When false, the
//                      map checks k == k before hashing and treats a key that
//                      fails it like NaN: a fresh random hash, never found.
//  needs_key_update  — an assignment to an existing key also overwrites the
//                      stored key (Go's needkeyupdate: -0.0 over +0.0), because
//                      equal keys may still differ.
// The defaults are safe for any type: a key is reflexive only when that is
// certain (integers, enums, pointers, types whose equal values have equal
// bytes, and compounds of those), and needs a key update whenever equal
// values may have different representations (anything whose bytes are not
// its identity; the update needs a copy-assignable key, and a key type that
// is not keeps the key first stored). A user type that knows better (no float inside, == that
// only compares identity) may specialise KeyTraits as an optimisation.
namespace detail {

template <class K>
struct DefaultKeyTraits {
  static constexpr bool bytes_are_identity = std::has_unique_object_representations_v<K>;
  static constexpr bool reflexive =
      std::is_integral_v<K> || std::is_enum_v<K> || std::is_pointer_v<K> || std::is_null_pointer_v<K> || bytes_are_identity;
  static constexpr bool needs_key_update = !(std::is_integral_v<K> || std::is_enum_v<K> || std::is_pointer_v<K> ||
                                             std::is_null_pointer_v<K> || bytes_are_identity);
};

}  // namespace detail

template <class K>
struct KeyTraits : detail::DefaultKeyTraits<K> {};

// Strings: == compares the characters, which are the whole value, so a string
// equals itself and an equal string is the same string.
template <class C, class Tr, class A>
struct KeyTraits<std::basic_string<C, Tr, A>> {
  static constexpr bool reflexive = true;
  static constexpr bool needs_key_update = false;
};
template <class C, class Tr>
struct KeyTraits<std::basic_string_view<C, Tr>> {
  static constexpr bool reflexive = true;
  static constexpr bool needs_key_update = false;
};

// Compounds, as Go treats structs and arrays: reflexive when every part is,
// needing a key update when any part does.
template <class A, class B>
struct KeyTraits<std::pair<A, B>> {
  static constexpr bool reflexive = KeyTraits<A>::reflexive && KeyTraits<B>::reflexive;
  static constexpr bool needs_key_update = KeyTraits<A>::needs_key_update || KeyTraits<B>::needs_key_update;
};
template <class... T>
struct KeyTraits<std::tuple<T...>> {
  static constexpr bool reflexive = (true && ... && KeyTraits<T>::reflexive);
  static constexpr bool needs_key_update = (false || ... || KeyTraits<T>::needs_key_update);
};
template <class T, std::size_t N>
struct KeyTraits<std::array<T, N>> {
  static constexpr bool reflexive = N == 0 || KeyTraits<T>::reflexive;
  static constexpr bool needs_key_update = N != 0 && KeyTraits<T>::needs_key_update;
};

static_assert(!KeyTraits<double>::reflexive && KeyTraits<double>::needs_key_update);
static_assert(KeyTraits<std::uint64_t>::reflexive && !KeyTraits<std::uint64_t>::needs_key_update);
static_assert(!KeyTraits<std::pair<int, float>>::reflexive && KeyTraits<std::pair<int, float>>::needs_key_update);

}  // namespace gomap
