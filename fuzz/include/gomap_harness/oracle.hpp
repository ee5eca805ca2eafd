// gomap_harness/oracle.hpp — what the map should hold, and what an iterator
// may still yield: the executor's two models.
//
// Oracle: the contents, as a std::unordered_map keyed by the target's
// oracle_key, so -0.0 and +0.0 are one entry whose stored key is the last one
// written. NaN entries are kept only as counts per representation, since no
// lookup can name one, so their payloads are still checked.
//
// IterationModel: Go's guarantees for one live iterator:
//   - no key is yielded twice (unless erased and re-inserted in between);
//   - a yielded key is in the map now, so it was never erased before being
//     reached unless re-inserted, and it was present at the start or
//     inserted since;
//   - the value yielded is the current one, and so is the key's
//     representation (the sign of a zero);
//   - when the iterator ends, every key present at its start and never
//     erased since was yielded; NaN entries are held to the same rule by count.
// What an iterator has yielded lives in the oracle's entries, one stamp per
// iterator slot, so a yield, an erase and a start cost no allocation and no
// copy of the key set: an erased entry leaves the oracle and takes its stamps
// with it (a re-inserted key is a new entry, with none), and "present at the
// start" is "inserted before the start" (Entry::born), since an entry that
// was erased since is no longer there. The oracle allocates from the run's
// pool (see Executor): under ASan a malloc per oracle op would cost more
// than the engine op it checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>
#include <string>
#include <unordered_map>
#include <array>

#include "gomap_harness/failure.hpp"
#include "gomap_harness/program.hpp"

namespace gomap_harness {

template <class T>
class Oracle {
 public:
  using Key = typename T::Key;
  using OKey = typename T::OracleKey;
  struct Entry {
    Key stored;
    std::uint64_t value;
    std::uint64_t born = 0;  // Oracle::inserts() when the key was inserted (not when it was last assigned)
    // The iteration (IterationModel::id) of each iterator slot that yielded
    // this entry; a stale id means not yielded by the slot's current one.
    std::array<std::uint64_t, kMaxIterators> yielded_by{};
    // The compare() that last saw it in its iteration (each key once).
    mutable std::uint64_t seen_by = 0;
  };
  // NaN entries: no lookup can name one, so only how many there are of each
  // representation (payload, and a struct's other fields).
  struct NanEntries {
    explicit NanEntries(std::pmr::memory_resource* r) : by_repr(r) {}
    std::size_t count = 0;
    std::pmr::unordered_map<OKey, std::size_t, std::hash<OKey>, typename T::OracleEqual> by_repr;
    void add(const OKey& k) {
      ++count;
      ++by_repr[k];
    }
    void clear() {
      count = 0;
      by_repr.clear();
    }
  };
  using Entries = std::pmr::unordered_map<OKey, Entry, std::hash<OKey>, typename T::OracleEqual>;

  explicit Oracle(std::pmr::memory_resource* r) : pool_(r), entries_(r), nans_(r) {}

  std::size_t size() const { return entries_.size() + nans_.count; }
  const Entries& entries() const { return entries_; }
  const NanEntries& nans() const { return nans_; }
  // The entry of a key that is not NaN, or nullptr.
  const Entry* find(const Key& k) const {
    if (T::is_nan(k)) return nullptr;
    const auto it = entries_.find(T::oracle_key(k));
    return it == entries_.end() ? nullptr : &it->second;
  }
  bool contains(const Key& k) const { return find(k) != nullptr; }
  Entry* find_entry(const OKey& ok) {
    const auto it = entries_.find(ok);
    return it == entries_.end() ? nullptr : &it->second;
  }
  Entries& entries() { return entries_; }
  // Keys inserted so far (the next Entry::born), and fresh iteration ids.
  std::uint64_t inserts() const { return inserts_; }
  std::uint64_t new_iteration_id() { return ++iterations_; }

  void clear() {
    entries_.clear();
    nans_.clear();
  }
  // Stores `k` as written (its representation) with value code `v`.
  void insert(const Key& k, std::uint64_t v) {
    if (T::is_nan(k)) {
      nans_.add(T::oracle_key(k));
      return;
    }
    const OKey& ok = T::oracle_key(k);  // a reference where the target's oracle key is the key itself
    auto it = entries_.find(ok);
    if (it == entries_.end()) {
      entries_.emplace(ok, Entry{k, v, inserts_++});
    } else {
      it->second.stored = k;
      it->second.value = v;
    }
  }
  void erase(const OKey& ok) { entries_.erase(ok); }

  // One full iteration of `m`, an engine adapter (each key once, current
  // values, every entry: together a bijection with the oracle) and, with
  // `lookups`, a get() of every key. Failures belong to `rule` and are
  // prefixed by `what`.
  template <class Adapter>
  void compare(const Adapter& m, Rule rule, const char* what, bool lookups) const {
    GOMAP_EXPECT(m.size() == size(), rule, std::string(what) + ": size", std::to_string(size()), std::to_string(m.size()));
    if (lookups) for (const auto& [ok, e] : entries_) {
      const std::optional<std::uint64_t> v = m.get(e.stored);
      if (!v) fail_check(rule, std::string(what) + ": every oracle key is found", T::show_key(e.stored) + " present", "absent");
      GOMAP_EXPECT(*v == e.value, rule, std::string(what) + ": every value matches",
                   T::show_key(e.stored) + " = " + std::to_string(e.value), std::to_string(*v));
    }
    std::size_t total = 0;
    const std::uint64_t stamp = ++compares_;  // marks the entries this iteration yielded
    NanEntries nans(pool_);
    m.for_each([&](const Key& k, std::uint64_t v) {
      ++total;
      if (T::is_nan(k)) {
        nans.add(T::oracle_key(k));
        return;
      }
      const OKey& ok = T::oracle_key(k);
      const auto it = entries_.find(ok);
      if (it == entries_.end()) fail_check(rule, std::string(what) + ": iteration yields only oracle keys", "absent", T::show_key(k));
      const Entry& e = it->second;
      if (e.seen_by == stamp) fail_check(rule, std::string(what) + ": iteration yields each key once", "once", T::show_key(k) + " twice");
      e.seen_by = stamp;
      GOMAP_EXPECT(T::same_representation(k, e.stored), rule, std::string(what) + ": stored key is the last written",
                   T::show_key(e.stored), T::show_key(k));
      GOMAP_EXPECT(v == e.value, rule, std::string(what) + ": iteration yields current values",
                   std::to_string(e.value), std::to_string(v));
    });
    GOMAP_EXPECT(nans.count == nans_.count, rule, std::string(what) + ": NaN entries", std::to_string(nans_.count),
                 std::to_string(nans.count));
    GOMAP_EXPECT(nans.by_repr == nans_.by_repr, rule, std::string(what) + ": NaN keys keep their payloads",
                 "the NaN keys as written", "NaN keys with other payloads");
    GOMAP_EXPECT(total == size(), rule, std::string(what) + ": iteration yields every entry", std::to_string(size()),
                 std::to_string(total));
  }

 private:
  std::pmr::memory_resource* pool_;
  Entries entries_;
  NanEntries nans_;
  std::uint64_t inserts_ = 0;
  std::uint64_t iterations_ = 0;
  mutable std::uint64_t compares_ = 0;
};

// Go's guarantees for one live iterator (in iterator slot `slot`) over the
// map the oracle models. Its key sets are in the oracle's entries:
//   required (present at start, never erased since): entries born before `start`;
//   yielded (and not erased since): entries whose yielded_by[slot] is `id`;
//   ever yielded, which the end checks for the required keys only: for them
//   it is the same as yielded, as they were never erased.
template <class T>
struct IterationModel {
  using Key = typename T::Key;
  using OKey = typename T::OracleKey;

  explicit IterationModel(unsigned s) : slot(s) {}
  unsigned slot;
  std::uint64_t id = 0;     // this iteration, unique in the run (Oracle::new_iteration_id)
  std::uint64_t start = 0;  // Oracle::inserts() when it started
  std::size_t nan_required = 0;  // NaN entries present at start, not cleared since
  std::size_t nan_budget = 0;    // NaN entries that may still be yielded
  std::size_t nan_yielded = 0;

  // The iterator starts over the map the oracle holds now.
  void start_over(Oracle<T>& oracle) {
    id = oracle.new_iteration_id();
    start = oracle.inserts();
    nan_required = nan_budget = oracle.nans().count;
    nan_yielded = 0;
  }
  // This slot's iterator becomes a copy of `from`'s (another slot): same
  // start, and the same keys yielded, under an id of its own.
  void copy_from(Oracle<T>& oracle, const IterationModel& from) {
    id = oracle.new_iteration_id();
    start = from.start;
    nan_required = from.nan_required;
    nan_budget = from.nan_budget;
    nan_yielded = from.nan_yielded;
    for (auto& [ok, e] : oracle.entries()) e.yielded_by[slot] = e.yielded_by[from.slot] == from.id ? id : 0;
  }
  void on_insert_nan() { ++nan_budget; }
  void on_clear() {
    nan_required = 0;
    nan_budget = 0;
  }

  // The iterator yielded `k` with value code `v`.
  void on_yield(Oracle<T>& oracle, const Key& k, std::uint64_t v) {
    if (T::is_nan(k)) {
      GOMAP_EXPECT(nan_budget > 0, Rule::Iteration, "iteration yields each NaN entry at most once, and only live ones",
                   "at most " + std::to_string(nan_yielded) + " NaN yields", "another NaN");
      GOMAP_EXPECT(oracle.nans().by_repr.count(T::oracle_key(k)) != 0, Rule::Iteration,
                   "iteration yields a NaN key as it was written (payload)", "one of the NaN keys in the map",
                   "a NaN key never written: " + T::show_key(k));
      --nan_budget;
      ++nan_yielded;
      return;
    }
    typename Oracle<T>::Entry* e = oracle.find_entry(T::oracle_key(k));
    if (!e) {
      fail_check(Rule::Iteration, "iteration yields only keys in the map (never one erased before it was reached)",
                 T::show_key(k) + " absent", "yielded " + T::show_key(k));
    }
    GOMAP_EXPECT(e->yielded_by[slot] != id, Rule::Iteration, "iteration never yields a key twice", "yielded once",
                 T::show_key(k) + " yielded again");
    GOMAP_EXPECT(v == e->value, Rule::Iteration, "iteration yields the current value",
                 T::show_key(k) + " = " + std::to_string(e->value), std::to_string(v));
    GOMAP_EXPECT(T::same_representation(k, e->stored), Rule::Iteration, "iteration yields the key as last written",
                 T::show_key(e->stored), T::show_key(k));
    e->yielded_by[slot] = id;
  }

  // The iterator (slot `i`) reported that it is done.
  void on_done(const Oracle<T>& oracle, unsigned i) const {
    for (const auto& [ok, e] : oracle.entries()) {
      if (e.born < start && e.yielded_by[slot] != id) {
        fail_check(Rule::Iteration, "a finished iteration yielded every key present throughout",
                   "yielded " + T::show_key(e.stored), "iterator " + std::to_string(i) + " never yielded it");
      }
    }
    GOMAP_EXPECT(nan_yielded >= nan_required, Rule::Iteration, "a finished iteration yielded every NaN entry",
                 std::to_string(nan_required) + " NaN entries", std::to_string(nan_yielded));
  }
};

}  // namespace gomap_harness
