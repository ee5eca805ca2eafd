// gomap/detail/rc.hpp — intrusive reference counting for gomap::SyncMap:
// RcBox (a heap object with a count), RcRef (an owned reference) and
// AtomicRc (a slot any thread may take a reference from without a lock: a
// split reference count). Why SyncMap needs them, and the memory orders, are
// in the essay at the top of gomap/sync_map.hpp ("Memory reclamation without
// a GC", "Memory order"); AtomicRc below states its invariant in full.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "gomap/sync_policy.hpp"

namespace gomap::detail {

// A heap object with an intrusive reference count. `value` is immutable once
// the box is shared. `refs` is signed: see AtomicRc for how it is kept.
// Sync: the sync policy (gomap/sync_policy.hpp) the count's atomic comes from.
template <class T, class Sync = StdSync>
struct RcBox {
  typename Sync::template atomic<std::int64_t> refs;
  T value;
  template <class... A>
  explicit RcBox(A&&... a) : refs(1), value(std::forward<A>(a)...) {}
};

// Tagged values an RcRef/AtomicRc may hold instead of a box. Boxes are at
// least 8-byte aligned, so these never collide with one.
inline constexpr std::uintptr_t kRcNull = 0;
inline constexpr std::uintptr_t kRcTag1 = 1;

inline bool rc_counted(std::uintptr_t bits) noexcept { return bits > kRcTag1; }

// An owned reference to an RcBox<T, Sync>, or one of the tags (which own nothing).
template <class T, class Sync = StdSync>
class RcRef {
 public:
  RcRef() = default;
  template <class... A>
  static RcRef make(A&&... a) {
    return adopt(reinterpret_cast<std::uintptr_t>(new RcBox<T, Sync>(std::forward<A>(a)...)));
  }
  static RcRef tag(std::uintptr_t t) noexcept { return adopt(t); }
  // Takes over a reference the caller already owns (bits from release()).
  static RcRef adopt(std::uintptr_t bits) noexcept {
    RcRef r;
    r.bits_ = bits;
    return r;
  }

  RcRef(RcRef&& o) noexcept : bits_(std::exchange(o.bits_, kRcNull)) {}
  RcRef& operator=(RcRef&& o) noexcept {
    if (this != &o) {
      reset();
      bits_ = std::exchange(o.bits_, kRcNull);
    }
    return *this;
  }
  RcRef(const RcRef&) = delete;
  RcRef& operator=(const RcRef&) = delete;
  ~RcRef() { reset(); }

  // A second reference to the same box (the caller already holds one, so the
  // box is alive; relaxed is enough, as for shared_ptr copies).
  RcRef share() const noexcept {
    if (rc_counted(bits_)) box()->refs.fetch_add(1, std::memory_order_relaxed);
    return adopt(bits_);
  }
  void reset() noexcept {
    if (rc_counted(bits_)) add(box(), -1);
    bits_ = kRcNull;
  }
  std::uintptr_t release() noexcept { return std::exchange(bits_, kRcNull); }

  std::uintptr_t bits() const noexcept { return bits_; }
  bool counted() const noexcept { return rc_counted(bits_); }
  const T& operator*() const noexcept { return box()->value; }
  const T* operator->() const noexcept { return &box()->value; }

  static RcBox<T, Sync>* box_of(std::uintptr_t bits) noexcept { return reinterpret_cast<RcBox<T, Sync>*>(bits); }
  // Adds `delta` to the count; whoever brings it to exactly zero deletes the
  // box (acq_rel: after every other party's last use of it).
  static void add(RcBox<T, Sync>* b, std::int64_t delta) noexcept {
    if (b->refs.fetch_add(delta, std::memory_order_acq_rel) + delta == 0) delete b;
  }

 private:
  RcBox<T, Sync>* box() const noexcept { return box_of(bits_); }
  std::uintptr_t bits_ = kRcNull;
};

// An atomic slot holding a box (or a tag), from which any thread may take a
// reference of its own without a lock: a split reference count.
//
// The slot word packs the box pointer (low 48 bits) and the number of loans
// out on it (high 16 bits). A reader
//   1. borrows: CAS the word to loans + 1 (acquire). While the loan stands,
//      the box cannot be freed (below);
//   2. takes a reference of its own: refs + 1;
//   3. returns the loan: CAS the word to loans - 1 if it still names the box.
//      If the box was replaced meanwhile, the replacer has taken the loan
//      over as a debt (below), and the reader pays it: refs - 1.
// While a box sits in a slot its count carries a bias kInSlot (far larger
// than any number of readers): publishing a box turns the publisher's
// reference into that bias. The writer that takes a box out of a slot (one
// exchange/CAS of the whole word) then adds, in one read-modify-write,
//   (loans still out) - kInSlot (+ 1 if it keeps a reference for itself),
// taking the loans over as debts that their readers pay with step 3's -1.
// So the count is: references held, plus kInSlot while the box is in a slot,
// plus loans taken over and not yet paid, minus debts paid before they were
// taken over. Every party that may still touch the box is counted, a reader
// by its loan (in the word, or taken over) or by its own reference; a debt
// paid early only lowers a count that still carries the bias. Hence the count
// is never zero while any party may touch the box, it reaches zero exactly
// once, and the party that brings it there deletes the box (acq_rel, so after
// every other party's last access).
//
// Rule: a box is published into a slot at most once (every store publishes a
// freshly made box). With the reader holding its own reference while it
// checks whether the word still names the box, this rules out ABA there.
template <class T, class Sync = StdSync>
class AtomicRc {
  using Ref = RcRef<T, Sync>;
  static constexpr unsigned kPtrBits = 48;
  static constexpr std::uint64_t kPtrMask = (std::uint64_t(1) << kPtrBits) - 1;
  static constexpr std::uint64_t kLoan = std::uint64_t(1) << kPtrBits;
  static constexpr std::int64_t kInSlot = std::int64_t(1) << 40;
  static_assert(sizeof(std::uintptr_t) == 8, "gomap::AtomicRc packs a pointer and a count into 64 bits");

 public:
  explicit AtomicRc(Ref init) : word_(publishable(init)) {}
  AtomicRc(const AtomicRc&) = delete;
  AtomicRc& operator=(const AtomicRc&) = delete;
  // The owner guarantees that no thread still uses the slot (no loans).
  ~AtomicRc() { (void)take_out(word_.load(std::memory_order_acquire), false); }

  // A reference to the current box, or the current tag.
  Ref load() const noexcept {
    constexpr std::memory_order kBorrow = std::memory_order_acquire;
    std::uint64_t cur = word_.load(kBorrow);
    std::uintptr_t p;
    for (;;) {
      p = cur & kPtrMask;
      if (!rc_counted(p)) return Ref::tag(p);  // nothing to pin
      if (word_.compare_exchange_weak(cur, cur + kLoan, kBorrow, kBorrow)) break;
    }
    RcBox<T, Sync>* b = Ref::box_of(p);
    b->refs.fetch_add(1, std::memory_order_relaxed);  // safe: our loan pins b
    // Return the loan. Our reference keeps b alive and b is never published
    // again, so the word names b only if b was not taken out since we
    // borrowed, and then our loan is still counted in it.
    std::uint64_t now = word_.load(std::memory_order_relaxed);
    for (;;) {
      if ((now & kPtrMask) != p) {
        Ref::add(b, -1);  // taken out: pay the loan the writer took over
        break;
      }
      if (word_.compare_exchange_weak(now, now - kLoan, std::memory_order_relaxed, std::memory_order_relaxed)) break;
    }
    return Ref::adopt(p);
  }

  // The current pointer bits, for comparisons only: never dereference them.
  std::uintptr_t peek() const noexcept { return word_.load(std::memory_order_relaxed) & kPtrMask; }

  // Publishes `desired`; returns a reference to what the slot held.
  Ref exchange(Ref desired) noexcept {
    const std::uint64_t old = word_.exchange(publishable(desired), std::memory_order_acq_rel);
    return take_out(old, true);
  }

  // If the slot holds `expected` (pointer bits), publishes `desired` (taking
  // it from the caller) and stores a reference to the old box in *old_out (or
  // drops it). Otherwise leaves both alone and returns false.
  bool compare_exchange(std::uintptr_t expected, Ref& desired, Ref* old_out = nullptr) noexcept {
    std::uint64_t cur = word_.load(std::memory_order_relaxed);
    if ((cur & kPtrMask) != expected) return false;
    const std::uint64_t want = publishable(desired);
    for (;;) {
      // The loans may change under us; retry until only the pointer decides.
      if (word_.compare_exchange_weak(cur, want, std::memory_order_acq_rel, std::memory_order_relaxed)) break;
      if ((cur & kPtrMask) != expected) {
        desired = unpublish(want);
        return false;
      }
    }
    Ref old = take_out(cur, old_out != nullptr);
    if (old_out) *old_out = std::move(old);
    return true;
  }

 private:
  // Turns the caller's reference into the in-slot bias; returns the word.
  static std::uint64_t publishable(Ref& r) noexcept {
    const std::uintptr_t bits = r.release();
    if ((bits & ~kPtrMask) != 0) {
      std::fprintf(stderr, "fatal error: gomap::AtomicRc: pointer %p does not fit in 48 bits\n",
                   reinterpret_cast<void*>(bits));
      std::abort();
    }
    if (rc_counted(bits)) Ref::box_of(bits)->refs.fetch_add(kInSlot - 1, std::memory_order_relaxed);
    return bits;
  }
  // Undoes publishable() for a box that was never made visible.
  static Ref unpublish(std::uint64_t word) noexcept {
    if (rc_counted(word)) Ref::box_of(word)->refs.fetch_add(1 - kInSlot, std::memory_order_relaxed);
    return Ref::adopt(word);
  }
  // The box of `old` (a word just taken out of the slot) leaves the slot:
  // its bias goes, the loans still out on it become debts its borrowers pay,
  // and the caller gets a reference if it asks for one.
  static Ref take_out(std::uint64_t old, bool keep) noexcept {
    const std::uintptr_t p = old & kPtrMask;
    if (!rc_counted(p)) return Ref::tag(p);
    const std::int64_t loans = static_cast<std::int64_t>(old >> kPtrBits);
    Ref::add(Ref::box_of(p), loans - kInSlot + (keep ? 1 : 0));
    return keep ? Ref::adopt(p) : Ref::tag(kRcNull);
  }

  mutable typename Sync::template atomic<std::uint64_t> word_;
};

}  // namespace gomap::detail
