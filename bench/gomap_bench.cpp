// gomap_bench: gomap::Map against std::unordered_map, absl::flat_hash_map and
// boost::unordered_flat_map on the workloads of issue 7 (see README.md).
//
// Every benchmark is named "<workload>/<map>" and times only the workload
// itself (manual timing; building the input data, filling the map before a
// read or erase workload, and destroying it are outside the timed region).
// Each reports the counter ns_per_op: nanoseconds per operation (per key
// inserted, looked up or erased, per entry iterated, per churn round),
// averaged over the iterations of one repetition. bytes_per_entry/<map>
// reports the counter bytes_per_entry instead.
//
// Defaults injected unless given on the command line:
//   --benchmark_repetitions=5 --benchmark_display_aggregates_only=true
// so the JSON (--benchmark_out=FILE --benchmark_out_format=json) holds every
// repetition plus the mean, median, stddev, cv and min aggregates.
#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>
#include <benchmark/benchmark.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <gomap/map.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using u64 = std::uint64_t;

// ---- workload sizes (issue 7)
constexpr std::size_t kN = 1'000'000;                // u64 insert / lookup / iterate / erase / bytes
constexpr u64 kMissOffset = u64(1) << 40;            // miss keys: splitmix64(i + 2^40)
constexpr std::size_t kChurnSteady = 100'000;        // churn: steady map size
constexpr std::size_t kChurnRounds = 2'000'000;      // churn: erase-one + insert-one rounds
constexpr std::size_t kClearRounds = 50;             // clear loop: rounds of ...
constexpr std::size_t kClearBatch = 100'000;         // ... insert this many, then clear()
constexpr std::size_t kStrN = 1'000'000;             // string-key insert / lookup
constexpr std::size_t kStrLen = 24;                  // string key length (heap-allocated: > SSO)
constexpr benchmark::IterationCount kReadPasses = 5;  // timed passes per repetition, read workloads

// ---- the maps, each with its default hash
using GoU64 = gomap::Map<u64, u64>;
using StdU64 = std::unordered_map<u64, u64, std::hash<u64>>;
using AbslU64 = absl::flat_hash_map<u64, u64>;
using BoostU64 = boost::unordered_flat_map<u64, u64>;

using GoStr = gomap::Map<std::string, u64>;
using StdStr = std::unordered_map<std::string, u64, std::hash<std::string>>;
using AbslStr = absl::flat_hash_map<std::string, u64>;
using BoostStr = boost::unordered_flat_map<std::string, u64>;

template <class M>
struct IsGomap : std::false_type {};
template <class K, class V, class H, class E>
struct IsGomap<gomap::Map<K, V, H, E>> : std::true_type {};

// ---- counting allocator for bytes_per_entry (std / absl / boost; gomap has
// no allocator parameter and reports stats().bytes). Counts bytes requested,
// not malloc's per-chunk overhead.
std::size_t g_live_bytes = 0;

template <class T>
struct CountingAlloc {
  using value_type = T;
  CountingAlloc() noexcept = default;
  template <class U>
  CountingAlloc(const CountingAlloc<U>&) noexcept {}
  T* allocate(std::size_t n) {
    g_live_bytes += n * sizeof(T);
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    g_live_bytes -= n * sizeof(T);
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  friend bool operator==(const CountingAlloc&, const CountingAlloc<U>&) noexcept { return true; }
};

using Pair = std::pair<const u64, u64>;
using StdU64Counted = std::unordered_map<u64, u64, std::hash<u64>, std::equal_to<u64>, CountingAlloc<Pair>>;
using AbslU64Counted = absl::flat_hash_map<u64, u64, absl::Hash<u64>, std::equal_to<u64>, CountingAlloc<Pair>>;
using BoostU64Counted = boost::unordered_flat_map<u64, u64, boost::hash<u64>, std::equal_to<u64>, CountingAlloc<Pair>>;

// ---- input data, built once
u64 splitmix64(u64 x) noexcept {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

template <class T>
void shuffle(std::vector<T>& v, u64 seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = v.size(); i > 1; --i) {
    std::swap(v[i - 1], v[std::uniform_int_distribution<std::size_t>(0, i - 1)(rng)]);
  }
}

std::string string_key(u64 i) {
  char buf[kStrLen + 1];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(splitmix64(i)),
                static_cast<unsigned long long>(splitmix64(i + (u64(1) << 41)) & 0xffffffffull));
  return std::string(buf, kStrLen);
}

struct Data {
  std::vector<u64> keys;      // splitmix64(i), i < kN, in insertion order
  std::vector<u64> shuffled;  // the same keys, shuffled (lookup hit, erase)
  std::vector<u64> misses;    // splitmix64(i + 2^40), i < kN: never present
  std::vector<u64> churn;     // splitmix64(i), i < kChurnSteady + kChurnRounds
  std::vector<std::string> strs;           // kStrN 24-byte keys, insertion order
  std::vector<std::string> strs_shuffled;  // the same, shuffled, allocated in that order

  Data() {
    keys.resize(kN);
    misses.resize(kN);
    for (std::size_t i = 0; i < kN; ++i) {
      keys[i] = splitmix64(i);
      misses[i] = splitmix64(i + kMissOffset);
    }
    shuffled = keys;
    shuffle(shuffled, 1);
    churn.resize(kChurnSteady + kChurnRounds);
    for (std::size_t i = 0; i < churn.size(); ++i) churn[i] = splitmix64(i);
    strs.reserve(kStrN);
    for (std::size_t i = 0; i < kStrN; ++i) strs.push_back(string_key(i));
    std::vector<std::uint32_t> perm(kStrN);
    for (std::size_t i = 0; i < kStrN; ++i) perm[i] = static_cast<std::uint32_t>(i);
    shuffle(perm, 2);
    strs_shuffled.reserve(kStrN);
    for (std::uint32_t p : perm) strs_shuffled.push_back(strs[p]);
  }
};

const Data& data() {
  static const Data d;
  return d;
}

// ---- uniform access
template <class M, class K>
const u64* lookup(const M& m, const K& k) {
  if constexpr (IsGomap<M>::value) {
    return m.find(k);
  } else {
    const auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
  }
}

template <class M, class Keys>
void fill(M& m, const Keys& keys, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) m.insert_or_assign(keys[i], u64(i));
}

constexpr u64 sum_below(u64 n) { return n * (n - 1) / 2; }

// Manual timing: only what runs inside time() is measured.
class Timer {
 public:
  explicit Timer(benchmark::State& st) : st_(st) {}
  template <class F>
  void time(double ops, F&& f) {
    benchmark::ClobberMemory();
    const auto t0 = std::chrono::steady_clock::now();
    f();
    benchmark::ClobberMemory();
    const auto t1 = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    st_.SetIterationTime(ns * 1e-9);
    ns_ += ns;
    ops_ += ops;
  }
  // Sets ns_per_op (the figure ci/bench.sh compares) and items_per_second.
  void report() {
    if (ops_ <= 0) return;
    st_.counters["ns_per_op"] = benchmark::Counter(ns_ / ops_);
    st_.SetItemsProcessed(static_cast<std::int64_t>(ops_));
  }

 private:
  benchmark::State& st_;
  double ns_ = 0;
  double ops_ = 0;
};

bool expect(benchmark::State& st, bool ok, const char* what) {
  if (!ok) st.SkipWithError(what);
  return ok;
}

// ---- u64 workloads
template <class M>
void insert_u64(benchmark::State& st) {
  const Data& d = data();
  Timer t(st);
  for (auto _ : st) {
    auto m = std::make_unique<M>();  // no reserve
    t.time(kN, [&] { fill(*m, d.keys, kN); });
    if (!expect(st, m->size() == kN, "insert: wrong size")) break;
  }
  t.report();
}

template <class M>
void lookup_hit_u64(benchmark::State& st) {
  const Data& d = data();
  M m;
  fill(m, d.keys, kN);
  Timer t(st);
  for (auto _ : st) {
    u64 sum = 0, found = 0;
    t.time(kN, [&] {
      for (const u64 k : d.shuffled) {
        if (const u64* v = lookup(m, k)) {
          sum += *v;
          ++found;
        }
      }
    });
    benchmark::DoNotOptimize(sum);
    if (!expect(st, found == kN && sum == sum_below(kN), "lookup hit: wrong result")) break;
  }
  t.report();
}

template <class M>
void lookup_miss_u64(benchmark::State& st) {
  const Data& d = data();
  M m;
  fill(m, d.keys, kN);
  Timer t(st);
  for (auto _ : st) {
    u64 found = 0;
    t.time(kN, [&] {
      for (const u64 k : d.misses) found += lookup(m, k) != nullptr;
    });
    benchmark::DoNotOptimize(found);
    if (!expect(st, found == 0, "lookup miss: found a key never inserted")) break;
  }
  t.report();
}

template <class M>
void iterate_u64(benchmark::State& st) {
  const Data& d = data();
  M m;
  fill(m, d.keys, kN);
  Timer t(st);
  for (auto _ : st) {
    u64 sum = 0, n = 0;
    t.time(kN, [&] {
      for (auto&& [k, v] : m) {
        sum += v;
        ++n;
      }
    });
    benchmark::DoNotOptimize(sum);
    if (!expect(st, n == kN && sum == sum_below(kN), "iterate: wrong result")) break;
  }
  t.report();
}

template <class M>
void erase_u64(benchmark::State& st) {
  const Data& d = data();
  Timer t(st);
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    fill(*m, d.keys, kN);
    u64 erased = 0;
    t.time(kN, [&] {
      for (const u64 k : d.shuffled) erased += static_cast<u64>(m->erase(k));
    });
    if (!expect(st, erased == kN && m->size() == 0, "erase: wrong result")) break;
  }
  t.report();
}

// 100k-entry map; each round erases the oldest key and inserts a new one.
template <class M>
void churn_u64(benchmark::State& st) {
  const Data& d = data();
  Timer t(st);
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    fill(*m, d.churn, kChurnSteady);
    std::vector<u64> ring(d.churn.begin(), d.churn.begin() + kChurnSteady);
    u64 erased = 0;
    t.time(kChurnRounds, [&] {
      std::size_t pos = 0;
      for (std::size_t r = 0; r < kChurnRounds; ++r) {
        erased += static_cast<u64>(m->erase(ring[pos]));
        const u64 k = d.churn[kChurnSteady + r];
        m->insert_or_assign(k, u64(r));
        ring[pos] = k;
        pos = pos + 1 == kChurnSteady ? 0 : pos + 1;
      }
    });
    if (!expect(st, erased == kChurnRounds && m->size() == kChurnSteady, "churn: wrong result")) break;
  }
  t.report();
}

// 50 x (insert 100k, clear()) on one map; ns per inserted entry.
template <class M>
void clear_loop_u64(benchmark::State& st) {
  const Data& d = data();
  Timer t(st);
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    u64 total = 0;
    t.time(kClearRounds * kClearBatch, [&] {
      for (std::size_t r = 0; r < kClearRounds; ++r) {
        const std::size_t base = (r % (kN / kClearBatch)) * kClearBatch;
        for (std::size_t i = 0; i < kClearBatch; ++i) m->insert_or_assign(d.keys[base + i], u64(i));
        total += m->size();
        m->clear();
      }
    });
    if (!expect(st, total == kClearRounds * kClearBatch && m->size() == 0, "clear loop: wrong result")) break;
  }
  t.report();
}

// ---- 24-byte string keys
template <class M>
void insert_str(benchmark::State& st) {
  const Data& d = data();
  Timer t(st);
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    t.time(kStrN, [&] { fill(*m, d.strs, kStrN); });
    if (!expect(st, m->size() == kStrN, "string insert: wrong size")) break;
  }
  t.report();
}

template <class M>
void lookup_str(benchmark::State& st) {
  const Data& d = data();
  M m;
  fill(m, d.strs, kStrN);
  Timer t(st);
  for (auto _ : st) {
    u64 found = 0;
    t.time(kStrN, [&] {
      for (const std::string& k : d.strs_shuffled) found += lookup(m, k) != nullptr;
    });
    benchmark::DoNotOptimize(found);
    if (!expect(st, found == kStrN, "string lookup: wrong result")) break;
  }
  t.report();
}

// ---- memory: bytes per entry at 1M u64 entries (map object included)
template <class M>
void bytes_per_entry(benchmark::State& st) {
  const Data& d = data();
  Timer t(st);
  for (auto _ : st) {
    const std::size_t before = g_live_bytes;
    auto m = std::make_unique<M>();
    t.time(kN, [&] { fill(*m, d.keys, kN); });
    if (!expect(st, m->size() == kN, "bytes: wrong size")) break;
    std::size_t bytes;
    if constexpr (IsGomap<M>::value) {
      const gomap::Stats s = m->stats();
      bytes = s.bytes;
      st.counters["B"] = s.B;
      st.counters["overflow_buckets"] = static_cast<double>(s.overflow_buckets);
    } else {
      bytes = g_live_bytes - before + sizeof(M);
    }
    st.counters["bytes_per_entry"] = static_cast<double>(bytes) / static_cast<double>(kN);
  }
}

// ---- registration: workload-major, so the four maps of a workload run
// back to back and see the same machine load.
using Fn = void (*)(benchmark::State&);

double stat_min(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

void add(const std::string& workload, const char* map, Fn fn, benchmark::IterationCount iters) {
  const std::string name = workload + "/" + map;
  benchmark::RegisterBenchmark(name.c_str(), fn)
      ->Iterations(iters)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->ComputeStatistics("min", stat_min);
}

void add4(const char* workload, Fn go, Fn std_, Fn absl_, Fn boost_, benchmark::IterationCount iters) {
  add(workload, "gomap", go, iters);
  add(workload, "std", std_, iters);
  add(workload, "absl", absl_, iters);
  add(workload, "boost", boost_, iters);
}

#define GOMAP_BENCH_U64(W, ITERS) add4(#W, W<GoU64>, W<StdU64>, W<AbslU64>, W<BoostU64>, ITERS)
#define GOMAP_BENCH_STR(W, ITERS) add4(#W, W<GoStr>, W<StdStr>, W<AbslStr>, W<BoostStr>, ITERS)

void register_all() {
  GOMAP_BENCH_U64(insert_u64, 1);
  GOMAP_BENCH_U64(lookup_hit_u64, kReadPasses);
  GOMAP_BENCH_U64(lookup_miss_u64, kReadPasses);
  GOMAP_BENCH_U64(iterate_u64, kReadPasses);
  GOMAP_BENCH_U64(erase_u64, 1);
  GOMAP_BENCH_U64(churn_u64, 1);
  GOMAP_BENCH_U64(clear_loop_u64, 1);
  GOMAP_BENCH_STR(insert_str, 1);
  GOMAP_BENCH_STR(lookup_str, kReadPasses);
  // Deterministic: one repetition is enough.
  for (auto [map, fn] : {std::pair<const char*, Fn>{"gomap", bytes_per_entry<GoU64>},
                         {"std", bytes_per_entry<StdU64Counted>},
                         {"absl", bytes_per_entry<AbslU64Counted>},
                         {"boost", bytes_per_entry<BoostU64Counted>}}) {
    const std::string name = std::string("bytes_per_entry/") + map;
    benchmark::RegisterBenchmark(name.c_str(), fn)->Iterations(1)->Repetitions(1)->UseManualTime()->Unit(
        benchmark::kMillisecond);
  }
}

bool has_flag(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).substr(0, flag.size()) == flag) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Defaults the command line may override.
  std::vector<char*> args(argv, argv + argc);
  static char reps[] = "--benchmark_repetitions=5";
  static char aggr[] = "--benchmark_display_aggregates_only=true";
  if (!has_flag(argc, argv, "--benchmark_repetitions")) args.insert(args.begin() + 1, reps);
  if (!has_flag(argc, argv, "--benchmark_display_aggregates_only") && !has_flag(argc, argv, "--benchmark_report_aggregates_only")) {
    args.insert(args.begin() + 1, aggr);
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);

  register_all();
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  benchmark::AddCustomContext("gomap_workloads",
                              "u64 keys=1M splitmix64(i); churn 100k x 2M rounds; clear 50 x 100k; strings 1M x 24B");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
