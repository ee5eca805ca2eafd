// engine/tests/support/counting.hpp — instrumented key/value types and
// degenerate hash functors for gomap tests (header-only, Boost.Unordered style).
//
//  * Counted / CountedStr / BigCounted: key/value types that count every
//    construction (default, copy, move, value), destruction and live instance
//    in one shared set of static counters, detect double destruction and use of
//    a destroyed or moved-from object, and can be told to throw from their next
//    copy / move / default construction ("throw on demand").
//  * gomap::Hash specialisations for them, and CountedHash (a plain functor).
//  * ConstantHash<K>: every key lands in bucket 0 at every B; the top byte
//    (tophash) still varies, so chains get long but lookups stay exact.
//  * FewBitsHash<K, Bits>: only the low `Bits` bits vary (at most 2^Bits
//    buckets ever used); seed-independent, so tests can pick keys by bucket.
//
// The counters are plain statics: use these types from one thread at a time.
//
// This folder is not globbed by engine/tests/CMakeLists.txt (it only picks
// engine/tests/*.cpp), so helpers here are included, never compiled alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "gomap/hash.hpp"

namespace gomap_test {

// Thrown by the counted types when a throw was armed.
struct InjectedFault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A snapshot of the counters; differences of snapshots say what an operation did.
struct Counts {
  long default_ctor = 0;
  long copy_ctor = 0;
  long move_ctor = 0;
  long value_ctor = 0;
  long copy_assign = 0;
  long move_assign = 0;
  long dtor = 0;

  long constructions() const { return default_ctor + copy_ctor + move_ctor + value_ctor; }
  long live() const { return constructions() - dtor; }

  friend Counts operator-(const Counts& a, const Counts& b) {
    return Counts{a.default_ctor - b.default_ctor, a.copy_ctor - b.copy_ctor, a.move_ctor - b.move_ctor,
                  a.value_ctor - b.value_ctor,     a.copy_assign - b.copy_assign, a.move_assign - b.move_assign,
                  a.dtor - b.dtor};
  }
  friend bool operator==(const Counts&, const Counts&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Counts& c) {
    return os << "{default=" << c.default_ctor << " copy=" << c.copy_ctor << " move=" << c.move_ctor
              << " value=" << c.value_ctor << " copy_assign=" << c.copy_assign << " move_assign=" << c.move_assign
              << " dtor=" << c.dtor << " live=" << c.live() << "}";
  }
};

// The shared counters of every counted type.
class CountedBase {
 public:
  // Live instances of every counted type (constructed, not yet destroyed).
  static long live() { return s().counts.live(); }
  static Counts counts() { return s().counts; }
  // Objects destroyed twice / used (hashed, compared, read) while destroyed
  // or after being moved from. Must stay 0.
  static long double_destroys() { return s().double_destroys; }
  static long dead_uses() { return s().dead_uses; }
  static long moved_from_uses() { return s().moved_from_uses; }

  // Zero every counter and disarm every throw.
  static void reset() { s() = State{}; }

  // Throw InjectedFault from the (n+1)-th next copy / move / default
  // construction (n = 0: the very next one). -1 disarms.
  static void throw_on_copy(long n = 0) { s().copy_countdown = n; }
  static void throw_on_move(long n = 0) { s().move_countdown = n; }
  static void throw_on_default(long n = 0) { s().default_countdown = n; }
  static void disarm() { s().copy_countdown = s().move_countdown = s().default_countdown = -1; }
  static bool armed() { return s().copy_countdown >= 0 || s().move_countdown >= 0 || s().default_countdown >= 0; }

 protected:
  struct State {
    Counts counts;
    long double_destroys = 0;
    long dead_uses = 0;
    long moved_from_uses = 0;
    long copy_countdown = -1;
    long move_countdown = -1;
    long default_countdown = -1;
  };
  static State& s() {
    static State state;
    return state;
  }
  static void maybe_throw(long& countdown, const char* what) {
    if (countdown < 0) return;
    if (countdown-- == 0) throw InjectedFault(what);
  }

  static constexpr std::uint32_t kAlive = 0xA11CE5u;
  static constexpr std::uint32_t kMovedFrom = 0x30FEDu;
  static constexpr std::uint32_t kDead = 0xDEADu;
};

// A counted type with payload P (std::int64_t or std::string) and `Pad`
// extra bytes (Pad > 128 makes the map store it indirectly).
template <class P, std::size_t Pad = 0>
class BasicCounted : public CountedBase {
 public:
  using payload_type = P;

  BasicCounted() {
    maybe_throw(s().default_countdown, "default construction");
    ++s().counts.default_ctor;
  }
  // Implicit on purpose: m.insert_or_assign(1, 2) reads naturally in tests.
  BasicCounted(P p) : payload_(std::move(p)) { ++s().counts.value_ctor; }  // NOLINT
  template <class S, class = std::enable_if_t<std::is_same_v<P, std::string> && std::is_convertible_v<S, std::string>>>
  BasicCounted(const S& p) : payload_(std::string(p)) {  // NOLINT
    ++s().counts.value_ctor;
  }
  // The armed throw happens before anything is taken from `o`.
  BasicCounted(const BasicCounted& o)
      : payload_((maybe_throw(s().copy_countdown, "copy construction"), o.checked_payload())) {
    ++s().counts.copy_ctor;
  }
  BasicCounted(BasicCounted&& o)
      : payload_((maybe_throw(s().move_countdown, "move construction"), std::move(o.checked_payload_mut()))) {
    o.state_ = kMovedFrom;
    o.scrub();
    ++s().counts.move_ctor;
  }
  BasicCounted& operator=(const BasicCounted& o) {
    if (state_ == kDead) ++s().dead_uses;
    payload_ = o.checked_payload();
    state_ = kAlive;
    ++s().counts.copy_assign;
    return *this;
  }
  BasicCounted& operator=(BasicCounted&& o) {
    if (state_ == kDead) ++s().dead_uses;
    if (this != &o) {
      payload_ = std::move(o.checked_payload_mut());
      o.state_ = kMovedFrom;
      o.scrub();
    }
    state_ = kAlive;
    ++s().counts.move_assign;
    return *this;
  }
  ~BasicCounted() {
    if (state_ != kAlive && state_ != kMovedFrom) {
      ++s().double_destroys;
    }
    state_ = kDead;
    ++s().counts.dtor;
  }

  const P& payload() const { return checked_payload(); }
  bool moved_from() const { return state_ == kMovedFrom; }
  bool alive() const { return state_ == kAlive; }

  friend bool operator==(const BasicCounted& a, const BasicCounted& b) {
    return a.checked_payload() == b.checked_payload();
  }
  friend std::ostream& operator<<(std::ostream& os, const BasicCounted& c) {
    if (c.state_ != kAlive) return os << "<" << (c.state_ == kMovedFrom ? "moved-from" : "dead") << ">";
    return os << c.payload_;
  }

 private:
  const P& checked_payload() const {
    if (state_ == kDead) ++s().dead_uses;
    if (state_ == kMovedFrom) ++s().moved_from_uses;
    return payload_;
  }
  P& checked_payload_mut() { return const_cast<P&>(checked_payload()); }
  // A moved-from int keeps its value by default; make it observably different,
  // like a moved-from std::string, so reads of moved-from keys show up.
  void scrub() {
    if constexpr (std::is_integral_v<P>) payload_ = static_cast<P>(0x6d6f766564ll);  // "moved"
  }

  P payload_{};
  std::uint32_t state_ = kAlive;
  using Padding = std::conditional_t<(Pad != 0), unsigned char[(Pad != 0) ? Pad : 1], std::false_type>;
  [[no_unique_address]] Padding pad_{};
};

using Counted = BasicCounted<std::int64_t>;
using CountedStr = BasicCounted<std::string>;
using BigCounted = BasicCounted<std::int64_t, 160>;  // > 128 bytes: stored indirectly
using BigCountedStr = BasicCounted<std::string, 160>;

static_assert(sizeof(Counted) <= 128, "Counted must be stored inline");
static_assert(sizeof(BigCounted) > 128, "BigCounted must be stored indirectly");
static_assert(!std::has_unique_object_representations_v<Counted> &&
                  !std::has_unique_object_representations_v<BigCounted>,
              "counted types must not match gomap's byte-hash specialisation");

// Hashes the payload only, so equal Counted hash alike. Seeded.
struct CountedHash {
  template <class P, std::size_t Pad>
  std::uint64_t operator()(const BasicCounted<P, Pad>& c, std::uint64_t seed) const {
    return gomap::Hash<P>{}(c.payload(), seed);
  }
};

}  // namespace gomap_test

namespace gomap {
// gomap::Map<Counted, V> works with the default hash functor.
template <class P, std::size_t Pad>
struct Hash<gomap_test::BasicCounted<P, Pad>, void> : gomap_test::CountedHash {};
}  // namespace gomap

namespace gomap_test {

// The hash every test helper uses to derive a seed-independent 64-bit value.
template <class K>
std::uint64_t unseeded_hash(const K& k) {
  return gomap::Hash<K>{}(k, 0x5eed5eed5eed5eedull);
}

// All keys share bucket 0 (low bits are constant), whatever B and seed are;
// the top byte varies with the key so tophash still filters.
template <class K, std::uint64_t Low = 0>
struct ConstantHash {
  std::uint64_t operator()(const K& k, std::uint64_t /*seed*/) const {
    return (unseeded_hash(k) & 0xff00000000000000ull) | Low;
  }
};

// Only the low `Bits` bits vary (bucket = those bits once B >= Bits), and the
// top byte varies; everything else is constant. Seed-independent: a test can
// compute a key's bucket with bucket_of() and build chains where it wants.
template <class K, unsigned Bits>
struct FewBitsHash {
  static_assert(Bits < 56, "the low bits must not reach the tophash byte");
  static constexpr std::uint64_t kLowMask = (std::uint64_t(1) << Bits) - 1;
  std::uint64_t operator()(const K& k, std::uint64_t /*seed*/) const {
    const std::uint64_t h = unseeded_hash(k);
    return (h & 0xff00000000000000ull) | ((h >> 17) & kLowMask);
  }
  // The bucket `k` lands in for a map with 2^B buckets.
  static std::size_t bucket_of(const K& k, unsigned B) {
    return static_cast<std::size_t>(FewBitsHash{}(k, 0) & ((std::uint64_t(1) << B) - 1));
  }
};

}  // namespace gomap_test
