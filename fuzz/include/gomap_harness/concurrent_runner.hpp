// gomap_harness/concurrent_runner.hpp — runs concurrent op streams
// (concurrent_ops.hpp) on a SyncMap or ShardedMap from real threads and
// records the history (linearizability.hpp).
//
// Values are never taken from the program: each write stores a fresh value,
// (thread + 1) << 32 | sequence, unique in the run, so that a value read back
// names the write that stored it. compare_and_swap and compare_and_delete
// compare against the last value this thread saw for the key (0, which is
// never stored, if none), so they succeed often enough to matter.
//
// The maps are used through their common method set with u64 keys and
// values; Len uses size() when the map has one (ShardedMap) and is a plain
// range otherwise (SyncMap has no len, like Go's sync.Map).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "gomap_harness/concurrent_ops.hpp"
#include "gomap_harness/linearizability.hpp"

namespace gomap_harness {

template <class M>
class RecordingClient {
 public:
  // `yield`: what the Yield op does (default std::this_thread::yield; the
  // controlled scheduler passes its scheduling point).
  RecordingClient(M& m, lin::Recorder& rec, unsigned thread, std::uint64_t nkeys, void (*yield)() = nullptr)
      : m_(m),
        rec_(rec),
        log_(rec.log(thread)),
        thread_(thread),
        nkeys_(nkeys == 0 ? 1 : nkeys),
        yield_(yield),
        last_seen_(nkeys_, 0) {}

  std::uint64_t key_of(std::uint16_t code) const { return code % nkeys_; }

  void run(const ConcOp& op) {
    const std::uint64_t k = key_of(op.key);
    if (op.kind == ConcOpKind::Yield) {
      if (yield_) yield_();
      else std::this_thread::yield();
      return;
    }
    if (conc_is_range(op.kind) || op.kind == ConcOpKind::Len) {
      if constexpr (requires(const M& cm) { cm.size(); }) {
        if (op.kind == ConcOpKind::Len) {
          lin::Operation& o = start(op.kind, 0);
          o.invoke = tick();
          o.len = m_.size();
          o.ret = tick();
          return;
        }
      }
      // A range logs the operations its callback runs first, then itself.
      lin::Operation o;
      o.thread = thread_;
      o.kind = op.kind == ConcOpKind::Len ? ConcOpKind::Range : op.kind;
      run_range(o);
      log_.push_back(std::move(o));
      return;
    }
    // A point operation is written in place in the log (no copy of the
    // record per operation). Until it returns its ret is 0, which no tick
    // is: a run abandoned inside the map (deadlock, livelock) drops such
    // records (drop_unreturned()).
    lin::Operation& o = start(op.kind, k);
    switch (op.kind) {
      case ConcOpKind::Load: {
        o.invoke = tick();
        const std::optional<std::uint64_t> r = m_.load(k);
        o.ret = tick();
        saw(o, k, r);
        break;
      }
      case ConcOpKind::Store:
        o.arg = fresh();
        o.invoke = tick();
        m_.store(k, o.arg);
        o.ret = tick();
        last_seen_[k] = o.arg;
        break;
      case ConcOpKind::LoadOrStore: {
        o.arg = fresh();
        o.invoke = tick();
        const auto [actual, loaded] = m_.load_or_store(k, o.arg);
        o.ret = tick();
        o.ok = loaded;
        o.out = actual;
        last_seen_[k] = actual;
        break;
      }
      case ConcOpKind::LoadAndDelete: {
        o.invoke = tick();
        const std::optional<std::uint64_t> r = m_.load_and_delete(k);
        o.ret = tick();
        saw(o, k, r);
        break;
      }
      case ConcOpKind::Erase:
        o.invoke = tick();
        m_.erase(k);
        o.ret = tick();
        break;
      case ConcOpKind::Swap: {
        o.arg = fresh();
        o.invoke = tick();
        const std::optional<std::uint64_t> r = m_.swap(k, o.arg);
        o.ret = tick();
        o.ok = r.has_value();
        o.out = r.value_or(0);
        last_seen_[k] = o.arg;
        break;
      }
      case ConcOpKind::CompareAndSwap:
        o.expected = last_seen_[k];
        o.arg = fresh();
        o.invoke = tick();
        o.ok = m_.compare_and_swap(k, o.expected, o.arg);
        o.ret = tick();
        if (o.ok) last_seen_[k] = o.arg;
        break;
      case ConcOpKind::CompareAndDelete:
        o.expected = last_seen_[k];
        o.invoke = tick();
        o.ok = m_.compare_and_delete(k, o.expected);
        o.ret = tick();
        break;
      case ConcOpKind::Clear:
        o.invoke = tick();
        m_.clear();
        o.ret = tick();
        break;
      default:
        break;  // handled above
    }
  }

  // Quiescent loads of every key (after all threads joined): they pin down
  // the final state, so that a lost write shows up as a violation.
  void load_all() {
    for (std::uint64_t k = 0; k < nkeys_; ++k) run(ConcOp{ConcOpKind::Load, static_cast<std::uint16_t>(k)});
  }

 private:
  std::uint64_t tick() { return rec_.clock().tick(); }
  lin::Operation& start(ConcOpKind kind, std::uint64_t k) {
    lin::Operation& o = log_.emplace_back();
    o.thread = thread_;
    o.kind = kind;
    o.key = conc_is_point(kind) ? k : 0;
    return o;
  }
  std::uint64_t fresh() { return (std::uint64_t(thread_) + 1) << 32 | ++seq_; }
  void saw(lin::Operation& o, std::uint64_t k, const std::optional<std::uint64_t>& r) {
    o.ok = r.has_value();
    o.out = r.value_or(0);
    if (r) last_seen_[k] = *r;
  }

  void run_range(lin::Operation& o) {
    const ConcOpKind mode = o.kind;
    std::size_t n = 0;
    o.ok = true;
    o.invoke = tick();
    m_.range([&](const std::uint64_t& key, const std::uint64_t& value) {
      const std::uint64_t k = key;  // the callback may erase it
      o.yielded.emplace_back(k, value);
      if (k < nkeys_) last_seen_[k] = value;
      ++n;
      if (mode == ConcOpKind::RangeErase && n % 2 == 1) {
        lin::Operation e;
        e.thread = thread_;
        e.kind = ConcOpKind::Erase;
        e.key = k;
        e.invoke = tick();
        m_.erase(k);
        e.ret = tick();
        log_.push_back(std::move(e));
      } else if (mode == ConcOpKind::RangeStore) {
        lin::Operation s;
        s.thread = thread_;
        s.kind = ConcOpKind::Store;
        s.key = k;
        s.arg = fresh();
        s.invoke = tick();
        m_.store(k, s.arg);
        s.ret = tick();
        if (k < nkeys_) last_seen_[k] = s.arg;
        log_.push_back(std::move(s));
      } else if (mode == ConcOpKind::RangeStop) {
        o.ok = false;
        return false;
      }
      return true;
    });
    o.ret = tick();
  }

  M& m_;
  lin::Recorder& rec_;
  std::vector<lin::Operation>& log_;
  unsigned thread_;
  std::uint64_t nkeys_;
  void (*yield_)();
  std::uint64_t seq_ = 0;
  std::vector<std::uint64_t> last_seen_;
};

// Runs streams[i] on thread i, all starting together, then loads every key
// from one more "thread" (index streams.size()) after the join. The history
// has streams.size() + 1 threads.
template <class M>
lin::History run_concurrently(M& m, const std::vector<std::vector<ConcOp>>& streams, std::uint64_t nkeys) {
  const unsigned n = static_cast<unsigned>(streams.size());
  lin::Recorder rec(n + 1);
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      RecordingClient<M> c(m, rec, t, nkeys);
      ready.fetch_add(1, std::memory_order_relaxed);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (const ConcOp& op : streams[t]) c.run(op);
    });
  }
  while (ready.load(std::memory_order_relaxed) != n) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (std::thread& th : threads) th.join();
  RecordingClient<M> final_loads(m, rec, n, nkeys);
  final_loads.load_all();
  return rec.history();
}

}  // namespace gomap_harness
