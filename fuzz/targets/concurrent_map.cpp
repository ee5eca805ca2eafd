// concurrent_map: gomap::SyncMap and gomap::ShardedMap driven by real
// threads, each running its own op stream; the recorded history then goes
// through the linearizability checker. Built by the fuzz-tsan preset with
// -fsanitize=fuzzer,thread (run with TSAN_OPTIONS=halt_on_error=1 so that a
// data race becomes a crash file), by the fuzz preset under ASan, and as the
// plain concurrent_map_replay binary everywhere else.
//
// Input layout:
//   byte 0   bits 0-1: threads - 2 (mod 3: 2..4 threads)
//            bits 2-3: map: 0 SyncMap, 1 ShardedMap(1 shard), 2 ShardedMap(4), 3 ShardedMap(16)
//            bits 4-6: key count: 1, 2, 3, 4, 8, 16, 32, 64
//   rest     split into one equal slice per thread; each slice is an ordinary
//            program in the binary form of program.hpp (decode()), whose ops
//            become the thread's stream through to_concurrent()
//            (concurrent_ops.hpp); at most 128 ops per thread.
// The schedule is the OS's, so a replay reruns the same streams but not
// necessarily the same interleaving.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "gomap/sharded_map.hpp"
#include "gomap/sync_map.hpp"
#include "gomap_harness/concurrent_features.hpp"
#include "gomap_harness/concurrent_ops.hpp"
#include "gomap_harness/concurrent_program.hpp"
#include "gomap_harness/concurrent_runner.hpp"
#include "gomap_harness/linearizability.hpp"
#include "gomap_harness/program.hpp"

namespace {

using gomap_harness::ConcOp;

// Key and shard counts are the concurrent programs' (concurrent_program.hpp);
// real threads take longer streams than scheduled ones.
using gomap_harness::kKeyCounts;
using gomap_harness::kShardCounts;  // 0: SyncMap
constexpr std::size_t kMaxOpsPerRealThread = 128;

struct ConcurrentInput {
  unsigned threads = 2;
  std::size_t shards = 0;
  std::uint64_t nkeys = 1;
  std::vector<std::vector<ConcOp>> streams;
};

ConcurrentInput decode_input(const std::uint8_t* data, std::size_t size) {
  ConcurrentInput in;
  const std::uint8_t b0 = size > 0 ? data[0] : 0;
  in.threads = 2 + (b0 & 3) % 3;
  in.shards = kShardCounts[(b0 >> 2) & 3];
  in.nkeys = kKeyCounts[(b0 >> 4) & 7];
  const std::size_t rest = size > 0 ? size - 1 : 0;
  const std::size_t slice = rest / in.threads;
  in.streams.resize(in.threads);
  for (unsigned t = 0; t < in.threads && slice > 0; ++t) {
    const gomap_harness::Program p = gomap_harness::decode(data + 1 + t * slice, slice);
    for (const gomap_harness::Op& op : p.ops) {
      if (in.streams[t].size() == kMaxOpsPerRealThread) break;
      in.streams[t].push_back(gomap_harness::to_concurrent(op));
    }
  }
  return in;
}

std::string describe_input(const ConcurrentInput& in) {
  std::string s = std::to_string(in.threads) + " threads, " +
                  (in.shards == 0 ? std::string("SyncMap") : "ShardedMap(" + std::to_string(in.shards) + ")") + ", " +
                  std::to_string(in.nkeys) + " key(s)\n";
  for (unsigned t = 0; t < in.threads; ++t) {
    s += "  thread " + std::to_string(t) + ":";
    for (const ConcOp& op : in.streams[t]) {
      s += " " + std::string(gomap_harness::conc_op_name(op.kind));
      if (gomap_harness::conc_is_point(op.kind)) s += "(" + std::to_string(op.key % in.nkeys) + ")";
    }
    s += "\n";
  }
  return s;
}

template <class M>
gomap_harness::lin::History run(M& m, const ConcurrentInput& in) {
  return gomap_harness::run_concurrently(m, in.streams, in.nkeys);
}

}  // namespace

#if defined(GOMAP_LIBFUZZER)
__attribute__((section("__libfuzzer_extra_counters"), used)) std::uint8_t gomap_concurrent_counters[gomap_harness::conc_features::kFeatureCount];
#define GOMAP_CONCURRENT_COUNTERS gomap_concurrent_counters
#else
#define GOMAP_CONCURRENT_COUNTERS nullptr
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > gomap_harness::kMaxFuzzInputBytes) return -1;  // too long to run in time; kept out of the corpus
  const ConcurrentInput in = decode_input(data, size);
  gomap_harness::lin::History h;
  if (in.shards == 0) {
    gomap::SyncMap<std::uint64_t, std::uint64_t> m;
    h = run(m, in);
  } else {
    gomap::ShardedMap<std::uint64_t, std::uint64_t> m(in.shards);
    h = run(m, in);
  }
  if (std::uint8_t* counters = GOMAP_CONCURRENT_COUNTERS) gomap_harness::conc_features::record_features(h, counters);
  gomap_harness::lin::CheckOptions opts;
  opts.max_steps = 2'000'000;
  const gomap_harness::lin::CheckResult r = gomap_harness::lin::check(h, opts);
  if (r.verdict == gomap_harness::lin::Verdict::Violation) {
    std::fprintf(stderr,
                 "\n==gomap== concurrent_map: %s%s==gomap== replay: concurrent_map_replay <input file> "
                 "(same streams; the interleaving is the OS's)\n",
                 describe_input(in).c_str(), r.report.c_str());
    std::fflush(stderr);
    // exit, not abort: libFuzzer saves the input when the target exits, and
    // a signal would run its crash handler, whose allocations TSan reports
    // as signal-unsafe (and may hang on). The threads are joined by now.
    std::exit(1);
  }
  return 0;
}

extern "C" const char* gomap_fuzz_target_name() { return "concurrent_map"; }
