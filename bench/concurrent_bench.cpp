// gomap_concurrent_bench: SyncMap and ShardedMap with the default sync policy
// (gomap::StdSync), single- and multi-threaded. Its purpose is to show that
// the policy costs nothing: run it on a commit before the policy existed and
// on one after, and compare (bench/README.md).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <gomap/sharded_map.hpp>
#include <gomap/sync_map.hpp>

namespace {

using u64 = std::uint64_t;
constexpr u64 kKeys = 4096;

u64 mix(u64 x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  return x ^ (x >> 27);
}

template <class M>
M& shared_map() {
  static M* m = [] {
    auto* p = new M();
    for (u64 k = 0; k < kKeys; ++k) p->store(k, k);
    return p;
  }();
  return *m;
}

// 90% loads of present keys, 10% stores to present keys: the read-mostly mix
// sync.Map is built for.
template <class M>
void read_mostly(benchmark::State& st) {
  M& m = shared_map<M>();
  u64 x = static_cast<u64>(st.thread_index()) * 7919 + 1, sum = 0;
  for (auto _ : st) {
    x = mix(x);
    const u64 k = x % kKeys;
    if ((x >> 60) < 2) m.store(k, x);
    else sum += m.load(k).value_or(0);
  }
  benchmark::DoNotOptimize(sum);
  st.SetItemsProcessed(st.iterations());
}

// Every op a store of a new or deleted key: the slow, locked path.
template <class M>
void store_delete(benchmark::State& st) {
  M& m = shared_map<M>();
  u64 x = static_cast<u64>(st.thread_index()) * 104729 + 3;
  for (auto _ : st) {
    x = mix(x);
    const u64 k = kKeys + x % 1024;
    if (x & 1) m.store(k, x);
    else m.erase(k);
  }
  st.SetItemsProcessed(st.iterations());
}

template <class M>
void range_all(benchmark::State& st) {
  M& m = shared_map<M>();
  for (auto _ : st) {
    u64 n = 0;
    m.range([&](const u64&, const u64& v) {
      n += v;
      return true;
    });
    benchmark::DoNotOptimize(n);
  }
  st.SetItemsProcessed(st.iterations() * kKeys);
}

using Sync = gomap::SyncMap<u64, u64>;
using Sharded = gomap::ShardedMap<u64, u64>;

BENCHMARK(read_mostly<Sync>)->Name("sync_map/read_mostly")->Threads(1)->Threads(2);
BENCHMARK(read_mostly<Sharded>)->Name("sharded_map/read_mostly")->Threads(1)->Threads(2);
BENCHMARK(store_delete<Sync>)->Name("sync_map/store_delete")->Threads(1)->Threads(2);
BENCHMARK(store_delete<Sharded>)->Name("sharded_map/store_delete")->Threads(1)->Threads(2);
BENCHMARK(range_all<Sync>)->Name("sync_map/range");
BENCHMARK(range_all<Sharded>)->Name("sharded_map/range");

}  // namespace

BENCHMARK_MAIN();
