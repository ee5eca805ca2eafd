// differential_test.cpp — SyncMap and ShardedMap against ReferenceMap, one
// operation at a time (Go's TestMapMatchesRWMutex / TestMapMatchesDeepCopy,
// which run random call sequences through sync.Map and reference maps and
// compare every result and the final contents).
//
// The programs are random sequences over every method, on a small key
// domain (so that keys are deleted, expunged, re-stored and promoted many
// times) and a small value domain (so that compare_and_swap and
// compare_and_delete succeed often). Every result is compared; after a range
// the yielded contents are compared; at the end the full contents are.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "gomap_harness/concurrent_ops.hpp"
#include "map_types.hpp"
#include "reference_map.hpp"

namespace {

using gomap_harness::ConcOpKind;
using gomap_test::from_code;

template <class M, class K, class V>
std::map<K, V> contents(M& m) {
  std::map<K, V> out;
  m.range([&](const K& k, const V& v) {
    out.emplace(k, v);
    return true;
  });
  return out;
}

template <class T>
std::string show(const std::optional<T>& v) {
  if (!v) return "absent";
  std::ostringstream s;
  s << *v;
  return s.str();
}

struct Step {
  ConcOpKind kind;
  std::uint64_t key;
  std::uint64_t value;
  std::uint64_t value2;
};

std::vector<Step> random_program(std::mt19937_64& rng, std::size_t len, std::uint64_t keys, std::uint64_t values) {
  // Weighted like a workload: many point ops, occasional whole-map ops.
  static constexpr ConcOpKind kinds[] = {
      ConcOpKind::Load,          ConcOpKind::Load,          ConcOpKind::Load,         ConcOpKind::Store,
      ConcOpKind::Store,         ConcOpKind::LoadOrStore,   ConcOpKind::LoadAndDelete, ConcOpKind::Erase,
      ConcOpKind::Swap,          ConcOpKind::CompareAndSwap, ConcOpKind::CompareAndDelete, ConcOpKind::Load,
      ConcOpKind::Erase,         ConcOpKind::Store,         ConcOpKind::Range,         ConcOpKind::RangeErase,
      ConcOpKind::Clear,         ConcOpKind::Len,
  };
  std::vector<Step> p(len);
  for (Step& s : p) {
    const std::size_t n = sizeof(kinds) / sizeof(kinds[0]);
    std::size_t i = rng() % n;
    // Whole-map ops are the last three: make them rarer.
    if (i >= n - 3 && rng() % 4 != 0) i = rng() % (n - 3);
    s.kind = kinds[i];
    s.key = rng() % keys;
    s.value = rng() % values;
    s.value2 = rng() % values;
  }
  return p;
}

template <class Cfg>
class Differential : public ::testing::Test {};

using Configs = ::testing::Types<gomap_test::SyncCfg<std::uint64_t, std::uint64_t>,
                                 gomap_test::SyncCfg<std::string, std::string>,
                                 gomap_test::ShardedCfg<std::uint64_t, std::uint64_t, 1>,
                                 gomap_test::ShardedCfg<std::uint64_t, std::uint64_t, 3>,
                                 gomap_test::ShardedCfg<std::string, std::string, 16>>;
TYPED_TEST_SUITE(Differential, Configs);

// Runs one program on a fresh map and a reference; false + message on the
// first difference.
template <class Cfg>
::testing::AssertionResult run_program(const std::vector<Step>& prog, std::uint64_t seed) {
  using K = typename Cfg::Key;
  using V = typename Cfg::Value;
  auto m = Cfg::make();
  gomap_test::ReferenceMap<K, V> ref;
  for (std::size_t i = 0; i < prog.size(); ++i) {
    const Step& s = prog[i];
    const K k = from_code<K>(s.key);
    const V v = from_code<V>(s.value);
    const V v2 = from_code<V>(s.value2);
    auto diff = [&](const std::string& what) {
      return ::testing::AssertionFailure() << "seed " << seed << ", op " << i << " ("
                                           << gomap_harness::conc_op_name(s.kind) << " key " << s.key << " value "
                                           << s.value << " value2 " << s.value2 << "): " << what;
    };
    switch (s.kind) {
      case ConcOpKind::Load: {
        auto a = m->load(k), b = ref.load(k);
        if (a != b) return diff("load " + show(a) + ", reference " + show(b));
        break;
      }
      case ConcOpKind::Store:
        m->store(k, v);
        ref.store(k, v);
        break;
      case ConcOpKind::LoadOrStore: {
        auto a = m->load_or_store(k, v), b = ref.load_or_store(k, v);
        if (a != b) return diff("load_or_store differs");
        break;
      }
      case ConcOpKind::LoadAndDelete: {
        auto a = m->load_and_delete(k), b = ref.load_and_delete(k);
        if (a != b) return diff("load_and_delete " + show(a) + ", reference " + show(b));
        break;
      }
      case ConcOpKind::Erase:
        m->erase(k);
        ref.erase(k);
        break;
      case ConcOpKind::Swap: {
        auto a = m->swap(k, v), b = ref.swap(k, v);
        if (a != b) return diff("swap " + show(a) + ", reference " + show(b));
        break;
      }
      case ConcOpKind::CompareAndSwap: {
        const bool a = m->compare_and_swap(k, v, v2), b = ref.compare_and_swap(k, v, v2);
        if (a != b) return diff(std::string("compare_and_swap ") + (a ? "true" : "false"));
        break;
      }
      case ConcOpKind::CompareAndDelete: {
        const bool a = m->compare_and_delete(k, v), b = ref.compare_and_delete(k, v);
        if (a != b) return diff(std::string("compare_and_delete ") + (a ? "true" : "false"));
        break;
      }
      case ConcOpKind::Clear:
        m->clear();
        ref.clear();
        break;
      case ConcOpKind::Len: {
        std::size_t a = 0;
        if constexpr (requires { m->size(); }) a = m->size();
        else a = contents<typename Cfg::Map, K, V>(*m).size();
        if (a != ref.size()) return diff("len " + std::to_string(a) + ", reference " + std::to_string(ref.size()));
        break;
      }
      case ConcOpKind::RangeErase: {
        // The callback erases the keys whose std::hash is even: the same set in
        // both maps, whatever the iteration order.
        auto erase_even = [&](auto& map) {
          return [&map](const K& key, const V&) {
            const K copy = key;
            if (std::hash<K>{}(copy) % 2 == 0) map.erase(copy);
            return true;
          };
        };
        m->range(erase_even(*m));
        ref.range(erase_even(ref));
        [[fallthrough]];
      }
      case ConcOpKind::Range:
      default: {
        auto a = contents<typename Cfg::Map, K, V>(*m);
        auto b = contents<gomap_test::ReferenceMap<K, V>, K, V>(ref);
        if (a != b) return diff("range yields " + std::to_string(a.size()) + " entries, reference " + std::to_string(b.size()));
        break;
      }
    }
  }
  auto a = contents<typename Cfg::Map, K, V>(*m);
  auto b = contents<gomap_test::ReferenceMap<K, V>, K, V>(ref);
  if (a != b) return ::testing::AssertionFailure() << "seed " << seed << ": final contents differ";
  return ::testing::AssertionSuccess();
}

TYPED_TEST(Differential, RandomProgramsMatchReference) {
  for (std::uint64_t seed = 1; seed <= 300; ++seed) {
    std::mt19937_64 rng(seed);
    const std::uint64_t keys = 1 + rng() % 40;
    const std::uint64_t values = 1 + rng() % 6;
    const auto prog = random_program(rng, 50 + rng() % 400, keys, values);
    ASSERT_TRUE(run_program<TypeParam>(prog, seed));
  }
}

// The promotion cycle on purpose: keys go into dirty, misses promote them,
// deletes leave nil entries that the next dirty copy expunges, and expunged
// keys are stored again (through the locked path that un-expunges them).
TYPED_TEST(Differential, ExpungeAndRestoreCycle) {
  std::vector<Step> prog;
  for (std::uint64_t round = 0; round < 20; ++round) {
    for (std::uint64_t k = 0; k < 8; ++k) prog.push_back({ConcOpKind::Store, k, round, 0});
    for (std::uint64_t k = 0; k < 16; ++k) prog.push_back({ConcOpKind::Load, 100 + k, 0, 0});  // misses: promote
    for (std::uint64_t k = 0; k < 8; k += 2) prog.push_back({ConcOpKind::Erase, k, 0, 0});   // nil in read
    prog.push_back({ConcOpKind::Store, 50 + round, 1, 0});                                   // new key: expunge
    for (std::uint64_t k = 0; k < 8; ++k) prog.push_back({ConcOpKind::Swap, k, round + 1, 0});  // re-store expunged
    for (std::uint64_t k = 0; k < 32; ++k) prog.push_back({ConcOpKind::Load, 200 + k, 0, 0});  // promote again
    for (std::uint64_t k = 0; k < 8; ++k) prog.push_back({ConcOpKind::Load, k, 0, 0});
    prog.push_back({ConcOpKind::Range, 0, 0, 0});
  }
  EXPECT_TRUE(run_program<TypeParam>(prog, 0));
}

}  // namespace
