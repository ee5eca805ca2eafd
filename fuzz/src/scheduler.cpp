// The controlled scheduler (see scheduler.hpp for the design).
//
// Control flow. run() is the scheduler: it lives on the caller's stack (the
// "main" fiber). Each logical thread is a fiber that runs until its next
// scheduling point and then switches back to main, having left its state
// (ready, waiting on a lock, done) in its Slot; main asks the Chooser which
// thread goes next and switches to it. Two switches per point keep every
// decision in one place (main) and every fiber's stack independent.
//
// What TSan must not see as races: the Slot fields that a fiber writes and
// main reads are relaxed atomics (no happens-before edge, no report). The
// scheduler's own bookkeeping is touched by main only.
#include "gomap_harness/scheduler.hpp"

#include "gomap/detail/random.hpp"

#include <sys/mman.h>
#include <ucontext.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <thread>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GOMAP_SCHED_TSAN 1
#endif
#if __has_feature(address_sanitizer)
#define GOMAP_SCHED_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GOMAP_SCHED_TSAN 1
#endif
#if defined(__SANITIZE_ADDRESS__)
#define GOMAP_SCHED_ASAN 1
#endif

#if defined(GOMAP_SCHED_TSAN)
#include <sanitizer/tsan_interface.h>
#endif
#if defined(GOMAP_SCHED_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace gomap_harness::sched {
namespace {

constexpr std::size_t kStackBytes = 512 * 1024;  // sanitizer frames are large; the maps' recursion is shallow

enum class State : std::uint8_t { Ready, Waiting, Done };

struct Stack {
  void* base = nullptr;  // mapping, guard page first
  std::size_t size = 0;
  void* bottom() const { return static_cast<char*>(base) + 4096; }
  std::size_t usable() const { return size - 4096; }
};

Stack map_stack() {
  Stack s;
  s.size = kStackBytes + 4096;
  s.base = mmap(nullptr, s.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (s.base == MAP_FAILED) {
    std::fprintf(stderr, "gomap scheduler: cannot map a fiber stack: %s\n", std::strerror(errno));
    std::abort();
  }
  mprotect(s.base, 4096, PROT_NONE);  // a guard page: an overflow faults instead of corrupting
  return s;
}

// ---- the raw context switch -------------------------------------------------
//
// On x86-64 a switch is ours, not swapcontext's: swapcontext saves and
// restores the signal mask with a rt_sigprocmask system call on every call
// (two per scheduling point; it was the largest single cost of a run under
// TSan), and nothing here changes the signal mask. What a switch must keep is
// what the SysV ABI says a call preserves: the callee-saved registers rbx,
// rbp, r12-r15, the stack pointer, and the control bits of MXCSR and of the
// x87 control word. gomap_sched_swap pushes those on the current stack,
// stores the stack pointer in *from, loads `to` and pops the same frame from
// the other stack. The sanitizers are told about each switch exactly as
// before (see to_main / to_fiber): the annotations are independent of how the
// registers are switched. Elsewhere, ucontext.
#if defined(__x86_64__) && !defined(GOMAP_SCHED_UCONTEXT)
#define GOMAP_SCHED_ASM_SWITCH 1
#endif

#if defined(GOMAP_SCHED_ASM_SWITCH)
extern "C" void gomap_sched_swap(void** from, void* to);
asm(R"(
  .text
  .p2align 4
  .globl gomap_sched_swap
  .hidden gomap_sched_swap
  .type gomap_sched_swap, @function
gomap_sched_swap:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size gomap_sched_swap, .-gomap_sched_swap
)");

struct Context {
  void* sp = nullptr;
};

inline void switch_context(Context& from, Context& to) { gomap_sched_swap(&from.sp, to.sp); }

// A context that starts `entry` (which never returns) on `stack`: the frame
// gomap_sched_swap pops, built by hand. Its registers are zero (a zero rbp
// ends frame-pointer unwinding there), its control words are the caller's,
// and `entry` finds the stack aligned as after a call.
void make_context(Context& c, const Stack& stack, void (*entry)()) {
  auto top = reinterpret_cast<std::uintptr_t>(stack.bottom()) + stack.usable();
  top &= ~std::uintptr_t(15);
  auto* sp = reinterpret_cast<std::uint64_t*>(top);
  *--sp = 0;                                         // entry's return address: none
  *--sp = reinterpret_cast<std::uint64_t>(entry);    // where the first switch returns to
  for (int i = 0; i < 6; ++i) *--sp = 0;             // rbp rbx r12 r13 r14 r15
  std::uint32_t mxcsr = 0;
  std::uint16_t fpucw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  *--sp = std::uint64_t(mxcsr) | std::uint64_t(fpucw) << 32;
  c.sp = sp;
}
#else
struct Context {
  ucontext_t uc{};
};

inline void switch_context(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }

void make_context(Context& c, const Stack& stack, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack.bottom();
  c.uc.uc_stack.ss_size = stack.usable();
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
#endif

struct Slot {
  Context ctx;
  Stack stack;
  const std::function<void()>* body = nullptr;
  // Written by the fiber, read by main: relaxed atomics (see the top).
  std::atomic<State> state{State::Ready};
  std::atomic<bool (*)(const void*)> ready_fn{nullptr};
  std::atomic<const void*> wait_obj{nullptr};
  std::atomic<const char*> wait_what{nullptr};
  std::atomic<std::uintptr_t> site{0};  // code address of the last scheduling point (feedback only)
  bool parked = false;  // its last body returned: it waits in fiber_entry's loop to be started again
#if defined(GOMAP_SCHED_TSAN)
  void* tsan_fiber = nullptr;
#endif
#if defined(GOMAP_SCHED_ASAN)
  void* fake_stack = nullptr;
#endif
};

struct Machine {
  Context main_ctx;
  std::vector<std::unique_ptr<Slot>> slots;  // stacks are kept across runs
  // Read by the running fiber at each point, written by main between turns:
  // relaxed atomics, for the reason at the top.
  std::atomic<unsigned> current{0};
  std::atomic<bool> running{false};
#if defined(GOMAP_SCHED_TSAN)
  void* tsan_main = nullptr;
#endif
#if defined(GOMAP_SCHED_ASAN)
  void* main_fake_stack = nullptr;
  const void* main_bottom = nullptr;
  std::size_t main_size = 0;
#endif
};

// The machine of the run in progress, or null: set by main before any fiber
// starts and cleared after the run, read by the fibers at every point. A
// relaxed atomic: a fiber abandoned by a deadlock or livelock never ends with
// a synchronising switch, so main's clearing does not happen-after its last
// read, and TSan would report a plain pointer.
std::atomic<Machine*> g_machine{nullptr};
Machine* current_machine() { return g_machine.load(std::memory_order_relaxed); }

// Never destroyed: a thread abandoned by a deadlock or livelock read its
// slot without a later synchronising switch, so freeing the slots at exit
// would be a data race to TSan.
Machine& machine() {
  static Machine* m = new Machine;
  return *m;
}

// ---- switching ------------------------------------------------------------

// From fiber `s` back to main. `sync`: only when the fiber ends (a join).
void to_main(Slot& s, bool sync) {
  Machine& m = *current_machine();
#if defined(GOMAP_SCHED_TSAN)
  __tsan_switch_to_fiber(m.tsan_main, sync ? 0 : __tsan_switch_to_fiber_no_sync);
#else
  (void)sync;
#endif
#if defined(GOMAP_SCHED_ASAN)
  __sanitizer_start_switch_fiber(&s.fake_stack, m.main_bottom, m.main_size);  // fibers never end
#endif
  switch_context(s.ctx, m.main_ctx);
#if defined(GOMAP_SCHED_ASAN)
  __sanitizer_finish_switch_fiber(s.fake_stack, nullptr, nullptr);
#endif
}

// From main to fiber `s`. `sync`: only for the fiber's first run (a start).
void to_fiber(Machine& m, Slot& s, bool sync) {
#if defined(GOMAP_SCHED_TSAN)
  __tsan_switch_to_fiber(s.tsan_fiber, sync ? 0 : __tsan_switch_to_fiber_no_sync);
#else
  (void)sync;
#endif
#if defined(GOMAP_SCHED_ASAN)
  __sanitizer_start_switch_fiber(&m.main_fake_stack, s.stack.bottom(), s.stack.usable());
#endif
  switch_context(m.main_ctx, s.ctx);
#if defined(GOMAP_SCHED_ASAN)
  __sanitizer_finish_switch_fiber(m.main_fake_stack, nullptr, nullptr);
#endif
}

// A fiber runs one body per run, forever: after a body returns it reports
// done (a join) and waits to be started again by the next run. Re-entering
// the function instead would grow TSan's shadow call stack of the fiber by a
// few frames every run (the old frames never return), and every stack TSan
// records would get longer.
void fiber_entry() {
  Machine& m = *current_machine();
  Slot& s = *m.slots[m.current.load(std::memory_order_relaxed)];
#if defined(GOMAP_SCHED_ASAN)
  // The first switch into this fiber came from main: learn main's stack.
  __sanitizer_finish_switch_fiber(nullptr, &m.main_bottom, &m.main_size);
#endif
  for (;;) {
    // Started (synchronised with the caller, like thread creation); wait for
    // the first turn, so that every thread starts before any runs.
    to_main(s, false);
    try {
      (*s.body)();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "gomap scheduler: logical thread %u threw: %s\n", m.current.load(), e.what());
      std::abort();
    } catch (...) {
      std::fprintf(stderr, "gomap scheduler: logical thread %u threw\n", m.current.load());
      std::abort();
    }
    s.state.store(State::Done, std::memory_order_relaxed);
    to_main(s, /*sync=*/true);
  }
}

bool enabled(const Slot& s) {
  switch (s.state.load(std::memory_order_relaxed)) {
    case State::Ready: return true;
    case State::Done: return false;
    case State::Waiting: {
      auto* fn = s.ready_fn.load(std::memory_order_relaxed);
      return fn(s.wait_obj.load(std::memory_order_relaxed));
    }
  }
  return false;
}

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::Finished: return "finished";
    case Outcome::Deadlock: return "deadlock";
    case Outcome::Livelock: return "livelock";
  }
  return "?";
}

bool active() {
  Machine* m = current_machine();
  return m != nullptr && m->running.load(std::memory_order_relaxed);
}

void point() {
  Machine* m = current_machine();
  if (m == nullptr || !m->running.load(std::memory_order_relaxed)) return;
  Slot& s = *m->slots[m->current.load(std::memory_order_relaxed)];
  s.site.store(reinterpret_cast<std::uintptr_t>(__builtin_return_address(0)), std::memory_order_relaxed);
  to_main(s, false);
}

void wait_until(bool (*ready)(const void*), const void* obj, const char* what) {
  Machine* m = current_machine();
  if (m == nullptr || !m->running.load(std::memory_order_relaxed)) {
    std::fprintf(stderr, "gomap scheduler: %s would block outside a scheduled run\n", what);
    std::abort();
  }
  Slot& s = *m->slots[m->current.load(std::memory_order_relaxed)];
  s.ready_fn.store(ready, std::memory_order_relaxed);
  s.wait_obj.store(obj, std::memory_order_relaxed);
  s.wait_what.store(what, std::memory_order_relaxed);
  s.state.store(State::Waiting, std::memory_order_relaxed);
  to_main(s, false);
  // Main resumes a waiting thread only once ready(obj) holds.
  s.state.store(State::Ready, std::memory_order_relaxed);
}

// libstdc++ updates shared_ptr counts (and other reference counts) without
// atomic instructions while the process has never started a second thread
// (__libc_single_threaded). The logical threads share such counts, and TSan,
// which sees them as threads, would report those plain updates as races that
// a real multi-threaded program does not have. One short-lived thread puts
// the process in multi-threaded mode for good.
void leave_single_threaded_mode() {
  static const bool done = [] {
    std::thread([] {}).join();
    return true;
  }();
  (void)done;
}

RunReport run(const std::vector<std::function<void()>>& bodies, Chooser& chooser, const Limits& limits) {
  RunReport report;
  run(bodies, chooser, limits, report);
  return report;
}

void run(const std::vector<std::function<void()>>& bodies, Chooser& chooser, const Limits& limits, RunReport& report) {
  leave_single_threaded_mode();
  Machine& m = machine();
  if (m.running.load(std::memory_order_relaxed)) {
    std::fprintf(stderr, "gomap scheduler: run() is not reentrant\n");
    std::abort();
  }
  if (bodies.size() > kMaxLogicalThreads) {
    std::fprintf(stderr, "gomap scheduler: %zu logical threads; at most %u\n", bodies.size(), kMaxLogicalThreads);
    std::abort();
  }
  report.outcome = Outcome::Finished;
  report.steps = 0;
  report.decisions.clear();
  report.preemptions_at.clear();
  report.detail.clear();
  const unsigned n = static_cast<unsigned>(bodies.size());
  while (m.slots.size() < n) {
    auto s = std::make_unique<Slot>();
    s->stack = map_stack();
    m.slots.push_back(std::move(s));
  }
  g_machine.store(&m, std::memory_order_relaxed);
#if defined(GOMAP_SCHED_TSAN)
  m.tsan_main = __tsan_get_current_fiber();
#endif
  for (unsigned i = 0; i < n; ++i) {
    Slot& s = *m.slots[i];
    s.body = &bodies[i];
    s.state.store(State::Ready, std::memory_order_relaxed);
    if (!s.parked) {
      // New, or abandoned mid-body by the last run (deadlock, livelock): a
      // fresh context on its stack (and a fresh TSan fiber).
#if defined(GOMAP_SCHED_ASAN)
      ASAN_UNPOISON_MEMORY_REGION(s.stack.bottom(), s.stack.usable());
      s.fake_stack = nullptr;
#endif
      make_context(s.ctx, s.stack, fiber_entry);
#if defined(GOMAP_SCHED_TSAN)
      if (s.tsan_fiber != nullptr) __tsan_destroy_fiber(s.tsan_fiber);
      s.tsan_fiber = __tsan_create_fiber(0);
#endif
    }
    s.parked = false;
  }
  m.running.store(true, std::memory_order_relaxed);
  // Start every thread first (the only synchronising switches into them):
  // each runs up to its first turn and comes back.
  for (unsigned i = 0; i < n; ++i) {
    m.current.store(i, std::memory_order_relaxed);
    to_fiber(m, *m.slots[i], /*sync=*/true);
  }

  unsigned current = 0;
  for (;;) {
    ThreadSet choices;
    bool all_done = true;
    for (unsigned i = 0; i < n; ++i) {
      const Slot& s = *m.slots[i];
      if (s.state.load(std::memory_order_relaxed) != State::Done) all_done = false;
      if (enabled(s)) choices.add(i);
    }
    if (all_done) break;
    if (choices.empty()) {
      report.outcome = Outcome::Deadlock;
      for (unsigned i = 0; i < n; ++i) {
        const Slot& s = *m.slots[i];
        if (s.state.load(std::memory_order_relaxed) == State::Waiting)
          report.detail += "thread " + std::to_string(i) + " waits for " + s.wait_what.load(std::memory_order_relaxed) + "; ";
      }
      break;
    }
    if (report.steps >= limits.max_steps) {
      report.outcome = Outcome::Livelock;
      report.detail = "no run ended after " + std::to_string(limits.max_steps) + " scheduling points";
      break;
    }
    unsigned next = choices.first();
    if (choices.size() > 1) {
      next = chooser.choose(current, choices);
      if (!choices.contains(next)) next = choices.first();
      if (choices.contains(current) && next != current)
        report.preemptions_at.push_back(static_cast<unsigned>(report.decisions.size()));
      report.decisions.push_back(static_cast<std::uint8_t>(next));
    }
    ++report.steps;
    if (limits.switch_counters && next != current) {
      const std::uint64_t from = m.slots[current]->site.load(std::memory_order_relaxed);
      const std::uint64_t to = m.slots[next]->site.load(std::memory_order_relaxed);
      std::uint64_t h = from * 0x9e3779b97f4a7c15ull ^ (to + 0x632be59bd9b4e019ull);
      h ^= h >> 29;
      std::uint8_t& c = limits.switch_counters[h % limits.switch_counter_count];
      if (c != 0xff) ++c;
    }
    current = next;
    m.current.store(next, std::memory_order_relaxed);
    to_fiber(m, *m.slots[next], /*sync=*/false);
  }

  for (unsigned i = 0; i < n; ++i) m.slots[i]->parked = m.slots[i]->state.load(std::memory_order_relaxed) == State::Done;
  m.running.store(false, std::memory_order_relaxed);
  g_machine.store(nullptr, std::memory_order_relaxed);
}

// ---- strategies -----------------------------------------------------------

unsigned ByteChooser::choose(unsigned current, ThreadSet enabled) {
  if (next_ >= bytes_.size()) {
    // Out of bytes: no more preemptions.
    return enabled.contains(current) ? current : enabled.first();
  }
  // Byte b names thread b % threads, or the next enabled one after it.
  return enabled.at_or_after(bytes_[next_++] % threads_);
}

namespace {
// The engine's splitmix64 stream (gomap/detail/random.hpp): one draw.
std::uint64_t mix(std::uint64_t& state) {
  state += gomap::detail::kSplitmixStep;
  return gomap::detail::splitmix_mix(state);
}
}  // namespace

PctChooser::PctChooser(std::uint64_t seed, unsigned depth, unsigned threads, std::uint64_t steps) {
  std::uint64_t state = seed;
  const unsigned d = depth == 0 ? 1 : depth;
  // Initial priorities: a random permutation of d .. d+threads-1, above the
  // d-1 change-point priorities 1 .. d-1.
  std::vector<std::uint64_t> prio(threads);
  for (unsigned i = 0; i < threads; ++i) prio[i] = d + i;
  for (unsigned i = threads; i > 1; --i) std::swap(prio[i - 1], prio[mix(state) % i]);
  priority_ = std::move(prio);
  const std::uint64_t k = steps == 0 ? 1 : steps;
  for (unsigned i = 1; i < d; ++i) change_steps_.push_back(1 + mix(state) % k);
}

unsigned PctChooser::choose(unsigned current, ThreadSet enabled) {
  ++step_;
  // At the i-th change point the running thread drops to priority d - i,
  // below every initial priority and below earlier change points.
  for (std::size_t i = 0; i < change_steps_.size(); ++i) {
    if (change_steps_[i] == step_ && current < priority_.size()) priority_[current] = change_steps_.size() - i;
  }
  unsigned best = enabled.first();
  for (unsigned t : enabled)
    if (priority_[t] > priority_[best]) best = t;
  return best;
}

// ---- bounded exhaustive exploration ---------------------------------------
//
// Depth-first over the tree of schedules: a node is a decision (a point with
// a choice), its first child the non-preempting default (the current thread
// if it can run, else the next enabled one round-robin), its other children
// the alternatives whose preemption count stays within the bound, tried
// highest thread first. The path to the node being explored is one stack of
// frames, each holding the choice taken there and the alternatives not yet
// tried, so a new schedule costs no copy of its prefix: it is the choices on
// the stack, then the default.

namespace {

struct Frame {
  unsigned chosen = 0;  // the choice on the current path
  ThreadSet untried;    // alternatives within the bound not yet explored, highest first
};

// Follows the forced prefix (the stack's choices), then the default, and
// pushes a frame for every decision past the prefix.
class PrefixChooser final : public Chooser {
 public:
  PrefixChooser(std::vector<Frame>& stack, unsigned bound) : stack_(stack), forced_(stack.size()), bound_(bound) {}
  unsigned choose(unsigned current, ThreadSet enabled) override {
    const bool current_enabled = enabled.contains(current);
    unsigned chosen;
    if (decisions_ < forced_) {
      chosen = stack_[decisions_].chosen;
    } else {
      chosen = current_enabled ? current : enabled.at_or_after(current + 1);
      // The alternatives here: a switch away from a runnable current thread
      // costs a preemption; anything else is free.
      Frame f;
      f.chosen = chosen;
      for (unsigned alt : enabled) {
        if (alt == chosen) continue;
        const unsigned cost = preemptions_ + ((current_enabled && alt != current) ? 1 : 0);
        if (cost <= bound_) f.untried.add(alt);
      }
      stack_.push_back(f);
    }
    ++decisions_;
    if (current_enabled && chosen != current) ++preemptions_;
    return chosen;
  }

 private:
  std::vector<Frame>& stack_;
  std::size_t forced_;
  unsigned bound_;
  std::size_t decisions_ = 0;
  unsigned preemptions_ = 0;
};

}  // namespace

Exploration explore_bounded(unsigned preemption_bound, std::size_t max_runs, const std::function<bool(Chooser&)>& once) {
  Exploration ex;
  std::vector<Frame> stack;
  for (;;) {
    if (ex.runs >= max_runs) return ex;
    PrefixChooser chooser(stack, preemption_bound);
    ++ex.runs;
    if (once(chooser)) {
      ex.stopped = true;
      return ex;
    }
    // The next schedule: the deepest decision with an untried alternative
    // takes its highest one; deeper frames are done.
    while (!stack.empty() && stack.back().untried.empty()) stack.pop_back();
    if (stack.empty()) break;
    Frame& f = stack.back();
    f.chosen = f.untried.last();
    f.untried.remove(f.chosen);
  }
  ex.exhausted = true;
  return ex;
}

// ---- the scheduled locks --------------------------------------------------

bool Mutex::free(const void* self) { return !static_cast<const Mutex*>(self)->held_.load(std::memory_order_relaxed); }

void Mutex::lock() {
  point();
  while (!m_.try_lock()) wait_until(&Mutex::free, this, "a mutex");
  held_.store(true, std::memory_order_relaxed);
}

bool Mutex::try_lock() {
  point();
  if (!m_.try_lock()) return false;
  held_.store(true, std::memory_order_relaxed);
  return true;
}

void Mutex::unlock() {
  point();
  held_.store(false, std::memory_order_relaxed);
  m_.unlock();
}

bool SharedMutex::free_for_write(const void* self) {
  const auto* m = static_cast<const SharedMutex*>(self);
  return !m->writer_.load(std::memory_order_relaxed) && m->readers_.load(std::memory_order_relaxed) == 0;
}

bool SharedMutex::free_for_read(const void* self) {
  return !static_cast<const SharedMutex*>(self)->writer_.load(std::memory_order_relaxed);
}

void SharedMutex::lock() {
  point();
  while (!m_.try_lock()) wait_until(&SharedMutex::free_for_write, this, "a shared mutex (exclusive)");
  writer_.store(true, std::memory_order_relaxed);
}

bool SharedMutex::try_lock() {
  point();
  if (!m_.try_lock()) return false;
  writer_.store(true, std::memory_order_relaxed);
  return true;
}

void SharedMutex::unlock() {
  point();
  writer_.store(false, std::memory_order_relaxed);
  m_.unlock();
}

void SharedMutex::lock_shared() {
  point();
  while (!m_.try_lock_shared()) wait_until(&SharedMutex::free_for_read, this, "a shared mutex (shared)");
  readers_.fetch_add(1, std::memory_order_relaxed);
}

bool SharedMutex::try_lock_shared() {
  point();
  if (!m_.try_lock_shared()) return false;
  readers_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void SharedMutex::unlock_shared() {
  point();
  readers_.fetch_sub(1, std::memory_order_relaxed);
  m_.unlock_shared();
}

}  // namespace gomap_harness::sched
