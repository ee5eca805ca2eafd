// gomap_harness/concurrent_program.hpp — a concurrent program with its
// schedule, in a binary and a text form, and its scheduled run.
//
// A ConcurrentProgram is what the concurrent_sched fuzz target runs and what
// gomap-replay replays: which concurrent map (SyncMap or ShardedMap with 1, 4
// or 16 shards), how many distinct keys, the maps' seed, one block of
// concurrent ops (concurrent_ops.hpp) per logical thread, and a scheduling
// strategy with its schedule (scheduler.hpp). Running it under the
// controlled scheduler is a pure function of these fields: the same program
// gives the same history, schedule and verdict in every run and every build.
//
// Binary form (libFuzzer mutates it; every byte string decodes):
//   [optional header "GMAP" <kConcurrentSchedId>]   written by the encoder
//   byte 0   bits 0-1: threads - 2 (mod 3: 2..4); bits 2-3: map (kMapNames);
//            bits 4-6: key count (kKeyCounts)
//   byte 1   bits 0-1: strategy (0, 1 bytes; 2 pct; 3 rr);
//            bits 2-3: pct depth - 1, or rr preemption bound;
//            bits 4-7: the maps' seed
//   per thread: <n> then n ops of 2 bytes <kind % kConcOpKinds> <key code>;
//            n is taken modulo kMaxOpsPerThread + 1; a truncated op is dropped
//   the rest: the schedule — for bytes, one byte per choice; for pct, the
//            seed (up to 8 bytes, little-endian); ignored by rr
// Text form (one directive per line, '#' starts a comment):
//   target concurrent_sched
//   map sync | map sharded 1|4|16
//   keys 1|2|3|4|8|16|32|64
//   seed 0..15
//   strategy bytes | strategy pct DEPTH SEED | strategy rr BOUND
//   thread 0
//     store 1          # conc_op_name(); point ops take a key code
//     range_erase
//   thread 1
//     ...
//   schedule 0 1 1 0   # bytes: the schedule bytes, as decimal
// Threads are numbered 0.. in order; between 2 and 4 of them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gomap_harness/concurrent_ops.hpp"
#include "gomap_harness/failure.hpp"
#include "gomap_harness/linearizability.hpp"
#include "gomap_harness/scheduler.hpp"

namespace gomap_harness {

inline constexpr std::string_view kConcurrentSchedName = "concurrent_sched";
// Its id in the "GMAP" binary header; far from the map targets' ids (targets.hpp).
inline constexpr std::uint8_t kConcurrentSchedId = 0x80;
inline constexpr std::size_t kMaxOpsPerThread = 32;
inline constexpr unsigned kMinThreads = 2, kMaxThreads = 4;
inline constexpr std::array<std::uint64_t, 8> kKeyCounts = {1, 2, 3, 4, 8, 16, 32, 64};
// Map kinds: 0 SyncMap; 1..3 ShardedMap with kShardCounts[i] shards.
inline constexpr std::array<std::size_t, 4> kShardCounts = {0, 1, 4, 16};

enum class Strategy : std::uint8_t { Bytes, Pct, RoundRobin };

struct ConcurrentProgram {
  unsigned map = 0;          // index into kShardCounts
  unsigned key_index = 0;    // index into kKeyCounts
  unsigned seed = 0;         // 0..15
  Strategy strategy = Strategy::Bytes;
  unsigned param = 0;        // pct: depth - 1; rr: preemption bound (0..3)
  std::vector<std::vector<ConcOp>> threads;
  std::vector<std::uint8_t> schedule;  // see the binary form's last field
  std::uint64_t keys() const { return kKeyCounts[key_index]; }
  std::uint64_t pct_seed() const;
  std::size_t op_count() const;
  friend bool operator==(const ConcurrentProgram&, const ConcurrentProgram&) = default;
};

ConcurrentProgram decode_concurrent(const std::uint8_t* data, std::size_t size);
std::vector<std::uint8_t> encode_concurrent(const ConcurrentProgram& p);  // with the header
std::string concurrent_to_text(const ConcurrentProgram& p);
// Throws ParseError (program.hpp) with the line number.
ConcurrentProgram parse_concurrent_text(std::string_view text);
// True if the text names target concurrent_sched (or the bytes carry its header).
bool is_concurrent_text(std::string_view text);
bool has_concurrent_header(const std::uint8_t* data, std::size_t size);
std::string describe_concurrent(const ConcurrentProgram& p);  // one line

// libFuzzer's files for the target (gomap-replay --dict/--options
// concurrent_sched; corpus/build.sh writes them): one token per op kind, and
// a max_len that fits four full threads and a long schedule.
inline constexpr std::size_t kConcurrentMaxLen = 2 + kMaxThreads * (1 + 2 * kMaxOpsPerThread) + 120;
std::string concurrent_dictionary();

struct ConcurrentRunOptions {
  std::size_t max_rr_runs = 32;  // rr: schedules explored per program (part of the replay: keep fixed)
  std::uint8_t* switch_counters = nullptr;  // see sched::Limits
  std::size_t switch_counter_count = 0;
};

struct ConcurrentResult {
  bool failed = false;
  Rule rule = Rule::Linearizability;
  sched::RunReport run;           // the (last) scheduled run
  lin::History history;
  lin::CheckResult check;
  std::size_t schedules = 1;      // rr: how many were run
  std::string report;             // on failure: verdict, schedule, table, checker report
};

ConcurrentResult run_concurrent(const ConcurrentProgram& p, const ConcurrentRunOptions& opts = {});

// The full account of a run: per-thread table of operations in invocation
// order with invoke/return ticks, the schedule taken, the verdict.
std::string describe_concurrent_run(const ConcurrentProgram& p, const ConcurrentResult& r);

}  // namespace gomap_harness
