// gomap/sync_map.hpp — Go's sync.Map (the read/dirty design used up to Go
// 1.23), in C++20, built on gomap::Map.
//
// What it is. A map that many threads may use at once without a lock of
// their own: load, store, load_or_store, load_and_delete, erase, swap,
// compare_and_swap, compare_and_delete, range and clear, with the semantics
// of Go's sync.Map (Load, Store, LoadOrStore, LoadAndDelete, Delete, Swap,
// CompareAndSwap, CompareAndDelete, Range, Clear). Like Go's, it pays off
// when keys are written once and read many times, or when threads work on
// disjoint keys; for everything else gomap::ShardedMap (sharded_map.hpp) is
// the simpler choice.
//
// Design (as in Go).
//  * read_: an immutable snapshot {m, amended}, published through an atomic
//    slot. m maps each key to a shared Entry; the map itself is never
//    written after it is published, so any number of threads look keys up
//    in it, and iterate it, without a lock (gomap::Map allows concurrent
//    readers). amended says that dirty_ holds keys m does not.
//  * dirty_: a gomap::Map guarded by mu_. When it exists it holds every key
//    of read_.m whose entry is not expunged, plus the new keys. "No dirty
//    map" (std::nullopt) is Go's nil map.
//  * Entry: one atomic slot per key, shared by read_.m and dirty_, holding
//    the current value (an immutable heap box), or null (deleted; if dirty_
//    exists the entry is still in it), or the "expunged" tag (deleted and
//    absent from dirty_). Values change by atomic replacement of the box, so
//    a store to a key already in read_ takes no lock at all.
//  * misses_: loads that had to take mu_ because the key was not in read_.
//    Once there are as many as dirty_ has entries, dirty_ is promoted: it
//    becomes the new read_ (not amended) and dirty_ goes back to nil; the
//    next new key copies read_ into a fresh dirty_, turning deleted (null)
//    entries into expunged ones and leaving them out.
//  * A key in read_ whose entry is expunged can only get a value again
//    under mu_: the entry is first un-expunged and put back into dirty_, so
//    that the next promotion keeps it. Skipping that step loses the write.
//
// Memory reclamation without a GC. Go leaves old snapshots, old value boxes
// and unreachable entries to its collector. Here:
//  * Snapshots and value boxes are detail::RcBox objects with an intrusive
//    reference count, published through detail::AtomicRc slots. A reader
//    never dereferences a box it has not first pinned with a reference of
//    its own, and a box is freed only when its count reaches zero, so no
//    reader ever touches freed memory.
//  * Taking a reference from a slot is the delicate step (the box could be
//    replaced and freed between reading the pointer and incrementing its
//    count). AtomicRc uses a split reference count: the slot word holds the
//    pointer (low 48 bits) and a count of in-flight "loans" (high 16 bits).
//    A reader first adds a loan to the slot word with one CAS, which pins
//    whatever box the word names; then it increments the box's own count
//    and gives the loan back. A writer that takes the box out of the slot
//    (one atomic exchange/CAS of the whole word) takes the outstanding loans
//    over as debts, which their readers pay back on the box's count. While
//    a box is in a slot its count carries a large bias, so a debt paid
//    before the writer took it over can never bring the count to zero: the
//    count reaches zero exactly once, after every party's last access, and
//    that party deletes the box (acq_rel). detail::AtomicRc states the
//    invariant in full.
//  * Entries are std::shared_ptr-owned by the maps that hold them (read_.m
//    and dirty_). A reader that found an entry in a snapshot it has pinned
//    uses it directly: the snapshot keeps its map, and the map its entries,
//    alive. An entry found in dirty_ under mu_ is copied out as a shared_ptr
//    before mu_ is released.
//  Limits: pointers must fit in 48 bits (x86-64 and AArch64 Linux user space
//  without pointer tagging; checked at run time) and at most 65535 threads
//  may be between the two steps of a load on one slot at the same time.
//
// Memory order. A store publishes a fully built box or snapshot with a
// release operation (exchange/CAS); a reader takes its loan with an acquire
// CAS, which synchronises with that release (directly or through the release
// sequence of later read-modify-writes on the same word). So a write
// "happens before" any read that observes it, as Go documents. Counts are
// decremented acq_rel, so that a box's destruction happens after every use.
// There are no standalone fences (ThreadSanitizer does not model them).
//
// Range. Takes no snapshot of values: it promotes dirty_ if read_ is amended
// (so every key present when range starts is in the map it walks), pins that
// snapshot, and walks its map, loading each entry's current value as it
// reaches it and skipping deleted entries. No key is visited twice (the map
// holds each key once); a value may reflect any write made during the range;
// keys added during the range may or may not be visited. fn runs with no lock
// held and may call any method, erase and clear included.
//
// Clear (Go 1.23). Publishes a new, empty snapshot and empties dirty_. An
// operation racing with clear that still works on the old snapshot behaves
// as if it ran before the clear (per key, clear is an erase at some moment
// during the call).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "gomap/detail/rc.hpp"
#include "gomap/hash.hpp"
#include "gomap/map.hpp"
#include "gomap/sync_policy.hpp"

namespace gomap {

// Sync: where the atomics and the mutex come from (gomap/sync_policy.hpp);
// the default is the std types.
template <class K, class V, class Hash = gomap::Hash<K>, class Eq = gomap::Equal<K>, SyncPolicy Sync = StdSync>
class SyncMap {
  using Mutex = typename Sync::mutex;
  struct Entry;
  using EntryPtr = std::shared_ptr<Entry>;
  using Inner = Map<K, EntryPtr, Hash, Eq>;
  using ValueRef = detail::RcRef<V, Sync>;

  // Go's readOnly. Two snapshots may share one map (store of the first new
  // key republishes read_.m with amended set).
  struct ReadOnly {
    std::shared_ptr<const Inner> m;
    bool amended = false;
  };
  using SnapRef = detail::RcRef<ReadOnly, Sync>;

  static constexpr std::uintptr_t kDeleted = detail::kRcNull;
  static constexpr std::uintptr_t kExpunged = detail::kRcTag1;

  // One key's value slot; see the essay for its three states.
  struct Entry {
    detail::AtomicRc<V, Sync> p;
    explicit Entry(ValueRef v) : p(std::move(v)) {}

    std::optional<V> load() const {
      ValueRef r = p.load();
      if (!r.counted()) return std::nullopt;
      return *r;
    }

    // Go's trySwap: replaces the value unless the entry is expunged. On
    // success `nv` is consumed and *prev holds the previous value, if any.
    bool try_swap(ValueRef& nv, std::optional<V>* prev) {
      for (;;) {
        const std::uintptr_t cur = p.peek();
        if (cur == kExpunged) return false;
        ValueRef old;
        if (p.compare_exchange(cur, nv, &old)) {
          if (prev && old.counted()) *prev = *old;
          return true;
        }
      }
    }

    // Go's swapLocked: the entry is known not to be expunged (mu_ held).
    std::optional<V> swap_locked(ValueRef nv) {
      ValueRef old = p.exchange(std::move(nv));
      if (!old.counted()) return std::nullopt;
      return *old;
    }

    // Go's unexpungeLocked: true if the entry was expunged (and must now be
    // put back into dirty_ before mu_ is released).
    bool unexpunge_locked() {
      ValueRef deleted = ValueRef::tag(kDeleted);
      return p.compare_exchange(kExpunged, deleted);
    }

    // Go's tryExpungeLocked: turns a deleted entry into an expunged one.
    bool try_expunge_locked() {
      std::uintptr_t cur = p.peek();
      while (cur == kDeleted) {
        ValueRef expunged = ValueRef::tag(kExpunged);
        if (p.compare_exchange(kDeleted, expunged)) return true;
        cur = p.peek();
      }
      return cur == kExpunged;
    }

    // Go's tryLoadOrStore: false if expunged; else fills *out.
    bool try_load_or_store(const V& value, ValueRef& nv, std::pair<V, bool>* out) {
      ValueRef r = p.load();
      for (;;) {
        if (r.bits() == kExpunged) return false;
        if (r.counted()) {
          *out = {*r, true};
          return true;
        }
        if (!nv.counted()) nv = ValueRef::make(value);
        if (p.compare_exchange(kDeleted, nv)) {
          *out = {value, false};
          return true;
        }
        r = p.load();
      }
    }

    // Go's tryCompareAndSwap. The box compared is pinned (r), so the CAS
    // below cannot succeed against a different box at the same address.
    bool try_compare_and_swap(const V& old, const V& new_value, ValueRef& nv) {
      ValueRef r = p.load();
      for (;;) {
        if (!r.counted() || !(*r == old)) return false;
        if (!nv.counted()) nv = ValueRef::make(new_value);
        if (p.compare_exchange(r.bits(), nv)) return true;
        r = p.load();
      }
    }

    // Go's entry.delete: the value it removed, if any.
    std::optional<V> remove() {
      for (;;) {
        const std::uintptr_t cur = p.peek();
        if (!detail::rc_counted(cur)) return std::nullopt;
        ValueRef deleted = ValueRef::tag(kDeleted);
        ValueRef old;
        if (p.compare_exchange(cur, deleted, &old)) return *old;
      }
    }

    bool compare_and_delete(const V& old) {
      for (;;) {
        ValueRef r = p.load();
        if (!r.counted() || !(*r == old)) return false;
        ValueRef deleted = ValueRef::tag(kDeleted);
        if (p.compare_exchange(r.bits(), deleted)) return true;
      }
    }
  };

 public:
  using key_type = K;
  using mapped_type = V;

  SyncMap() : SyncMap(Seed{detail::fresh_seed()}) {}
  // Seeded: the seeds of every internal map (and so the order in which range
  // walks a snapshot) derive from `seed`, so the same operations in the same
  // order behave the same in every run (see "Determinism" in gomap/map.hpp).
  explicit SyncMap(Seed seed) : seeds_(seed.value), read_(make_snapshot(fresh_inner_locked(), false)) {}
  SyncMap(const SyncMap&) = delete;
  SyncMap& operator=(const SyncMap&) = delete;
  ~SyncMap() = default;

  // Go: Load.
  std::optional<V> load(const K& key) const {
    SnapRef read = read_.load();
    const Entry* e = find_in(read, key);
    EntryPtr held;
    if (e == nullptr && read->amended) {
      std::lock_guard<Mutex> lock(mu_);
      // Re-check: dirty_ may have been promoted while we waited for mu_.
      read = read_.load();
      e = find_in(read, key);
      if (e == nullptr && read->amended) {
        if (const EntryPtr* d = dirty_->find(key)) {
          held = *d;
          e = held.get();
        }
        // Found or not, this key takes the slow path until the next promotion.
        miss_locked();
      }
    }
    if (e == nullptr) return std::nullopt;
    return e->load();
  }

  // Go: Store (Go 1.20+: a Swap whose result is dropped).
  void store(const K& key, V value) { (void)swap(key, std::move(value)); }

  // Go: Swap. The previous value, if the key was present.
  std::optional<V> swap(const K& key, V value) {
    ValueRef nv = ValueRef::make(std::move(value));
    {
      SnapRef read = read_.load();
      if (Entry* e = find_in(read, key)) {
        std::optional<V> prev;
        if (e->try_swap(nv, &prev)) return prev;
      }
    }
    std::lock_guard<Mutex> lock(mu_);
    SnapRef read = read_.load();
    if (const EntryPtr* e = find_ptr_in(read, key)) {
      if ((*e)->unexpunge_locked()) {
        // It was expunged, so dirty_ exists and lacks the key.
        dirty_->insert_or_assign(key, *e);
      }
      return (*e)->swap_locked(std::move(nv));
    }
    if (dirty_) {
      if (EntryPtr* d = dirty_->find(key)) return (*d)->swap_locked(std::move(nv));
    }
    add_new_key_locked(read, key, std::move(nv));
    return std::nullopt;
  }

  // Go: LoadOrStore. {existing value, true} or {value, false} if it stored.
  std::pair<V, bool> load_or_store(const K& key, V value) {
    ValueRef nv;  // made only if the value is stored
    std::pair<V, bool> out{value, false};
    {
      SnapRef read = read_.load();
      if (Entry* e = find_in(read, key)) {
        if (e->try_load_or_store(value, nv, &out)) return out;
      }
    }
    std::lock_guard<Mutex> lock(mu_);
    SnapRef read = read_.load();
    if (const EntryPtr* e = find_ptr_in(read, key)) {
      if ((*e)->unexpunge_locked()) dirty_->insert_or_assign(key, *e);
      (void)(*e)->try_load_or_store(value, nv, &out);  // cannot be expunged under mu_
      return out;
    }
    if (dirty_) {
      if (EntryPtr* d = dirty_->find(key)) {
        (void)(*d)->try_load_or_store(value, nv, &out);
        miss_locked();  // may promote dirty_: `d` is not used after this
        return out;
      }
    }
    if (!nv.counted()) nv = ValueRef::make(value);
    add_new_key_locked(read, key, std::move(nv));
    return {std::move(value), false};
  }

  // Go: LoadAndDelete. The value removed, if the key was present.
  std::optional<V> load_and_delete(const K& key) {
    SnapRef read;
    EntryPtr held;
    Entry* e = locate_for_delete(key, /*remove_from_dirty=*/true, read, held);
    if (e == nullptr) return std::nullopt;
    return e->remove();
  }

  // Go: Delete.
  void erase(const K& key) { (void)load_and_delete(key); }

  // Go: CompareAndSwap. False if the key is absent or its value != old.
  bool compare_and_swap(const K& key, const V& old, V new_) {
    ValueRef nv;
    {
      SnapRef read = read_.load();
      if (Entry* e = find_in(read, key)) return e->try_compare_and_swap(old, new_, nv);
      if (!read->amended) return false;  // no value for key
    }
    std::lock_guard<Mutex> lock(mu_);
    SnapRef read = read_.load();
    if (Entry* e = find_in(read, key)) return e->try_compare_and_swap(old, new_, nv);
    bool swapped = false;
    if (dirty_) {
      if (EntryPtr* d = dirty_->find(key)) {
        swapped = (*d)->try_compare_and_swap(old, new_, nv);
        // The key set did not change, but this key needed mu_: count a miss
        // so that the map moves toward the lock-free steady state.
        miss_locked();
      }
    }
    return swapped;
  }

  // Go: CompareAndDelete. False if the key is absent or its value != old.
  bool compare_and_delete(const K& key, const V& old) {
    // The key stays in dirty_ (the comparison may fail); its entry is
    // expunged at the next dirty_ copy if it ends up deleted.
    SnapRef read;
    EntryPtr held;
    Entry* e = locate_for_delete(key, /*remove_from_dirty=*/false, read, held);
    if (e == nullptr) return false;
    return e->compare_and_delete(old);
  }

  // Go: Range. fn(const K&, const V&) -> bool (false stops); see the essay.
  template <class F>
  void range(F&& fn) {
    SnapRef read = read_.load();
    if (read->amended) {
      // dirty_ holds keys read_ lacks. Range is O(n) anyway, so promoting
      // dirty_ now costs nothing extra and lets us walk one map.
      std::lock_guard<Mutex> lock(mu_);
      read = read_.load();
      if (read->amended) read = promote_locked();
    }
    const Inner& m = *read->m;
    for (auto it = m.cbegin(); it != m.cend(); ++it) {
      ValueRef v = it.value()->p.load();
      if (!v.counted()) continue;  // deleted or expunged
      if constexpr (std::is_convertible_v<std::invoke_result_t<F&, const K&, const V&>, bool>) {
        if (!fn(it.key(), *v)) return;
      } else {
        fn(it.key(), *v);
      }
    }
  }

  // Go 1.23: Clear.
  void clear() {
    {
      SnapRef read = read_.load();
      if (read->m->empty() && !read->amended) return;
    }
    std::lock_guard<Mutex> lock(mu_);
    SnapRef read = read_.load();
    if (!read->m->empty() || read->amended) read_.exchange(make_snapshot(fresh_inner_locked(), false));
    if (dirty_) dirty_->clear();
    // Do not promote the freshly emptied dirty_ at the next miss.
    misses_ = 0;
  }

 private:
  static SnapRef make_snapshot(std::shared_ptr<const Inner> m, bool amended) {
    return SnapRef::make(ReadOnly{std::move(m), amended});
  }
  // The seeds of internal maps: one splitmix64 stream per SyncMap. mu_ held
  // (or the constructor running).
  std::uint64_t next_seed_locked() const {
    seeds_ += detail::kSplitmixStep;
    return detail::splitmix_mix(seeds_);
  }
  std::shared_ptr<const Inner> fresh_inner_locked() const {
    return std::make_shared<const Inner>(0, Seed{next_seed_locked()});
  }

  static Entry* find_in(const SnapRef& read, const K& key) {
    const EntryPtr* e = read->m->find(key);
    return e ? e->get() : nullptr;
  }
  static const EntryPtr* find_ptr_in(const SnapRef& read, const K& key) { return read->m->find(key); }

  // The first new key since the last promotion copies read_ into dirty_ and
  // marks read_ amended; then the key goes into dirty_. mu_ held.
  // The entry a delete acts on: from the read snapshot without the lock,
  // else (the snapshot is amended) from dirty_ under mu_, counting a miss.
  // With remove_from_dirty the key also leaves dirty_. The caller owns
  // `read` (the snapshot that holds a read-side entry) and `held` (a dirty_
  // entry past its erase or a promotion by the miss): both keep the
  // returned entry alive while the caller uses it.
  Entry* locate_for_delete(const K& key, bool remove_from_dirty, SnapRef& read, EntryPtr& held) {
    read = read_.load();
    Entry* e = find_in(read, key);
    if (e != nullptr || !read->amended) return e;
    std::lock_guard<Mutex> lock(mu_);
    read = read_.load();
    e = find_in(read, key);
    if (e == nullptr && read->amended) {
      if (EntryPtr* d = dirty_->find(key)) {
        if (remove_from_dirty) {
          held = std::move(*d);
          dirty_->erase(key);
        } else {
          held = *d;
        }
        e = held.get();
      }
      miss_locked();
    }
    return e;
  }

  void add_new_key_locked(const SnapRef& read, const K& key, ValueRef nv) {
    if (!read->amended) {
      dirty_locked(read);
      read_.exchange(make_snapshot(read->m, true));
    }
    dirty_->insert_or_assign(key, std::make_shared<Entry>(std::move(nv)));
  }

  // Go's dirtyLocked. mu_ held; `read` is the current snapshot.
  void dirty_locked(const SnapRef& read) {
    if (dirty_) return;
    const Inner& m = *read->m;
    dirty_.emplace(m.size(), Seed{next_seed_locked()});
    for (auto it = m.cbegin(); it != m.cend(); ++it) {
      if (!it.value()->try_expunge_locked()) dirty_->insert_or_assign(it.key(), it.value());
    }
  }

  // Go's missLocked. mu_ held and dirty_ present.
  void miss_locked() const {
    ++misses_;
    if (misses_ < dirty_->size()) return;
    (void)promote_locked();
  }

  // dirty_ becomes read_ (not amended); returns a reference to the new
  // snapshot. mu_ held.
  SnapRef promote_locked() const {
    SnapRef fresh = make_snapshot(std::make_shared<const Inner>(std::move(*dirty_)), false);
    SnapRef mine = fresh.share();
    read_.exchange(std::move(fresh));
    dirty_.reset();
    misses_ = 0;
    return mine;
  }

  // load() counts misses and may promote, like Go's Load: logically const.
  mutable Mutex mu_;
  mutable std::uint64_t seeds_;  // guarded by mu_; declared before read_, which the constructor seeds from it
  mutable detail::AtomicRc<ReadOnly, Sync> read_;
  mutable std::optional<Inner> dirty_;  // guarded by mu_
  mutable std::size_t misses_ = 0;      // guarded by mu_
};

}  // namespace gomap
