// stress_test.cpp — SyncMap and ShardedMap hammered by several threads, for
// ThreadSanitizer (the tsan preset runs this executable; zero reports and no
// suppressions) and for the linearizability checker.
//
// Every test is bounded by wall-clock time (about a second each, also under
// TSan on two cores) and fails on the first problem:
//  * RandomOpsAreLinearizable: rounds of random op streams (every method,
//    ranges whose callback erases or stores, clear, len) on few keys;
//    each round's history must pass lin::check().
//  * RangeEraseUnderConcurrentStores: a ranging thread erases from its
//    callback while others store; no key twice, plausible values.
//  * ClearRacingRange: clear in a loop against ranges and stores.
//  * LoadAndDeleteRacingStore: every stored value is deleted at most once.
//  * ReadersNeverSeeFreedValues: heap-allocated string values replaced while
//    readers copy them (TSan and ASan catch any read of a freed box).
//  * PromotionChurn: new keys and missing-key loads force dirty copies and
//    promotions while the lock-free paths run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gomap_harness/concurrent_ops.hpp"
#include "gomap_harness/concurrent_runner.hpp"
#include "gomap_harness/linearizability.hpp"
#include "map_types.hpp"

namespace {

using gomap_harness::ConcOp;
using gomap_harness::ConcOpKind;
namespace lin = gomap_harness::lin;

using Clock = std::chrono::steady_clock;
constexpr auto kTestTime = std::chrono::milliseconds(1000);

template <class F>
void run_threads(unsigned n, F&& body) {
  std::vector<std::thread> ts;
  std::atomic<bool> go{false};
  for (unsigned t = 0; t < n; ++t)
    ts.emplace_back([&, t] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      body(t);
    });
  go.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
}

template <class Cfg>
class Stress : public ::testing::Test {};
using U64Configs = ::testing::Types<gomap_test::SyncCfg<std::uint64_t, std::uint64_t>,
                                    gomap_test::ShardedCfg<std::uint64_t, std::uint64_t, 1>,
                                    gomap_test::ShardedCfg<std::uint64_t, std::uint64_t, 4>>;
TYPED_TEST_SUITE(Stress, U64Configs);

std::vector<ConcOp> random_stream(std::mt19937_64& rng, std::size_t len) {
  static constexpr ConcOpKind kinds[] = {
      ConcOpKind::Load,          ConcOpKind::Load,           ConcOpKind::Load,
      ConcOpKind::Store,         ConcOpKind::Store,          ConcOpKind::LoadOrStore,
      ConcOpKind::LoadAndDelete, ConcOpKind::Erase,          ConcOpKind::Swap,
      ConcOpKind::CompareAndSwap, ConcOpKind::CompareAndSwap, ConcOpKind::CompareAndDelete,
      ConcOpKind::Range,         ConcOpKind::RangeErase,     ConcOpKind::RangeStore,
      ConcOpKind::RangeStop,     ConcOpKind::Clear,          ConcOpKind::Len,
  };
  std::vector<ConcOp> s(len);
  for (ConcOp& op : s) {
    std::size_t i = rng() % std::size(kinds);
    if (i >= std::size(kinds) - 6 && rng() % 3 != 0) i = rng() % (std::size(kinds) - 6);  // whole-map ops rarer
    op.kind = kinds[i];
    op.key = static_cast<std::uint16_t>(rng() % 64);
  }
  return s;
}

TYPED_TEST(Stress, RandomOpsAreLinearizable) {
  const auto deadline = Clock::now() + kTestTime;
  std::mt19937_64 rng(12345);
  int rounds = 0, unknown = 0;
  std::size_t ops = 0;
  while (Clock::now() < deadline || rounds < 3) {
    ++rounds;
    auto m = TypeParam::make();
    const std::uint64_t nkeys = 1 + rng() % 8;
    const unsigned threads = 2 + static_cast<unsigned>(rng() % 3);
    std::vector<std::vector<ConcOp>> streams;
    for (unsigned t = 0; t < threads; ++t) streams.push_back(random_stream(rng, 60 + rng() % 100));
    const lin::History h = gomap_harness::run_concurrently(*m, streams, nkeys);
    ops += h.ops.size();
    const lin::CheckResult r = lin::check(h);
    ASSERT_NE(r.verdict, lin::Verdict::Violation) << "round " << rounds << "\n" << r.report;
    unknown += r.verdict == lin::Verdict::Unknown;
  }
  std::printf("[ stress   ] %d rounds, %zu recorded operations checked, %d unknown (budget)\n", rounds, ops, unknown);
}

TYPED_TEST(Stress, RangeEraseUnderConcurrentStores) {
  auto m = TypeParam::make();
  constexpr std::uint64_t kKeys = 64;
  const auto deadline = Clock::now() + kTestTime;
  std::atomic<bool> stop{false};
  std::atomic<int> ranges{0};
  run_threads(3, [&](unsigned t) {
    if (t == 0) {
      while (Clock::now() < deadline) {
        std::set<std::uint64_t> seen;
        std::uint64_t i = 0;
        m->range([&](const std::uint64_t& k, const std::uint64_t& v) {
          const std::uint64_t key = k;
          EXPECT_TRUE(seen.insert(key).second) << "key " << key << " yielded twice";
          EXPECT_EQ(v % kKeys, key) << "value " << v << " was never stored under key " << key;
          if (i++ % 2 == 0) m->erase(key);
          return true;
        });
        ranges.fetch_add(1, std::memory_order_relaxed);
      }
      stop = true;
    } else {
      std::mt19937_64 rng(t);
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t k = rng() % kKeys;
        m->store(k, (rng() % 1000) * kKeys + k);  // values remember their key
      }
    }
  });
  EXPECT_GT(ranges.load(), 0);
}

TYPED_TEST(Stress, ClearRacingRange) {
  auto m = TypeParam::make();
  constexpr std::uint64_t kKeys = 48;
  const auto deadline = Clock::now() + kTestTime;
  std::atomic<bool> stop{false};
  run_threads(4, [&](unsigned t) {
    std::mt19937_64 rng(t + 100);
    if (t == 0) {
      while (Clock::now() < deadline) {
        m->clear();
        std::this_thread::yield();
      }
      stop = true;
    } else if (t == 1) {
      while (!stop.load(std::memory_order_relaxed)) {
        std::set<std::uint64_t> seen;
        m->range([&](const std::uint64_t& k, const std::uint64_t& v) {
          EXPECT_TRUE(seen.insert(k).second) << "key " << k << " yielded twice";
          EXPECT_EQ(v % kKeys, k);
          if (rng() % 8 == 0) m->clear();  // clear from inside a range, too
          return true;
        });
      }
    } else {
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t k = rng() % kKeys;
        if (rng() % 4 == 0) (void)m->load_or_store(k, (rng() % 100) * kKeys + k);
        else m->store(k, (rng() % 100) * kKeys + k);
        (void)m->load(rng() % kKeys);
      }
    }
  });
}

// Each value is stored once; load_and_delete must hand each one out at most
// once, and only values that were stored.
TYPED_TEST(Stress, LoadAndDeleteRacingStore) {
  auto m = TypeParam::make();
  constexpr std::uint64_t kKeys = 8;
  const auto deadline = Clock::now() + kTestTime;
  std::atomic<bool> stop{false};
  std::vector<std::vector<std::uint64_t>> stored(2), deleted(2);
  run_threads(4, [&](unsigned t) {
    std::mt19937_64 rng(t + 7);
    if (t < 2) {
      for (std::uint64_t seq = 1; Clock::now() < deadline; ++seq) {
        const std::uint64_t v = (std::uint64_t(t) + 1) << 32 | seq;
        m->store(rng() % kKeys, v);
        stored[t].push_back(v);
      }
      stop = true;
    } else {
      while (!stop.load(std::memory_order_relaxed)) {
        if (auto v = m->load_and_delete(rng() % kKeys)) deleted[t - 2].push_back(*v);
      }
    }
  });
  for (std::uint64_t k = 0; k < kKeys; ++k)
    if (auto v = m->load_and_delete(k)) deleted[0].push_back(*v);
  std::set<std::uint64_t> all_stored;
  for (auto& s : stored) all_stored.insert(s.begin(), s.end());
  std::set<std::uint64_t> seen;
  std::size_t n = 0;
  for (auto& d : deleted)
    for (std::uint64_t v : d) {
      ++n;
      EXPECT_TRUE(all_stored.count(v)) << "deleted a value never stored: " << v;
      EXPECT_TRUE(seen.insert(v).second) << "value " << v << " deleted twice";
    }
  EXPECT_GT(n, 0u);
}

TEST(StressValues, ReadersNeverSeeFreedValues) {
  gomap::SyncMap<std::uint64_t, std::string> s;
  gomap::ShardedMap<std::uint64_t, std::string> sh(2);
  const auto deadline = Clock::now() + kTestTime;
  std::atomic<bool> stop{false};
  auto value = [](std::uint64_t k, std::uint64_t i) { return std::to_string(k) + ":" + std::string(40, char('a' + i % 26)); };
  auto check = [](std::uint64_t k, const std::string& v) {
    const std::string prefix = std::to_string(k) + ":";
    EXPECT_EQ(v.compare(0, prefix.size(), prefix), 0) << v;
    EXPECT_EQ(v.size(), prefix.size() + 40);
  };
  run_threads(4, [&](unsigned t) {
    std::mt19937_64 rng(t);
    if (t == 0) {
      for (std::uint64_t i = 0; Clock::now() < deadline; ++i) {
        const std::uint64_t k = rng() % 4;
        s.store(k, value(k, i));
        sh.store(k, value(k, i));
        if (i % 64 == 0) {
          s.erase(k);
          (void)s.swap(k + 4, value(k + 4, i));
        }
      }
      stop = true;
    } else {
      while (!stop.load(std::memory_order_relaxed)) {
        const std::uint64_t k = rng() % 8;
        if (auto v = s.load(k)) check(k, *v);
        if (auto v = sh.load(k)) check(k, *v);
        if (t == 1) s.range([&](const std::uint64_t& key, const std::string& v) { return check(key, v), true; });
      }
    }
  });
}

// The split reference count on its own: readers take references while
// writers replace the box by exchange and by compare-exchange (also to and
// from a tag). Every box read must still be alive (its guard word intact;
// ASan and TSan also watch the memory), and every box must be freed in the
// end. (An earlier version of AtomicRc freed a box twice here: a reader paid
// its loan before the writer had taken it over.)
std::atomic<long> g_live_boxes{0};
struct Guarded {
  std::uint64_t guard;
  std::uint64_t v;
  explicit Guarded(std::uint64_t x) : guard(0x5a5a5a5a5a5a5a5aull ^ x), v(x) { ++g_live_boxes; }
  Guarded(const Guarded&) = delete;
  ~Guarded() {
    guard = 0;
    --g_live_boxes;
  }
  bool ok() const { return guard == (0x5a5a5a5a5a5a5a5aull ^ v); }
};

TEST(StressAtomicRc, ReadersAndReplacersNeverFreeEarly) {
  using Ref = gomap::detail::RcRef<Guarded>;
  const auto deadline = Clock::now() + kTestTime;
  int rounds = 0;
  while (Clock::now() < deadline || rounds < 3) {
    ++rounds;
    {
      gomap::detail::AtomicRc<Guarded> slot(Ref::make(0));
      std::atomic<bool> stop{false};
      run_threads(4, [&](unsigned t) {
        if (t == 0) {
          for (std::uint64_t i = 1; i < 3000; ++i) {
            if (i % 3 == 0) {
              (void)slot.exchange(Ref::make(i));
            } else {
              const std::uintptr_t cur = slot.peek();
              Ref next = (i % 5 == 0) ? Ref::tag(gomap::detail::kRcNull) : Ref::make(i);
              Ref old;
              if (slot.compare_exchange(cur, next, &old) && old.counted()) {
                EXPECT_TRUE(old->ok());
              }
            }
          }
          stop = true;
        } else {
          while (!stop.load(std::memory_order_relaxed)) {
            Ref r = slot.load();
            if (r.counted()) {
              EXPECT_TRUE(r->ok());
              Ref r2 = r.share();
              EXPECT_TRUE(r2->ok());
            }
          }
        }
      });
    }
    ASSERT_EQ(g_live_boxes.load(), 0) << "round " << rounds;
  }
}

TEST(StressPromotion, PromotionChurn) {
  gomap::SyncMap<std::uint64_t, std::uint64_t> m;
  const auto deadline = Clock::now() + kTestTime;
  std::atomic<bool> stop{false};
  run_threads(4, [&](unsigned t) {
    std::mt19937_64 rng(t + 99);
    if (t == 0) {
      // New keys: each first one after a promotion copies read into dirty.
      for (std::uint64_t i = 0; Clock::now() < deadline; ++i) {
        m.store(1000 + i % 512, i);
        if (i % 3 == 0) m.erase(1000 + (i * 7) % 512);
      }
      stop = true;
    } else if (t == 1) {
      while (!stop.load(std::memory_order_relaxed)) (void)m.load(5000 + rng() % 64);  // misses promote
    } else {
      // Lock-free paths on keys that stay in read.
      for (std::uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::uint64_t k = rng() % 16;
        if (i % 2 == 0) m.store(k, i * 16 + k);
        auto v = m.load(k);
        if (v) {
          EXPECT_EQ(*v % 16, k);
        }
        (void)m.compare_and_swap(k, i * 16 + k, (i + 1) * 16 + k);
      }
    }
  });
}

}  // namespace
