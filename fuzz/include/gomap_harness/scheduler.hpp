// gomap_harness/scheduler.hpp — a controlled scheduler for the concurrent
// maps: N logical threads run one at a time, and a strategy picks which one
// runs at every scheduling point.
//
// Why. Real threads are scheduled by the OS, so a failing interleaving found
// by a fuzzer cannot be replayed. Here each logical thread is a fiber (its own
// stack; on x86-64 switched by a few instructions of our own, elsewhere with
// ucontext) on the caller's OS thread, and control passes
// between fibers only at scheduling points: every operation of an atomic and
// every lock, unlock and try-lock of a mutex from ScheduledSync (the sync
// policy of gomap/sync_policy.hpp that the harness plugs into SyncMap and
// ShardedMap). Between two points a fiber runs alone, so a run is a pure
// function of the program and the sequence of choices; the choices are the
// schedule, and a schedule replays bit for bit.
//
// Strategies (Chooser):
//  * ByteChooser — the fuzz input's schedule bytes: at each point where more
//    than one thread could run, the next byte b names thread b % N (the next
//    enabled thread after it if it cannot run). Points with one choice use no
//    byte. When the bytes run out the running thread keeps running while it
//    can (then the lowest enabled one), so every run terminates as fast as a
//    sequential run would. libFuzzer mutates the bytes, i.e. the interleaving.
//  * PctChooser — Probabilistic Concurrency Testing (Burckhardt et al.,
//    ASPLOS 2010): threads get random distinct priorities, the highest
//    enabled one runs, and at d-1 random steps out of k the running thread
//    drops below every other. For a program of N threads and at most k
//    steps, one run finds a given bug of depth d (d ordering constraints
//    between events of different threads) with probability at least
//    1 / (N * k^(d-1)); seeded, so a run replays.
//  * Round-robin with a preemption bound (explore_bounded()): every schedule
//    whose number of preemptions (switching away from a thread that could
//    still run) is at most the bound, depth-first, for small exhaustive
//    cases; each schedule it runs is itself a byte schedule.
//
// Blocking. A thread whose try-lock fails waits; it is not enabled again
// until the lock is free. If no thread is enabled and some have not finished,
// the run ends as a deadlock; a run longer than Limits::max_steps ends as a
// livelock. Both are failures with the schedule, never hangs. A thread that
// deadlocked is abandoned on its stack: the process should report and exit.
//
// ThreadSanitizer. Each fiber is a TSan fiber (__tsan_create_fiber), and the
// scheduler switches with __tsan_switch_to_fiber's no-sync flag, so passing
// control creates no happens-before edge: TSan sees the logical threads as
// threads whose only synchronisation is the map's own (the std mutexes and
// atomics underneath ScheduledSync, with their memory orders). Only a
// thread's start and end synchronise with the caller, as thread creation and
// join do. AddressSanitizer is told about every stack switch
// (__sanitizer_start/finish_switch_fiber).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

namespace gomap_harness::sched {

// A set of logical threads (at most kMaxLogicalThreads), as a bit mask:
// what a Chooser picks from. A value, so that asking the strategy costs no
// allocation (the scheduler asks at every scheduling point).
inline constexpr unsigned kMaxLogicalThreads = 64;

class ThreadSet {
 public:
  constexpr ThreadSet() = default;
  constexpr explicit ThreadSet(std::uint64_t bits) : bits_(bits) {}
  static constexpr ThreadSet of(std::initializer_list<unsigned> ts) {
    std::uint64_t b = 0;
    for (unsigned t : ts) b |= std::uint64_t(1) << t;
    return ThreadSet(b);
  }
  constexpr void add(unsigned t) { bits_ |= std::uint64_t(1) << t; }
  constexpr void remove(unsigned t) { bits_ &= ~(std::uint64_t(1) << t); }
  constexpr bool contains(unsigned t) const { return t < kMaxLogicalThreads && ((bits_ >> t) & 1) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr unsigned size() const { return static_cast<unsigned>(__builtin_popcountll(bits_)); }
  constexpr std::uint64_t bits() const { return bits_; }
  // The lowest / highest thread in the set (not empty).
  constexpr unsigned first() const { return static_cast<unsigned>(__builtin_ctzll(bits_)); }
  constexpr unsigned last() const { return 63u - static_cast<unsigned>(__builtin_clzll(bits_)); }
  // The lowest thread >= t, or first() if there is none (wraps around).
  constexpr unsigned at_or_after(unsigned t) const {
    const std::uint64_t above = t >= kMaxLogicalThreads ? 0 : bits_ & (~std::uint64_t(0) << t);
    return above != 0 ? static_cast<unsigned>(__builtin_ctzll(above)) : first();
  }
  // Ascending, for range-for.
  class iterator {
   public:
    constexpr explicit iterator(std::uint64_t b) : b_(b) {}
    constexpr unsigned operator*() const { return static_cast<unsigned>(__builtin_ctzll(b_)); }
    constexpr iterator& operator++() {
      b_ &= b_ - 1;
      return *this;
    }
    constexpr bool operator!=(const iterator& o) const { return b_ != o.b_; }

   private:
    std::uint64_t b_;
  };
  constexpr iterator begin() const { return iterator(bits_); }
  constexpr iterator end() const { return iterator(0); }
  friend constexpr bool operator==(ThreadSet, ThreadSet) = default;

 private:
  std::uint64_t bits_ = 0;
};

// The thread a Chooser picks among `enabled` (never empty, at least two
// threads); `current` is the thread that reached the point (it may not be
// enabled, e.g. when it waits).
class Chooser {
 public:
  virtual ~Chooser() = default;
  virtual unsigned choose(unsigned current, ThreadSet enabled) = 0;
};

class ByteChooser final : public Chooser {
 public:
  ByteChooser(std::vector<std::uint8_t> bytes, unsigned threads) : bytes_(std::move(bytes)), threads_(threads) {}
  unsigned choose(unsigned current, ThreadSet enabled) override;
  std::size_t bytes_used() const { return next_; }

 private:
  std::vector<std::uint8_t> bytes_;
  unsigned threads_;
  std::size_t next_ = 0;
};

class PctChooser final : public Chooser {
 public:
  // `steps`: k, the bound on scheduling steps the change points are drawn from.
  PctChooser(std::uint64_t seed, unsigned depth, unsigned threads, std::uint64_t steps);
  unsigned choose(unsigned current, ThreadSet enabled) override;

 private:
  std::vector<std::uint64_t> priority_;     // per thread; higher runs first
  std::vector<std::uint64_t> change_steps_;  // step i (1-based) lowers the running thread to priority i's rank
  std::uint64_t step_ = 0;
};

struct Limits {
  std::uint64_t max_steps = 200'000;  // scheduling points per run; beyond: livelock
  // Optional feedback for a fuzzer: at every switch from one thread to
  // another, counter[hash(the code address where the first stopped, where
  // the second resumes) % n] is bumped. It changes nothing in the run.
  std::uint8_t* switch_counters = nullptr;
  std::size_t switch_counter_count = 0;
};

enum class Outcome { Finished, Deadlock, Livelock };
const char* outcome_name(Outcome o);

struct RunReport {
  Outcome outcome = Outcome::Finished;
  std::uint64_t steps = 0;                 // scheduling points passed
  std::vector<std::uint8_t> decisions;     // the thread chosen at each point with a choice (a byte schedule)
  std::vector<unsigned> preemptions_at;    // indices into decisions where a runnable thread was switched away from
  std::string detail;                      // deadlock/livelock: which threads wait on what
};

// Runs bodies[i] as logical thread i until all return (or deadlock/livelock).
// Not reentrant: one run at a time per process. At most kMaxLogicalThreads.
RunReport run(const std::vector<std::function<void()>>& bodies, Chooser& chooser, const Limits& limits = {});
// The same, into `report` (its vectors keep their capacity: a caller that
// runs many schedules allocates nothing per run for the report).
void run(const std::vector<std::function<void()>>& bodies, Chooser& chooser, const Limits& limits, RunReport& report);

// Runs every schedule with at most `preemption_bound` preemptions, depth
// first, calling `once(chooser)` for each; once() must run the whole program
// through run() with that chooser and return true to stop (a failure).
// Stops after `max_runs` schedules. Returns the number of schedules run and
// whether the space was exhausted.
struct Exploration {
  std::size_t runs = 0;
  bool exhausted = false;
  bool stopped = false;  // once() returned true
};
Exploration explore_bounded(unsigned preemption_bound, std::size_t max_runs, const std::function<bool(Chooser&)>& once);

// A scheduling point: called by ScheduledSync before every operation. Outside
// run() (setup, checks after the run) it does nothing.
void point();
// For a lock that cannot be taken now: waits until ready(obj) is true (the
// scheduler evaluates it when choosing), then returns. Outside run() it is an
// error (a real lock would block forever): it aborts with a message.
void wait_until(bool (*ready)(const void*), const void* obj, const char* what);
// True while run() is running threads.
bool active();

// ---- the sync policy of gomap/sync_policy.hpp that schedules -------------

template <class T>
class Atomic {
 public:
  Atomic() noexcept = default;
  constexpr Atomic(T v) noexcept : a_(v) {}  // NOLINT: as std::atomic
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order o = std::memory_order_seq_cst) const noexcept {
    point();
    return a_.load(o);
  }
  void store(T v, std::memory_order o = std::memory_order_seq_cst) noexcept {
    point();
    a_.store(v, o);
  }
  T exchange(T v, std::memory_order o = std::memory_order_seq_cst) noexcept {
    point();
    return a_.exchange(v, o);
  }
  // Strong underneath: a spurious failure would make the schedule depend on
  // the hardware.
  bool compare_exchange_weak(T& e, T d, std::memory_order s, std::memory_order f) noexcept {
    return compare_exchange_strong(e, d, s, f);
  }
  bool compare_exchange_weak(T& e, T d, std::memory_order o = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(e, d, o);
  }
  bool compare_exchange_strong(T& e, T d, std::memory_order s, std::memory_order f) noexcept {
    point();
    return a_.compare_exchange_strong(e, d, s, f);
  }
  bool compare_exchange_strong(T& e, T d, std::memory_order o = std::memory_order_seq_cst) noexcept {
    point();
    return a_.compare_exchange_strong(e, d, o);
  }
  T fetch_add(T v, std::memory_order o = std::memory_order_seq_cst) noexcept {
    point();
    return a_.fetch_add(v, o);
  }
  T fetch_sub(T v, std::memory_order o = std::memory_order_seq_cst) noexcept {
    point();
    return a_.fetch_sub(v, o);
  }

 private:
  std::atomic<T> a_{};
};

// A mutex whose lock never blocks the OS thread: it try-locks the real
// std::mutex underneath (so TSan sees the real lock's synchronisation) and,
// if it is taken, waits in the scheduler until the holder unlocks.
class Mutex {
 public:
  void lock();
  bool try_lock();
  void unlock();

 private:
  static bool free(const void* self);
  std::mutex m_;
  std::atomic<bool> held_{false};  // relaxed: read by the scheduler to decide who is enabled
};

class SharedMutex {
 public:
  void lock();
  bool try_lock();
  void unlock();
  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

 private:
  static bool free_for_write(const void* self);
  static bool free_for_read(const void* self);
  std::shared_mutex m_;
  std::atomic<bool> writer_{false};
  std::atomic<unsigned> readers_{0};
};

struct ScheduledSync {
  template <class T>
  using atomic = Atomic<T>;
  using mutex = Mutex;
  using shared_mutex = SharedMutex;
};

}  // namespace gomap_harness::sched
