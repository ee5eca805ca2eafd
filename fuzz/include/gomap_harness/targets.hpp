// gomap_harness/targets.hpp — what each fuzz target puts in the map.
//
// A target fixes the key and value types and its key domains: pure functions
// from a 16-bit key code to a key, chosen by Config::domain. The domains are
// where collisions, growth, overflow chains, NaN/±0, long strings and
// indirect (>128 byte) keys come from. Values are TrackedValue (or contain
// one, or are strings), so that every construction, destruction and read of a
// value in the engine is checked, not only the ones the sanitizers can see.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include <gomap/hash.hpp>

namespace gomap_harness {

// The engine adapters (fuzz/adapters/): a target names the one it runs on;
// the executor includes their definitions.
template <class T> class GomapAdapter;
template <class T> class StdUnorderedAdapter;
template <class T> class AbslFlatAdapter;
template <class T> class BoostFlatAdapter;

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A value that knows whether it is alive. Reading, assigning or destroying a
// dead one (a slot the engine already destroyed, or never constructed) aborts
// with a clear message; live() counts instances so leaks and double
// destruction show up as an imbalance when a program ends.
class TrackedValue {
 public:
  TrackedValue() noexcept : code_(0), magic_(kAlive) { ++live_count(); }
  explicit TrackedValue(std::uint64_t code) noexcept : code_(code), magic_(kAlive) { ++live_count(); }
  TrackedValue(const TrackedValue& o) noexcept : code_(o.code()), magic_(kAlive) { ++live_count(); }
  TrackedValue(TrackedValue&& o) noexcept : code_(o.code()), magic_(kAlive) { ++live_count(); }
  TrackedValue& operator=(const TrackedValue& o) noexcept {
    check("assigned to");
    code_ = o.code();
    return *this;
  }
  TrackedValue& operator=(TrackedValue&& o) noexcept {
    check("assigned to");
    code_ = o.code();
    return *this;
  }
  ~TrackedValue() {
    check("destroyed");
    magic_ = kDead;
    --live_count();
  }
  std::uint64_t code() const noexcept {
    check("read");
    return code_;
  }
  void increment() noexcept {
    check("incremented");
    ++code_;
  }
  static long long& live_count() noexcept {
    thread_local long long n = 0;
    return n;
  }

 private:
  static constexpr std::uint32_t kAlive = 0x600d7a1e;
  static constexpr std::uint32_t kDead = 0xdeadbeef;
  void check(const char* what) const noexcept {
    if (magic_ != kAlive) {
      std::fprintf(stderr, "gomap harness: a map value was %s while not alive (magic %#x)\n", what, unsigned(magic_));
      std::abort();
    }
  }
  std::uint64_t code_;
  std::uint32_t magic_;
};

// Byte equality for the oracle's keys, as a loop: std::string's == goes
// through memcmp, and under the fuzz build every memcmp call also feeds
// libFuzzer's memcmp hook, which the oracle's lookups need not pay for.
inline bool same_bytes(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]);
  return diff == 0;
}
// A string a target builds from a code, built once per code below 256 (codes
// are set by a byte, so nearly all are) and then copied: the caller still gets
// a heap string of its own, as the engine must own what it stores.
template <std::string (*Make)(std::uint64_t)>
std::string built_once(std::uint64_t code) {
  thread_local const std::array<std::string, 256> built = [] {
    std::array<std::string, 256> b;
    for (std::uint64_t c = 0; c < b.size(); ++c) b[c] = Make(c);
    return b;
  }();
  return code < built.size() ? built[code] : Make(code);
}

struct SameBytes {
  bool operator()(const std::string& a, const std::string& b) const { return same_bytes(a, b); }
};

// Defaults shared by the targets; each target overrides what differs.
template <class K, class V>
struct TargetBase {
  using Key = K;
  using Value = V;
  static constexpr bool has_nan = false;  // some key code makes a NaN (non-reflexive) key
  static bool is_nan(const Key&) { return false; }
  static bool same_representation(const Key& a, const Key& b) { return a == b; }
  // libFuzzer's -max_len for this target (its corpus/<target>.options).
  static constexpr std::size_t max_len = 256;
  // Key codes worth a libFuzzer dictionary token (name, code), domain 0.
  static constexpr std::array<std::pair<std::string_view, std::uint16_t>, 0> dict_keys{};
  // The engine under test, behind its adapter (fuzz/adapters/engine_adapter.hpp).
  template <class Target>
  using Adapter = GomapAdapter<Target>;
  // How the oracle compares its keys (OracleKey): == unless a target says.
  struct OracleEqual {
    template <class OK>
    bool operator()(const OK& a, const OK& b) const { return a == b; }
  };
};

// Values that are TrackedValue.
struct TrackedValues {
  static TrackedValue value(std::uint64_t code) { return TrackedValue(code); }
  static std::uint64_t value_code(const TrackedValue& v) { return v.code(); }
  static void increment(TrackedValue& v) { v.increment(); }
};

// ---- map_u64: dense small keys (tombstone reuse, chains) and wide u64.
struct U64Target : TargetBase<std::uint64_t, TrackedValue>, TrackedValues {
  static constexpr std::string_view name = "map_u64";
  using Hash = gomap::Hash<std::uint64_t>;
  using OracleKey = std::uint64_t;
  static constexpr unsigned domains = 3;
  static const char* domain_name(unsigned d) {
    static const char* n[] = {"dense 0..15", "dense 0..255", "wide u64 with edge values"};
    return n[d % domains];
  }
  static Hash make_hash(unsigned) { return {}; }
  static Key key(std::uint16_t code, unsigned domain) {
    switch (domain % domains) {
      case 0: return code % 16;
      case 1: return code % 256;
      default: {
        static constexpr std::uint64_t edges[8] = {0, 1, ~0ull, 1ull << 63, (1ull << 63) + 1, 0xffffffffull,
                                                   1ull << 32, 0x5555555555555555ull};
        return (code % 64) < 8 ? edges[code % 8] : splitmix64(code);
      }
    }
  }
  static OracleKey oracle_key(const Key& k) { return k; }
  static std::string show_key(const Key& k) { return std::to_string(k); }
};

// ---- map_string: empty, short, SSO-edge, 200+ byte and common-prefix keys;
// string values (heap-allocated past 15 bytes, so LeakSanitizer sees leaks).
struct StringTarget : TargetBase<std::string, std::string> {
  static constexpr std::string_view name = "map_string";
  using Hash = gomap::Hash<std::string>;
  using OracleKey = std::string;
  using OracleEqual = SameBytes;
  static constexpr unsigned domains = 3;
  static const char* domain_name(unsigned d) {
    static const char* n[] = {"short k0..k63", "mixed lengths: empty, short, 15-16, 200+, common prefix",
                              "200+ byte keys differing at the end"};
    return n[d % domains];
  }
  static Hash make_hash(unsigned) { return {}; }
  static Key key(std::uint16_t code, unsigned domain) {
    const unsigned n = code % 64;
    switch (domain % domains) {
      case 0: return "k" + std::to_string(n);
      case 1:
        switch ((code >> 8) % 4) {
          case 0: return n % 16 == 0 ? std::string() : "s" + std::to_string(n);
          case 1: return std::string(14 + n % 3, 'e') + std::to_string(n % 10);
          case 2: return std::string(200, 'L') + std::to_string(n);
          default: return "common/prefix/that/is/forty/bytes/long/" + std::to_string(n);
        }
      default: return std::string(220, 'x') + std::to_string(code % 32);
    }
  }
  static const OracleKey& oracle_key(const Key& k) { return k; }  // no copy of the string per oracle op
  static std::string show_key(const Key& k) {
    if (k.size() > 24) return "\"" + k.substr(0, 8) + "...\"(" + std::to_string(k.size()) + " bytes, ends \"" + k.substr(k.size() - 4) + "\")";
    return "\"" + k + "\"";
  }
  static std::string value(std::uint64_t code) { return built_once<make_value>(code); }
  static std::string make_value(std::uint64_t code) {
    return code == 0 ? std::string() : "value-" + std::to_string(code) + "-padded-past-sso";
  }
  static std::uint64_t value_code(const std::string& v) {
    if (v.empty()) return 0;
    return std::strtoull(v.c_str() + 6, nullptr, 10);
  }
  static void increment(std::string& v) { v = value(value_code(v) + 1); }
};

// ---- map_double: NaNs (several payloads), ±0, ±inf, subnormals, integers.
struct DoubleTarget : TargetBase<double, TrackedValue>, TrackedValues {
  static constexpr std::string_view name = "map_double";
  static constexpr bool has_nan = true;
  // Domain 0's codes of NaN, +0, -0 and +inf (see special()).
  static constexpr std::array<std::pair<std::string_view, std::uint16_t>, 4> dict_keys{
      {{"nan_key", 0}, {"zero_key", 3}, {"negzero_key", 4}, {"inf_key", 5}}};
  using Hash = gomap::Hash<double>;
  using OracleKey = std::uint64_t;  // bits of the value with -0.0 folded into +0.0
  static constexpr unsigned domains = 3;
  static const char* domain_name(unsigned d) {
    static const char* n[] = {"special values only", "specials and small integers", "quarters with NaN and -0"};
    return n[d % domains];
  }
  static Hash make_hash(unsigned) { return {}; }
  static double special(unsigned i) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    const double specials[16] = {std::numeric_limits<double>::quiet_NaN(),
                                 std::bit_cast<double>(0x7ff0000000000001ull),  // signalling payload
                                 -std::numeric_limits<double>::quiet_NaN(),
                                 0.0,
                                 -0.0,
                                 inf,
                                 -inf,
                                 std::numeric_limits<double>::denorm_min(),
                                 -std::numeric_limits<double>::denorm_min(),
                                 std::numeric_limits<double>::min(),
                                 std::numeric_limits<double>::max(),
                                 1.0,
                                 -1.0,
                                 0.5,
                                 9007199254740992.0,  // 2^53
                                 9007199254740993.0}; // rounds to 2^53: the same key
    return specials[i % 16];
  }
  static Key key(std::uint16_t code, unsigned domain) {
    switch (domain % domains) {
      case 0: return special(code % 16);
      case 1: return code % 64 < 16 ? special(code % 16) : double(int(code % 64) - 32);
      default:
        if (code % 32 == 0) return std::numeric_limits<double>::quiet_NaN();
        if (code % 32 == 1) return -0.0;
        return double(code % 512) / 4.0;
    }
  }
  static bool is_nan(const Key& k) { return std::isnan(k); }
  static OracleKey oracle_key(const Key& k) { return std::bit_cast<std::uint64_t>(k == 0.0 ? 0.0 : k); }
  static bool same_representation(const Key& a, const Key& b) {
    return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
  }
  static std::string show_key(const Key& k) {
    if (std::isnan(k)) return "NaN";
    if (k == 0.0) return std::signbit(k) ? "-0.0" : "+0.0";
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", k);
    return buf;
  }
};

// ---- map_bigkey: 160-byte keys and 180+ byte values, both stored indirectly.
struct BigKey {
  std::array<std::uint64_t, 20> words{};
  friend bool operator==(const BigKey&, const BigKey&) = default;
};
struct BigValue {
  TrackedValue tracked;
  std::string note;  // heap-allocated, so a leaked value is visible to LSan
  std::array<char, 128> pad{};
};

// The oracle's copy of a BigKey: the same words, compared and hashed by the
// harness itself. (BigKey's == is what the engine compares with; through
// memcmp, each call also feeds libFuzzer's memcmp hook, which the oracle's
// lookups need not pay for.)
struct BigKeyWords {
  std::array<std::uint64_t, 20> words;
  friend bool operator==(const BigKeyWords& a, const BigKeyWords& b) {
    const std::uint64_t *x = a.words.data(), *y = b.words.data();
    std::uint64_t diff = 0;
    for (std::size_t i = 0; i < a.words.size(); ++i) diff |= x[i] ^ y[i];
    return diff == 0;
  }
};

struct BigKeyTarget : TargetBase<BigKey, BigValue> {
  static constexpr std::string_view name = "map_bigkey";
  using Hash = gomap::Hash<BigKey>;
  using OracleKey = BigKeyWords;
  static constexpr unsigned domains = 3;
  static const char* domain_name(unsigned d) {
    static const char* n[] = {"differ in the first word (16 keys)", "differ in the last word (256 keys)",
                              "all words random (1024 keys)"};
    return n[d % domains];
  }
  static Hash make_hash(unsigned) { return {}; }
  static Key key(std::uint16_t code, unsigned domain) {
    BigKey k;
    for (std::size_t i = 0; i < k.words.size(); ++i) k.words[i] = 0x0101010101010101ull * i;
    switch (domain % domains) {
      case 0: k.words[0] = code % 16; break;
      case 1: k.words[19] = code % 256; break;
      default:
        for (std::size_t i = 0; i < k.words.size(); ++i) k.words[i] = splitmix64((code % 1024) * 31 + i);
    }
    return k;
  }
  static OracleKey oracle_key(const Key& k) { return {k.words}; }
  static std::string show_key(const Key& k) {
    return "big{w0=" + std::to_string(k.words[0]) + ",w19=" + std::to_string(k.words[19]) + "}";
  }
  static BigValue value(std::uint64_t code) {
    BigValue v{TrackedValue(code), note(code), {}};
    v.pad[0] = static_cast<char>(code);
    return v;
  }
  static std::uint64_t value_code(const BigValue& v) { return v.tracked.code(); }
  static void increment(BigValue& v) {
    v.tracked.increment();
    v.note = note(v.tracked.code());
  }
  static std::string make_note(std::uint64_t code) {
    return "big value note " + std::to_string(code) + " long enough for the heap";
  }
  static std::string note(std::uint64_t code) { return built_once<make_note>(code); }
};

// ---- map_collide: a degenerate hash injected from the input, to force long
// overflow chains, tophash collisions and same-size growth.
struct InjectedHash {
  std::uint8_t mode = 0;
  std::uint64_t operator()(std::uint64_t k, std::uint64_t seed) const noexcept {
    switch (mode % 4) {
      case 0: return 0x4242424242424242ull;  // one bucket, one tophash: every key collides fully
      case 1: return splitmix64(k ^ seed) & ~0xffffull;  // one bucket, distinct tophash
      case 2: {  // two low bits and one top bit of real hash
        const std::uint64_t h = splitmix64(k ^ seed);
        return (h & 3) | (h & (1ull << 63));
      }
      default: return splitmix64(k ^ seed) & 0x00ffffffffffffffull;  // every tophash is the minimum
    }
  }
};

struct CollideTarget : TargetBase<std::uint64_t, TrackedValue>, TrackedValues {
  static constexpr std::string_view name = "map_collide";
  static constexpr std::size_t max_len = 384;  // long enough to fill overflow chains
  using Hash = InjectedHash;
  using OracleKey = std::uint64_t;
  static constexpr unsigned domains = 8;
  static const char* domain_name(unsigned d) {
    static const char* n[] = {"constant hash, 64 keys",       "one bucket varied tophash, 64 keys",
                              "3 hash bits, 64 keys",         "tophash collisions, 64 keys",
                              "constant hash, 256 keys",      "one bucket varied tophash, 256 keys",
                              "3 hash bits, 256 keys",        "tophash collisions, 256 keys"};
    return n[d % domains];
  }
  static Hash make_hash(unsigned domain) { return InjectedHash{static_cast<std::uint8_t>(domain % 4)}; }
  static Key key(std::uint16_t code, unsigned domain) { return (domain % domains) < 4 ? code % 64 : code % 256; }
  static OracleKey oracle_key(const Key& k) { return k; }
  static std::string show_key(const Key& k) { return std::to_string(k); }
};

// ---- map_struct: a user's struct key, a double and a string, with its own
// hash and == and no gomap::KeyTraits specialisation: Go's key rules (NaN
// fields make a key non-reflexive, -0 over +0 rewrites the stored key) must
// come from the defaults.
struct DoubleLabel {
  double x;
  std::string label;
  friend bool operator==(const DoubleLabel& a, const DoubleLabel& b) { return a.x == b.x && a.label == b.label; }
};
struct DoubleLabelHash {
  std::uint64_t operator()(const DoubleLabel& k, std::uint64_t seed) const noexcept {
    const double x = k.x == 0.0 ? 0.0 : k.x;  // +0 == -0, so they must hash alike
    return gomap::Hash<std::string>{}(k.label, seed) ^ gomap::Hash<double>{}(x, ~seed);
  }
};
static_assert(!gomap::KeyTraits<DoubleLabel>::reflexive && gomap::KeyTraits<DoubleLabel>::needs_key_update,
              "KeyTraits defaults must give a struct with a double Go's key rules");

// map_struct's oracle key: the double's bits (-0.0 folded into +0.0) and the label.
struct DoubleLabelBits {
  std::uint64_t bits;
  std::string label;
  friend bool operator==(const DoubleLabelBits& a, const DoubleLabelBits& b) {
    return a.bits == b.bits && same_bytes(a.label, b.label);
  }
};

struct StructTarget : TargetBase<DoubleLabel, TrackedValue>, TrackedValues {
  static constexpr std::string_view name = "map_struct";
  static constexpr bool has_nan = true;
  // Domain 0: the low 4 bits of a code pick the double (as map_double's
  // special()), the next 2 the label.
  static constexpr std::array<std::pair<std::string_view, std::uint16_t>, 6> dict_keys{
      {{"nan_key", 0}, {"zero_key", 3}, {"negzero_key", 4}, {"inf_key", 5}, {"negzero_label_b", 0x14}, {"nan_label_c", 0x31}}};
  using Hash = DoubleLabelHash;
  using OracleKey = DoubleLabelBits;
  static constexpr unsigned domains = 3;
  static const char* domain_name(unsigned d) {
    static const char* n[] = {"16 special doubles x 4 short labels", "specials and small integers x 16 labels (empty, long)",
                              "quarters with NaN and -0, one label"};
    return n[d % domains];
  }
  static Hash make_hash(unsigned) { return {}; }
  static Key key(std::uint16_t code, unsigned domain) {
    switch (domain % domains) {
      case 0: {
        static const char* labels[4] = {"a", "b", "", "c"};
        return {DoubleTarget::special(code % 16), labels[(code >> 4) % 4]};
      }
      case 1: {
        const unsigned l = (code >> 6) % 16;
        std::string label = l == 0 ? std::string() : l < 12 ? "l" + std::to_string(l) : std::string(200 + l, 'L');
        return {DoubleTarget::key(code, 1), std::move(label)};
      }
      default: return {DoubleTarget::key(code, 2), "q"};
    }
  }
  static bool is_nan(const Key& k) { return std::isnan(k.x); }
  static OracleKey oracle_key(const Key& k) { return {std::bit_cast<std::uint64_t>(k.x == 0.0 ? 0.0 : k.x), k.label}; }
  static bool same_representation(const Key& a, const Key& b) {
    return DoubleTarget::same_representation(a.x, b.x) && a.label == b.label;
  }
  static std::string show_key(const Key& k) { return "{" + DoubleTarget::show_key(k.x) + ", " + StringTarget::show_key(k.label) + "}"; }
};

// ---- std_u64, absl_u64, boost_u64: map_u64's keys and values on the
// standard library's and two popular hash maps, under the stl iteration rules
// (fuzz/adapters/engine_adapter.hpp). These maps are trusted, so a finding
// here is a false positive of the harness. The name's prefix is the engine,
// its suffix the gomap target whose domains it shares (corpus/make_seeds.py
// reads it so).
struct StdU64Target : U64Target {
  static constexpr std::string_view name = "std_u64";
  template <class Target>
  using Adapter = StdUnorderedAdapter<Target>;
};
struct AbslU64Target : U64Target {
  static constexpr std::string_view name = "absl_u64";
  template <class Target>
  using Adapter = AbslFlatAdapter<Target>;
};
struct BoostU64Target : U64Target {
  static constexpr std::string_view name = "boost_u64";
  template <class Target>
  using Adapter = BoostFlatAdapter<Target>;
};

// ---- The registry: every single-thread map target, once. Append only: a
// target's index here is its id in the binary header of saved crash files.
// Names, ids, dispatch (with_target), `gomap-replay --list-targets` (which
// CMake's tests, corpus/make_seeds.py, corpus/build.sh and ci/ read) and the
// "known targets" of error messages all derive from this list. To add a
// target see fuzz/README.md, "Adding a target or an op".
template <class... Ts>
struct TargetList {
  static constexpr std::size_t size = sizeof...(Ts);
  static constexpr std::array<std::string_view, sizeof...(Ts)> names = {Ts::name...};
  // Calls f.template operator()<T>() for every target, in id order.
  template <class F>
  static void for_each(F&& f) {
    (f.template operator()<Ts>(), ...);
  }
  // Calls f.template operator()<T>() for the target named `name`; false if none is.
  template <class F>
  static bool with(std::string_view name, F&& f) {
    return ((name == Ts::name ? (f.template operator()<Ts>(), true) : false) || ...);
  }
};

using AllTargets = TargetList<U64Target, StringTarget, DoubleTarget, BigKeyTarget, CollideTarget, StructTarget,
                              StdU64Target, AbslU64Target, BoostU64Target>;

inline constexpr const auto& kTargetNames = AllTargets::names;
static_assert(kTargetNames.size() < 256, "the binary header stores a target id in one byte");

template <class F>
bool with_target(std::string_view name, F&& f) {
  return AllTargets::with(name, std::forward<F>(f));
}
template <class F>
void for_each_target(F&& f) {
  AllTargets::for_each(std::forward<F>(f));
}

}  // namespace gomap_harness

template <>
struct std::hash<gomap_harness::DoubleLabelBits> {
  std::size_t operator()(const gomap_harness::DoubleLabelBits& k) const noexcept {
    return gomap_harness::splitmix64(k.bits) ^ std::hash<std::string_view>{}(k.label);
  }
};

template <>
struct std::hash<gomap_harness::BigKeyWords> {
  std::size_t operator()(const gomap_harness::BigKeyWords& k) const noexcept {
    // One multiply a word, one full mix at the end: the oracle needs a
    // spread, not a seeded or strong hash.
    const std::uint64_t* w = k.words.data();
    std::uint64_t h = 0;
    for (std::size_t i = 0; i < k.words.size(); ++i) h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
    return gomap_harness::splitmix64(h);
  }
};
