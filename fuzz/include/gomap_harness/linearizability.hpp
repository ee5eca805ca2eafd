// gomap_harness/linearizability.hpp — history recording and a
// linearizability checker for the concurrent maps.
//
// Recording. Every operation a thread runs is logged with the time it was
// invoked and the time it returned, read from one global counter (Clock),
// together with its arguments and results. Each thread appends to its own log
// only, so recording adds no synchronisation between threads: the counter is
// advanced with relaxed read-modify-writes, which give one total order of
// ticks (all on one atomic) without creating happens-before edges that would
// hide data races from ThreadSanitizer. (On x86-64 every atomic RMW is a full
// barrier, so tick order is also real-time order of the surrounding memory
// operations; the TSan fuzz target and stress tests run there.)
//
// Checking (check()). The sequential specification is a map from u64 keys to
// u64 values. Point operations (load, store, load_or_store, load_and_delete,
// erase, swap, compare_and_swap, compare_and_delete) touch one key, so the
// history is split per key (P-compositionality, Horn & Kroening) and each
// key's sub-history is checked on its own with the Wing–Gong search,
// memoised as in Lowe's variant: a cache of (set of linearised operations,
// model state) pairs already explored, so no configuration is expanded twice.
// clear is added to every key's sub-history as an erase that may take effect
// at a different moment of its interval for each key (the weak spec of a
// clear that is not atomic across keys; for ShardedMap that is exactly what
// it guarantees).
//
// range and len are checked against the weak spec Go documents for
// sync.Map.Range:
//   * no key is yielded twice;
//   * each yielded (k, v) was k's value at some moment during the call: some
//     write of v to k was invoked before the range returned, and no operation
//     that certainly left k without v happened entirely between that write's
//     return and the range's invocation;
//   * if the range ran to the end, every key that was certainly present for
//     the whole call is yielded (a write returned before the range started,
//     and no operation that may remove the key overlaps [that write, range end]);
//   * len lies between the number of keys certainly present for the whole
//     call and the number of keys possibly present at some moment during it.
//
// Each key's search result is kept (per thread, bounded) under the key's
// canonical sub-history — its operations' kinds, arguments and results and
// the order of their events, ticks replaced by places in that order — which
// is all the search reads; a sub-history met again (the scheduled target
// meets the same ones over and over) gets the kept verdict and step count,
// the latter replayed against the caller's budget, so the check is the same.
//
// A step budget bounds the search: when it runs out the verdict is Unknown,
// never a hang. On a violation the report names the key (or range/len
// operation) and prints a minimised history as a per-thread table. The
// minimisation keeps the report a true witness: it only (1) cuts the history
// at the earliest time T such that the operations invoked by T are already
// not linearisable (operations still running at T keep their arguments but
// lose their results, which is exactly the prefix-closure of
// linearizability), and (2) drops, one at a time while the rest stays
// non-linearisable, read-only operations (load, a load_or_store that loaded,
// a failed compare_and_swap, ...), writes whose value no other operation
// returned or compared against (when no compare failed), and erases or
// clears that precede every write in real time; neither step can turn a
// linearisable history into a non-linearisable one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gomap_harness/concurrent_ops.hpp"

namespace gomap_harness::lin {

// One recorded operation. Kinds are concurrent_ops.hpp's; the Range* kinds
// are all "range" here (they differ only in their callback), and Yield is
// never recorded.
struct Operation {
  std::uint32_t thread = 0;
  ConcOpKind kind = ConcOpKind::Load;
  std::uint64_t key = 0;
  std::uint64_t arg = 0;       // value stored (store, swap, load_or_store) or new value (compare_and_swap)
  std::uint64_t expected = 0;  // old value (compare_and_swap, compare_and_delete)
  // load, load_and_delete, swap: a value was present; load_or_store: it loaded;
  // compare_and_swap, compare_and_delete: it succeeded; range: it ran to the end.
  bool ok = false;
  std::uint64_t out = 0;  // the value returned when ok (load, load_and_delete, swap's previous, load_or_store's actual)
  std::uint64_t len = 0;  // len's result
  std::uint64_t invoke = 0;
  std::uint64_t ret = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> yielded;  // range, in order
  // Set by the minimiser only: the operation was still running at the cut,
  // so its result is not checked (its effect still is).
  bool pending = false;
  friend bool operator==(const Operation&, const Operation&) = default;
};

struct History {
  unsigned threads = 0;
  std::vector<Operation> ops;
  friend bool operator==(const History&, const History&) = default;
};

// The global time source: one tick per invoke and per return.
class Clock {
 public:
  std::uint64_t tick() noexcept { return t_.fetch_add(1, std::memory_order_relaxed); }
  // Back to the first tick, for a recorder used again (no thread is running).
  void reset() noexcept { t_.store(1, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> t_{1};
};

// Per-thread logs; thread i writes only log(i). history() is called after the
// threads were joined.
class Recorder {
 public:
  explicit Recorder(unsigned threads) : logs_(threads) {}
  Clock& clock() noexcept { return clock_; }
  std::vector<Operation>& log(unsigned thread) { return logs_.at(thread).ops; }
  unsigned threads() const noexcept { return static_cast<unsigned>(logs_.size()); }
  History history() const;
  // For a caller that records many runs (the scheduled target: up to 32 per
  // input): moves the logs into `h` (whose buffer is reused) in the order
  // history() gives, then empties them, keeping their capacity.
  void take_history(History& h);
  // Empty logs for `threads` threads and a clock back at its first tick.
  void reset(unsigned threads);
  // Removes the records of operations that never returned (ret still 0,
  // which no tick is): a writer may record an operation in place before it
  // runs, and a run abandoned inside an operation leaves it unfinished.
  void drop_unreturned();

 private:
  struct alignas(64) Log {
    std::vector<Operation> ops;
  };
  Clock clock_;
  std::vector<Log> logs_;
};

enum class Verdict { Ok, Violation, Unknown };
const char* verdict_name(Verdict v);

struct CheckOptions {
  std::uint64_t max_steps = 20'000'000;  // search steps over all keys; beyond: Unknown
  bool minimize = true;
};

struct CheckResult {
  Verdict verdict = Verdict::Ok;
  std::string report;  // Violation: what failed + minimised per-thread table; Unknown: where the budget ran out
  std::uint64_t steps = 0;
  std::size_t keys = 0;        // per-key partitions checked
  std::size_t point_ops = 0;   // point operations (clear counted once)
  std::size_t weak_ops = 0;    // range and len operations checked against the weak spec
};

CheckResult check(const History& h, const CheckOptions& opts = {});

// Printing (also used by the tests and the fuzz target).
std::string describe(const Operation& op);
std::string format_value(std::uint64_t v);
// One row per operation in invocation order, one column per thread.
std::string format_table(const std::vector<Operation>& ops, unsigned threads);

}  // namespace gomap_harness::lin
