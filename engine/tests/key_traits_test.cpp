// Go derives two properties from every key type: reflexivekey (k == k always)
// and needkeyupdate (an assignment to an existing key rewrites the stored key).
// gomap derives them in gomap::KeyTraits; these tests use user key types with
// a float field and no KeyTraits specialisation, and check that they get Go's
// semantics: key overwrite of ±0, NaN fields that make a key unfindable, and
// iteration across growth that yields each key with its current value.
// Also: hashing a type with padding reads only its value bytes.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <gomap/map.hpp>

namespace {

// A user's key: a double and a string, its own hash and ==, nothing else.
struct Point {
  double x;
  std::string label;
  friend bool operator==(const Point& a, const Point& b) { return a.x == b.x && a.label == b.label; }
};
struct PointHash {
  std::uint64_t operator()(const Point& p, std::uint64_t seed) const noexcept {
    const double x = p.x == 0.0 ? 0.0 : p.x;  // +0 and -0 are equal, so they hash alike
    return gomap::Hash<std::string>{}(p.label, seed ^ std::bit_cast<std::uint64_t>(x));
  }
};

struct Plain {  // no float, no padding: bytes are identity
  std::uint32_t a, b;
  friend bool operator==(const Plain&, const Plain&) = default;
};

static_assert(!gomap::KeyTraits<Point>::reflexive, "a float field makes a key non-reflexive");
static_assert(gomap::KeyTraits<Point>::needs_key_update, "a float field needs key update");
static_assert(gomap::KeyTraits<Plain>::reflexive && !gomap::KeyTraits<Plain>::needs_key_update);
static_assert(gomap::KeyTraits<std::string>::reflexive && !gomap::KeyTraits<std::string>::needs_key_update);
static_assert(gomap::KeyTraits<int>::reflexive && !gomap::KeyTraits<int>::needs_key_update);
static_assert(!gomap::KeyTraits<float>::reflexive && gomap::KeyTraits<float>::needs_key_update);
static_assert(!gomap::KeyTraits<std::pair<int, double>>::reflexive);
static_assert(gomap::KeyTraits<std::pair<int, std::string>>::reflexive);
static_assert(!gomap::KeyTraits<std::pair<int, std::string>>::needs_key_update);
static_assert(!gomap::KeyTraits<std::tuple<int, std::array<double, 2>>>::reflexive);
static_assert(gomap::KeyTraits<std::tuple<int, std::array<double, 2>>>::needs_key_update);
static_assert(gomap::KeyTraits<std::array<std::uint64_t, 4>>::reflexive);

using PointMap = gomap::Map<Point, int, PointHash>;

double negative_zero() { return std::copysign(0.0, -1.0); }

// Leaves `c` in the stack below the caller, so that the padding of a long
// double copied into an argument slot next is `c`: x87 copies move only the
// ten value bytes.
[[gnu::noinline]] void dirty_stack(unsigned char c) {
  volatile unsigned char junk[4096];
  for (auto& x : junk) x = c;
}
[[gnu::noinline]] std::uint64_t hash_long_double(const long double& v, std::uint64_t seed) {
  return gomap::Hash<long double>{}(v, seed);
}

TEST(KeyTraits, StructWithDoubleOverwritesTheStoredKey) {
  PointMap m(0, gomap::Seed{1});
  m.insert_or_assign({0.0, "a"}, 1);
  m.insert_or_assign({negative_zero(), "a"}, 2);  // Go: the key is rewritten to -0
  ASSERT_EQ(m.size(), 1u);
  for (auto&& [k, v] : m) {
    EXPECT_TRUE(std::signbit(k.x)) << "-0 written last, but the stored key is +0";
    EXPECT_EQ(v, 2);
  }
  m[{0.0, "a"}] += 1;  // m[k] op= x assigns too
  for (auto&& [k, v] : m) {
    EXPECT_FALSE(std::signbit(k.x)) << "+0 written last, but the stored key is -0";
    EXPECT_EQ(v, 3);
  }
  m.check_invariants();
}

TEST(KeyTraits, StructWithNanFieldIsNeverFound) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PointMap m(0, gomap::Seed{2});
  m.insert_or_assign({nan, "n"}, 1);
  m.insert_or_assign({nan, "n"}, 2);
  m[{nan, "n"}] += 4;
  EXPECT_EQ(m.size(), 3u) << "each write of a key with a NaN field adds an entry";
  EXPECT_FALSE(m.contains({nan, "n"}));
  EXPECT_FALSE(m.erase({nan, "n"}));
  int bits = 0;
  for (auto&& [k, v] : m) {
    EXPECT_TRUE(std::isnan(k.x));
    bits |= v;
  }
  EXPECT_EQ(bits, 7);
  // Many NaN-field keys across growth: all still there, none findable.
  for (int i = 0; i < 200; ++i) m.insert_or_assign({nan, std::to_string(i)}, 8);
  EXPECT_EQ(m.size(), 203u);
  std::size_t yielded = 0;
  for (auto&& kv : m) {
    (void)kv;
    ++yielded;
  }
  EXPECT_EQ(yielded, 203u);
  m.check_invariants();
  m.clear();
  EXPECT_EQ(m.size(), 0u) << "clear removes NaN-field keys";
}

// Go's TestGrowWithNegativeZero, with the user struct: the loop body grows
// the map and rewrites every +0 key to -0; each original entry is yielded
// once, and its key and value change together.
TEST(KeyTraits, StructWithDoubleGrowsUnderAnIteratorLikeGo) {
  PointMap m(4, gomap::Seed{3});
  for (int i = 0; i < 4; ++i) m.insert_or_assign({0.0, "p" + std::to_string(i)}, 1 << i);
  bool first = true;
  int bits = 0, counted = 0, negative = 0;
  std::set<std::string> labels;
  for (auto&& [k, v] : m) {
    const Point key = k;
    const int value = v;
    if (value == 0) continue;  // filler entries added below
    ++counted;
    EXPECT_TRUE(labels.insert(key.label).second) << key.label << " yielded twice";
    if (std::signbit(key.x)) {
      EXPECT_EQ(value & 16, 16) << "yielded the new -0 key with the old value: " << key.label;
      ++negative;
    } else {
      EXPECT_EQ(value & 16, 0) << "yielded the old +0 key with the new value: " << key.label;
    }
    bits |= value & 15;
    if (first) {
      first = false;
      for (int i = 0; i < 100; ++i) m.insert_or_assign({3.0, "f" + std::to_string(i)}, 0);  // grows
      for (int i = 0; i < 4; ++i) m.insert_or_assign({negative_zero(), "p" + std::to_string(i)}, (1 << i) | 16);
      EXPECT_EQ(m.size(), 104u) << "-0 must overwrite the +0 keys, not add new ones";
    }
  }
  EXPECT_EQ(bits, 15) << "an original entry was not yielded";
  EXPECT_EQ(counted, 4);
  EXPECT_EQ(negative, 3) << "entries reached after the rewrite must be yielded with the -0 key";
  for (auto&& [k, v] : m) {
    if (v != 0) {
      EXPECT_TRUE(std::signbit(k.x));
    }
  }
  m.check_invariants();
}

// A key that cannot be assigned (a const member) still works: the default
// traits ask for a key update, which such a key cannot take, so the first
// stored key stays.
struct Frozen {
  const int id;
  std::string name;
  friend bool operator==(const Frozen& a, const Frozen& b) { return a.id == b.id && a.name == b.name; }
};
struct FrozenHash {
  std::uint64_t operator()(const Frozen& f, std::uint64_t seed) const noexcept {
    return gomap::Hash<std::string>{}(f.name, seed ^ static_cast<std::uint64_t>(f.id));
  }
};
static_assert(!std::is_copy_assignable_v<Frozen> && gomap::KeyTraits<Frozen>::needs_key_update);

TEST(KeyTraits, KeyThatCannotBeAssignedStillWorks) {
  gomap::Map<Frozen, int, FrozenHash> m(0, gomap::Seed{5});
  for (int i = 0; i < 100; ++i) m.insert_or_assign(Frozen{i, "f"}, i);
  m.insert_or_assign(Frozen{7, "f"}, 70);
  ASSERT_EQ(m.size(), 100u);
  ASSERT_NE(m.find(Frozen{7, "f"}), nullptr);
  EXPECT_EQ(*m.find(Frozen{7, "f"}), 70);
  m.check_invariants();
}

// x87 long double: 10 value bytes in a 16-byte object. Equal values with
// different padding must hash alike and find each other.
TEST(KeyTraits, LongDoubleHashIgnoresPadding) {
  if constexpr (std::numeric_limits<long double>::digits != 64 || sizeof(long double) <= 10) {
    GTEST_SKIP() << "long double has no padding here";
  } else {
    long double a, b;
    std::memset(&a, 0x00, sizeof a);
    std::memset(&b, 0xa5, sizeof b);
    // Write only the value bytes of b, leaving its padding as set above.
    const long double value = 1.5L;
    std::memcpy(&a, &value, 10);
    std::memcpy(&b, &value, 10);
    ASSERT_EQ(a, b);
    ASSERT_NE(std::memcmp(&a, &b, sizeof a), 0) << "the padding should differ";
    dirty_stack(0x00);
    const std::uint64_t ha = hash_long_double(a, 7);
    dirty_stack(0xff);
    const std::uint64_t hb = hash_long_double(b, 7);
    EXPECT_EQ(ha, hb) << "equal long doubles hash differently: the hash reads padding";
    gomap::Map<long double, int> m(0, gomap::Seed{4});
    dirty_stack(0x00);
    m.insert_or_assign(a, 1);
    dirty_stack(0xff);
    ASSERT_NE(m.find(b), nullptr) << "an equal key with different padding is not found";
    EXPECT_EQ(*m.find(b), 1);
    m.insert_or_assign(b, 2);
    EXPECT_EQ(m.size(), 1u);
    // And the zeros: -0.0L and +0.0L are one key.
    m.insert_or_assign(-0.0L, 3);
    EXPECT_EQ(*m.find(0.0L), 3);
  }
}

}  // namespace
