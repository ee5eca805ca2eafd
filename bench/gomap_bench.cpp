// gomap_bench: gomap::Map against std::unordered_map, absl::flat_hash_map and
// boost::unordered_flat_map on the workloads of README.md, at every size of
// the scale curve, with the data scheme bench/go/ shares.
//
// Every benchmark is named "<workload>/<map>/<n>" and times only the workload
// itself (manual timing; building the input data, filling the map before a
// read or erase workload, and destroying it are outside the timed region).
// Each reports the counter ns_per_op: nanoseconds per operation (per key
// inserted, looked up or erased, per entry iterated, per churn round),
// averaged over the iterations of one repetition. bytes_per_entry/<map>/<n>
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
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

using u64 = std::uint64_t;

// ---- workload sizes: the scale curve, cache-resident to DRAM-bound. The
// data scheme (keys, miss keys, shuffles, checksums) is the one bench/go/
// implements too, so both sides print the same checksums at every size.
constexpr std::size_t kSizes[] = {1'000, 10'000, 100'000, 1'000'000, 8'000'000};
constexpr std::size_t kStrN = 1'000'000;             // string-key insert / lookup
constexpr std::size_t kStrLen = 24;                  // string key length (heap-allocated: > SSO)
constexpr u64 kMissOffset = u64(1) << 40;            // miss keys: splitmix64(i + 2^40)
constexpr std::size_t kChurnMinRounds = 2'000'000;   // churn: max(n, this) rounds
constexpr std::size_t kClearEntries = 5'000'000;     // clear loop: max(2, this / n) rounds
constexpr std::size_t kLargeSize = 1'000'000;        // above it: fewer repetitions and passes
constexpr benchmark::IterationCount kReadPasses = 5;       // timed passes per repetition, read workloads
constexpr benchmark::IterationCount kLargeReadPasses = 2;  // ... above kLargeSize
constexpr int kLargeRepetitions = 2;                       // repetitions above kLargeSize

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

// Fisher-Yates from the top, each draw the high half of a SplitMix64 output
// times the bound (multiply-shift): reproducible in Go (bench/go/README.md),
// unlike std::uniform_int_distribution, whose algorithm is the library's.
template <class T>
void shuffle(std::vector<T>& v, u64 seed) {
  for (std::size_t i = v.size(); i-- > 1;) {
    const u64 r = splitmix64(seed);
    seed += 0x9e3779b97f4a7c15ull;
    const auto j = static_cast<std::size_t>((static_cast<unsigned __int128>(r) * (i + 1)) >> 64);
    std::swap(v[i], v[j]);
  }
}

std::string string_key(u64 i) {
  char buf[kStrLen + 1];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(splitmix64(i)),
                static_cast<unsigned long long>(splitmix64(i + (u64(1) << 41)) & 0xffffffffull));
  return std::string(buf, kStrLen);
}

// The u64 data of one size, built once per size and shared by its workloads.
struct Data {
  std::vector<u64> keys;      // splitmix64(i), i < n, in insertion order
  std::vector<u64> shuffled;  // the same keys, shuffle(keys, 1) (lookup hit, erase)
  std::vector<u64> misses;    // splitmix64(i + 2^40), i < n: never present

  explicit Data(std::size_t n) : keys(n), misses(n) {
    for (std::size_t i = 0; i < n; ++i) {
      keys[i] = splitmix64(i);
      misses[i] = splitmix64(i + kMissOffset);
    }
    shuffled = keys;
    shuffle(shuffled, 1);
  }
};

const Data& data(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Data>> by_size;
  auto& d = by_size[n];
  if (!d) d = std::make_unique<Data>(n);
  return *d;
}

// kStrN 24-byte keys in insertion order, and the same shuffled by
// shuffle(0..n-1, 2), each a fresh copy allocated in that order.
struct StrData {
  std::vector<std::string> strs;
  std::vector<std::string> strs_shuffled;
  StrData() {
    strs.reserve(kStrN);
    for (std::size_t i = 0; i < kStrN; ++i) strs.push_back(string_key(i));
    std::vector<std::uint32_t> perm(kStrN);
    for (std::size_t i = 0; i < kStrN; ++i) perm[i] = static_cast<std::uint32_t>(i);
    shuffle(perm, 2);
    strs_shuffled.reserve(kStrN);
    for (std::uint32_t p : perm) strs_shuffled.push_back(strs[p]);
  }
};

const StrData& str_data() {
  static const StrData d;
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

// The workload's checksum (a wrapping u64 sum, as bench/go prints it), in the
// benchmark's label: a counter is a double and would round it.
void report_checksum(benchmark::State& st, u64 checksum) { st.SetLabel("checksum=" + std::to_string(checksum)); }

std::size_t size_of(const benchmark::State& st) { return static_cast<std::size_t>(st.range(0)); }

// ---- u64 workloads at size n = st.range(0)
template <class M>
void insert_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    auto m = std::make_unique<M>();  // no reserve
    t.time(double(n), [&] { fill(*m, d.keys, n); });
    checksum = m->size();
    if (!expect(st, m->size() == n, "insert: wrong size")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

template <class M>
void lookup_hit_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  M m;
  fill(m, d.keys, n);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    u64 sum = 0, found = 0;
    t.time(double(n), [&] {
      for (const u64 k : d.shuffled) {
        if (const u64* v = lookup(m, k)) {
          sum += *v;
          ++found;
        }
      }
    });
    benchmark::DoNotOptimize(sum);
    checksum = sum;
    if (!expect(st, found == n && sum == sum_below(n), "lookup hit: wrong result")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

template <class M>
void lookup_miss_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  M m;
  fill(m, d.keys, n);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    u64 found = 0;
    t.time(double(n), [&] {
      for (const u64 k : d.misses) found += lookup(m, k) != nullptr;
    });
    benchmark::DoNotOptimize(found);
    checksum = found;
    if (!expect(st, found == 0, "lookup miss: found a key never inserted")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

template <class M>
void iterate_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  M m;
  fill(m, d.keys, n);
  u64 want = 0;
  for (std::size_t i = 0; i < n; ++i) want += d.keys[i] ^ u64(i);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    u64 sum = 0, seen = 0;
    t.time(double(n), [&] {
      for (auto&& [k, v] : m) {
        sum += k ^ v;
        ++seen;
      }
    });
    benchmark::DoNotOptimize(sum);
    checksum = sum;
    if (!expect(st, seen == n && sum == want, "iterate: wrong result")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

template <class M>
void erase_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    fill(*m, d.keys, n);
    u64 erased = 0;
    t.time(double(n), [&] {
      for (const u64 k : d.shuffled) erased += static_cast<u64>(m->erase(k));
    });
    checksum = erased;
    if (!expect(st, erased == n && m->size() == 0, "erase: wrong result")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

// An n-entry map; round r erases the oldest key, splitmix64(r), and inserts
// splitmix64(n + r) -> r, for max(n, 2M) rounds.
template <class M>
void churn_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  const std::size_t rounds = std::max(n, kChurnMinRounds);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    fill(*m, d.keys, n);
    u64 erased = 0;
    t.time(double(rounds), [&] {
      for (std::size_t r = 0; r < rounds; ++r) {
        erased += static_cast<u64>(m->erase(splitmix64(r)));
        m->insert_or_assign(splitmix64(n + r), u64(r));
      }
    });
    checksum = 0;
    for (auto&& [k, v] : *m) checksum += k ^ v;
    if (!expect(st, erased == rounds && m->size() == n, "churn: wrong result")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

// One map; max(2, 5M / n) rounds of inserting the n keys (even rounds) or the
// n miss keys (odd rounds), then clear(); ns per inserted entry.
template <class M>
void clear_loop_u64(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  const std::size_t rounds = std::max<std::size_t>(2, kClearEntries / n);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    u64 total = 0;
    t.time(double(rounds * n), [&] {
      for (std::size_t r = 0; r < rounds; ++r) {
        const std::vector<u64>& keys = r % 2 == 0 ? d.keys : d.misses;
        for (std::size_t i = 0; i < n; ++i) m->insert_or_assign(keys[i], u64(i));
        total += m->size();
        m->clear();
      }
    });
    checksum = total;
    if (!expect(st, total == rounds * n && m->size() == 0, "clear loop: wrong result")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

// ---- 24-byte string keys (kStrN of them)
template <class M>
void insert_str(benchmark::State& st) {
  const StrData& d = str_data();
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    auto m = std::make_unique<M>();
    t.time(double(kStrN), [&] { fill(*m, d.strs, kStrN); });
    checksum = m->size();
    if (!expect(st, m->size() == kStrN, "string insert: wrong size")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

template <class M>
void lookup_str(benchmark::State& st) {
  const StrData& d = str_data();
  M m;
  fill(m, d.strs, kStrN);
  Timer t(st);
  u64 checksum = 0;
  for (auto _ : st) {
    u64 sum = 0, found = 0;
    t.time(double(kStrN), [&] {
      for (const std::string& k : d.strs_shuffled) {
        if (const u64* v = lookup(m, k)) {
          sum += *v;
          ++found;
        }
      }
    });
    benchmark::DoNotOptimize(sum);
    checksum = sum;
    if (!expect(st, found == kStrN && sum == sum_below(kStrN), "string lookup: wrong result")) break;
  }
  t.report();
  report_checksum(st, checksum);
}

// ---- memory: bytes per entry after filling n u64 entries (map object included)
template <class M>
void bytes_per_entry(benchmark::State& st) {
  const std::size_t n = size_of(st);
  const Data& d = data(n);
  Timer t(st);
  for (auto _ : st) {
    const std::size_t before = g_live_bytes;
    auto m = std::make_unique<M>();
    t.time(double(n), [&] { fill(*m, d.keys, n); });
    if (!expect(st, m->size() == n, "bytes: wrong size")) break;
    std::size_t bytes;
    if constexpr (IsGomap<M>::value) {
      const gomap::Stats s = m->stats();
      bytes = s.bytes;
      st.counters["B"] = s.B;
      st.counters["overflow_buckets"] = static_cast<double>(s.overflow_buckets);
    } else {
      bytes = g_live_bytes - before + sizeof(M);
    }
    st.counters["bytes_per_entry"] = static_cast<double>(bytes) / static_cast<double>(n);
    report_checksum(st, m->size());
  }
}

// ---- registration: "<workload>/<map>/<n>", workload-major and size-major,
// so the four maps of one workload and size run back to back and see the same
// machine load.
using Fn = void (*)(benchmark::State&);

double stat_min(const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); }

enum class Kind { Write, Read };

void add(const std::string& workload, const char* map, Fn fn, Kind kind, std::size_t n) {
  const bool large = n > kLargeSize;
  const benchmark::IterationCount iters = kind == Kind::Write ? 1 : large ? kLargeReadPasses : kReadPasses;
  auto* b = benchmark::RegisterBenchmark((workload + "/" + map).c_str(), fn)
                ->Arg(static_cast<std::int64_t>(n))
                ->Iterations(iters)
                ->UseManualTime()
                ->Unit(benchmark::kMillisecond)
                ->ComputeStatistics("min", stat_min);
  if (large) b->Repetitions(kLargeRepetitions);
}

// One workload's instantiation for each of the four maps.
struct FourMaps {
  Fn gomap, std, absl, boost;
};
#define GOMAP_FOUR_MAPS(W, K) FourMaps{W<Go##K>, W<Std##K>, W<Absl##K>, W<Boost##K>}

void add_four(const char* workload, Kind kind, const FourMaps& f, std::size_t n) {
  add(workload, "gomap", f.gomap, kind, n);
  add(workload, "std", f.std, kind, n);
  add(workload, "absl", f.absl, kind, n);
  add(workload, "boost", f.boost, kind, n);
}

void add_u64(const char* workload, Kind kind, const FourMaps& f) {
  for (const std::size_t n : kSizes) add_four(workload, kind, f, n);
}

void register_all() {
  add_u64("insert_u64", Kind::Write, GOMAP_FOUR_MAPS(insert_u64, U64));
  add_u64("lookup_hit_u64", Kind::Read, GOMAP_FOUR_MAPS(lookup_hit_u64, U64));
  add_u64("lookup_miss_u64", Kind::Read, GOMAP_FOUR_MAPS(lookup_miss_u64, U64));
  add_u64("iterate_u64", Kind::Read, GOMAP_FOUR_MAPS(iterate_u64, U64));
  add_u64("erase_u64", Kind::Write, GOMAP_FOUR_MAPS(erase_u64, U64));
  add_u64("churn_u64", Kind::Write, GOMAP_FOUR_MAPS(churn_u64, U64));
  add_u64("clear_loop_u64", Kind::Write, GOMAP_FOUR_MAPS(clear_loop_u64, U64));
  add_four("insert_str", Kind::Write, GOMAP_FOUR_MAPS(insert_str, Str), kStrN);
  add_four("lookup_str", Kind::Read, GOMAP_FOUR_MAPS(lookup_str, Str), kStrN);
  // Deterministic: one repetition is enough.
  for (const std::size_t n : kSizes) {
    for (auto [map, fn] : {std::pair<const char*, Fn>{"gomap", bytes_per_entry<GoU64>},
                           {"std", bytes_per_entry<StdU64Counted>},
                           {"absl", bytes_per_entry<AbslU64Counted>},
                           {"boost", bytes_per_entry<BoostU64Counted>}}) {
      benchmark::RegisterBenchmark((std::string("bytes_per_entry/") + map).c_str(), fn)
          ->Arg(static_cast<std::int64_t>(n))
          ->Iterations(1)
          ->Repetitions(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
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
                              "u64 keys splitmix64(i) at 1k..8M; shuffles, churn, clear loop and checksums as bench/go/README.md; strings 1M x 24B");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
