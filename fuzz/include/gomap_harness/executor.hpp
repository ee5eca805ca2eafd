// gomap_harness/executor.hpp — the one executor: a program runs on
// gomap::Map and on the oracle side by side, checked after every op.
//
// The oracle is std::unordered_map for contents (keys folded by the target's
// oracle_key, so -0.0 and +0.0 are one entry whose stored key is the last one
// written; NaN entries are kept only as counts per representation, since no
// lookup can name one, so their payloads are checked). Each
// live engine iterator has an IterationModel that holds Go's guarantees:
//   - no key is yielded twice (unless erased and re-inserted in between);
//   - a yielded key is in the map now, so it was never erased before being
//     reached unless re-inserted, and it was present at the start or
//     inserted since;
//   - the value yielded is the current one, and so is the key's
//     representation (the sign of a zero);
//   - when the iterator ends, every key present at its start and never
//     erased since was yielded; NaN entries are held to the same rule by count.
// After every op the executor also checks size, the growth rule (Go's
// overLoadFactor/tooManyOverflowBuckets decide exactly when B changes), and
// in deep mode check_invariants(). The engine seed comes from the program, so
// every run of a program is the same run.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory_resource>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <gomap/map.hpp>

#include "gomap_harness/program.hpp"
#include "gomap_harness/state_space.hpp"
#include "gomap_harness/targets.hpp"

namespace gomap_harness {

struct Failure {
  std::size_t op_index = 0;  // index into Program::ops; ops.size() for end-of-program checks
  std::string op_text;
  std::string what;      // which rule broke
  std::string expected;  // what the oracle or the rule says
  std::string actual;    // what the engine did
};

struct RunResult {
  bool ok = true;
  std::optional<Failure> failure;
  std::size_t ops_run = 0;
};

// What the executor reports to a coverage observer after each op.
struct OpObservation {
  OpKind kind;
  gomap::Stats before;
  gomap::Stats after;
  unsigned live_iterators;
  bool nan_present = false;       // NaN entries in the map before the op
  std::uint8_t iter_phases = 0;   // before the op: bit (1 << states::Iter) for each live iterator's phase
};

struct ExecOptions {
  std::optional<bool> deep;                                  // overrides Program::config.deep
  std::function<void(const std::string&)> on_op_begin;      // the op about to run (traces)
  std::function<void(const std::string&)> on_op_end;        // what it did
  std::function<void(const OpObservation&)> observer;        // coverage features (fuzz targets)
};

// Go's overLoadFactor and makemap's hint sizing, as the executable spec.
inline bool go_over_load_factor(std::size_t count, unsigned B) {
  return count > 8 && B < 63 && count > 13 * ((std::size_t(1) << B) / 2);
}
inline unsigned go_b_for_hint(std::uint64_t hint) {
  if (hint >= (std::uint64_t(1) << 48) / 8) return 0;  // absurd hints are ignored
  unsigned B = 0;
  while (go_over_load_factor(hint, B)) ++B;
  return B;
}
inline bool go_too_many_overflow(std::size_t noverflow, unsigned B) {
  return noverflow >= (std::size_t(1) << (B < 15 ? B : 15));
}

// Evaluates the description only when the check fails: checks run after
// every op, so building their strings eagerly would dominate fuzzing time.
#define GOMAP_EXPECT(cond, what, expected, actual) \
  do {                                             \
    if (!(cond)) fail((what), (expected), (actual)); \
  } while (0)

namespace detail {
struct CheckFailed {
  std::string what, expected, actual;
};
}  // namespace detail

template <class T>
class Executor {
 public:
  using Key = typename T::Key;
  using Value = typename T::Value;
  using MapT = gomap::Map<Key, Value, typename T::Hash>;
  using OKey = typename T::OracleKey;

  Executor(const Program& p, ExecOptions opts) : program_(p), opts_(std::move(opts)) {
    domain_ = p.config.domain % T::domains;
    deep_ = opts_.deep.value_or(p.config.deep);
    tracing_ = static_cast<bool>(opts_.on_op_end);
  }

  RunResult run() {
    RunResult r;
    const long long live_before = TrackedValue::live_count();
    try {
      new_map(hint_from_code(program_.config.hint), program_.config.seed, "initial map");
      started_ = true;
      for (std::size_t i = 0; i < program_.ops.size(); ++i) {
        index_ = i;
        step(program_.ops[i]);
        r.ops_run = i + 1;
      }
      index_ = program_.ops.size();
      for (auto& s : iters_) s.stop();
      check_contents("final contents");
      map_.reset();
      const long long live_after = TrackedValue::live_count();
      GOMAP_EXPECT(live_after == live_before, "every value constructed is destroyed exactly once",
             std::to_string(live_before) + " live values", std::to_string(live_after) + " live values");
    } catch (const detail::CheckFailed& f) {
      r.ok = false;
      r.failure = Failure{index_, op_text(), f.what, f.expected, f.actual};
    } catch (const gomap::InvariantError& e) {
      r.ok = false;
      r.failure = Failure{index_, op_text(), "check_invariants()", "no violation", e.what()};
    } catch (const std::exception& e) {
      r.ok = false;
      r.failure = Failure{index_, op_text(), "the engine threw", "no exception", e.what()};
    }
    if (!r.ok) {
      // Leave nothing dangling: iterators before the map they point into.
      for (auto& s : iters_) s.stop();
      map_.reset();
    }
    return r;
  }

 private:
  // ---------------------------------------------------------------- oracle
  struct Entry {
    Key stored;
    std::uint64_t value;
  };
  // NaN entries: no lookup can name one, so the oracle keeps only how many
  // there are of each representation (payload, and a struct's other fields).
  struct NanEntries {
    explicit NanEntries(std::pmr::memory_resource* r) : by_repr(r) {}
    std::size_t count = 0;
    std::pmr::unordered_map<OKey, std::size_t> by_repr;
    void add(const OKey& k) {
      ++count;
      ++by_repr[k];
    }
    void clear() {
      count = 0;
      by_repr.clear();
    }
  };

  using KeySet = std::pmr::unordered_set<OKey>;
  struct IterationModel {
    explicit IterationModel(std::pmr::memory_resource* r) : required(r), yielded(r), seen(r) {}
    KeySet required;  // present at start and never erased since
    KeySet yielded;   // yielded and not erased since
    KeySet seen;      // ever yielded
    std::size_t nan_required = 0;       // NaN entries present at start, not cleared since
    std::size_t nan_budget = 0;         // NaN entries that may still be yielded
    std::size_t nan_yielded = 0;
  };

  struct IterSlot {
    explicit IterSlot(std::pmr::memory_resource* r) : model(r) {}
    std::optional<typename MapT::Iterator> it;
    IterationModel model;
    std::optional<Key> last_key;
    std::uint64_t growths_at_start = 0;  // the map's Stats::growths when it started
    bool growing_at_start = false;
    bool map_replaced = false;  // its map object was moved from / assigned to since: it must end
    bool live() const { return it.has_value(); }
    void stop() {
      it.reset();
      last_key.reset();
      map_replaced = false;
    }
  };

  // ------------------------------------------------------------ operations
  void step(const Op& op) {
    if (opts_.on_op_begin) opts_.on_op_begin(op_text());
    gomap::Stats before;
    bool nan_before = false;
    std::uint8_t phases_before = 0;
    if (opts_.observer) {  // only the coverage observer compares states
      before = map_->stats();
      nan_before = nans_.count != 0;
      phases_before = iterator_phases(before);
    }
    std::string result;
    switch (op.kind) {
      case OpKind::Set: result = do_set(T::key(op.key, domain_), op.value); break;
      case OpKind::Get: result = do_get(T::key(op.key, domain_)); break;
      case OpKind::Erase: result = do_erase(T::key(op.key, domain_)); break;
      case OpKind::Incr: result = do_incr(T::key(op.key, domain_)); break;
      case OpKind::Clear: result = do_clear(); break;
      case OpKind::Len: result = tracing_ ? "len " + std::to_string(map_->size()) : ""; break;
      case OpKind::Compact: result = do_compact(); break;
      case OpKind::CopyCompare: result = do_copy_compare(); break;
      case OpKind::IterStart: result = do_iter_start(op.iter); break;
      case OpKind::IterNext: result = do_iter_next(op.iter); break;
      case OpKind::IterEraseYielded: result = do_iter_erase_yielded(op.iter); break;
      case OpKind::IterSetYielded: result = do_iter_set_yielded(op.iter, op.value); break;
      case OpKind::IterStop:
        iters_[op.iter].stop();
        result = "stopped";
        break;
      case OpKind::NewMap: result = new_map(hint_from_code(op.hint), op.seed, "new map"); break;
      case OpKind::Check:
        map_->check_invariants();
        check_contents("contents");
        result = "ok";
        break;
      case OpKind::IterCopy: result = do_iter_transfer(op.iter, op.dest, false); break;
      case OpKind::IterMove: result = do_iter_transfer(op.iter, op.dest, true); break;
      case OpKind::MoveMap: result = do_move_map(); break;
    }
    GOMAP_EXPECT(map_->size() == oracle_size(), "len(m) matches the oracle", std::to_string(oracle_size()),
           std::to_string(map_->size()));
    if (deep_) map_->check_invariants();
    if (opts_.on_op_end) opts_.on_op_end(result);
    if (opts_.observer) {
      unsigned live = 0;
      for (auto& s : iters_) live += s.live() ? 1 : 0;
      opts_.observer(OpObservation{op.kind, before, map_->stats(), live, nan_before, phases_before});
    }
  }

  // Each live iterator's relation to the growth state `s` (see state_space.hpp).
  std::uint8_t iterator_phases(const gomap::Stats& s) const {
    std::uint8_t phases = 0;
    for (const auto& slot : iters_) {
      if (!slot.live() || slot.map_replaced) continue;
      const bool during = s.growing ? slot.growths_at_start == s.growths && slot.growing_at_start
                                    : slot.growths_at_start == s.growths;
      phases |= static_cast<std::uint8_t>(1u << static_cast<unsigned>(during ? states::Iter::StartedDuring
                                                                                : states::Iter::StartedBefore));
    }
    return phases ? phases : static_cast<std::uint8_t>(1u << static_cast<unsigned>(states::Iter::None));
  }

  std::string new_map(std::uint64_t hint, std::uint8_t seed, const char* what) {
    for (auto& s : iters_) s.stop();  // they point into the map being replaced
    map_.reset();
    map_.emplace(static_cast<std::size_t>(hint), gomap::Seed{seed}, T::make_hash(domain_));
    oracle_clear();
    const unsigned want_b = go_b_for_hint(hint);
    GOMAP_EXPECT(map_->stats().B == want_b, "make(map, hint) sizes B like Go", "B=" + std::to_string(want_b),
           "B=" + std::to_string(map_->stats().B));
    if (!tracing_) return {};
    return std::string(what) + " hint=" + std::to_string(hint) + " seed=" + std::to_string(seed) +
           " B=" + std::to_string(want_b);
  }

  // Checks Go's growth rule around a write that may add a key: a growth
  // starts exactly when a new key finds the map not growing and either over
  // the load factor (doubling) or with too many overflow buckets (same size).
  template <class Write>
  bool write_and_check_growth(const Key& k, Write&& write) {
    const gomap::Stats s0 = map_->stats();
    const bool is_new = T::is_nan(k) || !entries_.count(T::oracle_key(k));
    write();
    const gomap::Stats s1 = map_->stats();
    // A write evacuates first (Go's growWork); if that finishes the running
    // growth, the same write sees a map that is not growing and may start
    // the next one, as Go's mapassign does.
    const bool finished_now = s0.growing && s1.growths_done == s0.growths_done + 1;
    const bool may_start = is_new && (!s0.growing || finished_now);
    const bool double_it = may_start && go_over_load_factor(s0.count + 1, s0.B);
    if (!s0.growing) {
      const bool same_size = may_start && !double_it && go_too_many_overflow(s0.noverflow, s0.B);
      const std::uint64_t want_growths = s0.growths + ((double_it || same_size) ? 1 : 0);
      GOMAP_EXPECT(s1.growths == want_growths,
                   "a growth starts exactly when a new key meets Go's load-factor or overflow limit",
                   std::to_string(want_growths - s0.growths) + " growth(s) started (count " + std::to_string(s0.count) +
                       "->" + std::to_string(s1.count) + ", B=" + std::to_string(s0.B) + ", noverflow=" +
                       std::to_string(s0.noverflow) + ")",
                   std::to_string(s1.growths - s0.growths) + " started");
    } else if (!finished_now) {
      GOMAP_EXPECT(s1.growths == s0.growths, "no growth starts while another is in progress",
                   "none started (nevacuate " + std::to_string(s0.nevacuate) + ")", std::to_string(s1.growths - s0.growths) + " started");
    } else if (double_it) {
      // (After the running growth finishes in this write a same-size growth
      // may also start; its overflow count is not in the stats, so it is not
      // checked here. The not-growing branch above checks it exactly.)
      GOMAP_EXPECT(s1.growths == s0.growths + 1,
                   "a growth starts exactly when a new key meets Go's load-factor limit (right after the last one finished)",
                   "1 started (count " + std::to_string(s0.count) + "->" + std::to_string(s1.count) + ", B=" + std::to_string(s0.B) + ")",
                   std::to_string(s1.growths - s0.growths) + " started");
    }
    GOMAP_EXPECT(s1.B == s0.B + (double_it && s1.growths > s0.growths ? 1u : 0u), "only a doubling growth changes B",
                 "B=" + std::to_string(s0.B + (double_it ? 1 : 0)), "B=" + std::to_string(s1.B));
    check_evacuation_progress(s0, s1);
    return is_new;
  }

  // Each write during a growth evacuates the lowest unevacuated old bucket
  // (Go's growWork), so nevacuate moves or the growth ends.
  void check_evacuation_progress(const gomap::Stats& s0, const gomap::Stats& s1) {
    if (!s0.growing || s1.growths != s0.growths || s0.count == 0) return;
    GOMAP_EXPECT(!s1.growing || s1.nevacuate > s0.nevacuate, "every write during a growth advances the evacuation",
                 "nevacuate > " + std::to_string(s0.nevacuate) + " or growth done",
                 "nevacuate " + std::to_string(s1.nevacuate) + ", still growing");
  }

  std::string do_set(const Key& k, std::uint8_t v) {
    write_and_check_growth(k, [&] { map_->insert_or_assign(k, T::value(v)); });
    oracle_insert(k, v);
    return tracing_ ? std::string("m[" + T::show_key(k) + "] = " + std::to_string(v)) : std::string();
  }

  std::string do_incr(const Key& k) {
    write_and_check_growth(k, [&] { T::increment((*map_)[k]); });
    std::uint64_t now = 1;
    if (!T::is_nan(k)) {
      auto it = entries_.find(T::oracle_key(k));
      if (it != entries_.end()) now = it->second.value + 1;
    }
    oracle_insert(k, now);
    return tracing_ ? std::string("m[" + T::show_key(k) + "] += 1 -> " + std::to_string(now)) : std::string();
  }

  std::string do_get(const Key& k) {
    const Value* v = std::as_const(*map_).find(k);
    const auto it = T::is_nan(k) ? entries_.end() : entries_.find(T::oracle_key(k));
    const bool want = it != entries_.end();
    GOMAP_EXPECT((v != nullptr) == want, "lookup finds exactly the keys in the map", want ? "found" : "absent",
           v ? "found" : "absent");
    GOMAP_EXPECT(map_->contains(k) == want, "contains agrees with find", want ? "true" : "false",
           want ? "false" : "true");
    if (!want) return "absent";
    const std::uint64_t got = T::value_code(*v);
    GOMAP_EXPECT(got == it->second.value, "lookup returns the current value", std::to_string(it->second.value),
           std::to_string(got));
    return tracing_ ? std::string("= " + std::to_string(got)) : std::string();
  }

  std::string do_erase(const Key& k) {
    const bool want = !T::is_nan(k) && entries_.count(T::oracle_key(k)) != 0;
    const gomap::Stats s0 = map_->stats();
    const bool got = map_->erase(k);
    check_evacuation_progress(s0, map_->stats());
    GOMAP_EXPECT(got == want, "erase reports whether the key was there", want ? "true" : "false", got ? "true" : "false");
    if (want) oracle_erase(T::oracle_key(k));
    return got ? "erased" : "absent";
  }

  std::string do_clear() {
    const gomap::Stats s0 = map_->stats();
    map_->clear();
    const gomap::Stats s1 = map_->stats();
    oracle_clear();
    for (auto& s : iters_) {
      if (!s.live()) continue;
      s.model.required.clear();
      s.model.yielded.clear();
      s.model.nan_required = 0;
      s.model.nan_budget = 0;
    }
    if (s0.count != 0) {
      GOMAP_EXPECT(s1.B == s0.B, "clear keeps B", "B=" + std::to_string(s0.B), "B=" + std::to_string(s1.B));
      GOMAP_EXPECT(s1.overflow_buckets == 0, "clear frees overflow buckets", "0", std::to_string(s1.overflow_buckets));
      GOMAP_EXPECT(!s1.growing, "clear drops the old buckets", "not growing", "growing");
      GOMAP_EXPECT(s1.clear_seq == s0.clear_seq + 1, "clear bumps the clear sequence", std::to_string(s0.clear_seq + 1),
             std::to_string(s1.clear_seq));
    }
    return tracing_ ? std::string("cleared (B=" + std::to_string(s1.B) + ")") : std::string();
  }

  std::string do_compact() {
    const gomap::Stats s0 = map_->stats();
    map_->compact();
    const gomap::Stats s1 = map_->stats();
    if (s0.live_iterators == 0) {
      const unsigned want_b = go_b_for_hint(s0.count);
      GOMAP_EXPECT(s1.B == want_b, "compact rebuilds to the smallest B that fits", "B=" + std::to_string(want_b),
             "B=" + std::to_string(s1.B));
      GOMAP_EXPECT(!s1.growing, "compact finishes growth", "not growing", "growing");
    } else {
      GOMAP_EXPECT(s1.B == s0.B && s1.growing == s0.growing, "compact is a no-op while iterators are live",
             "unchanged", "B=" + std::to_string(s1.B));
    }
    check_contents("contents after compact");
    return tracing_ ? std::string("compacted to B=" + std::to_string(s1.B)) : std::string();
  }

  std::string do_copy_compare() {
    const gomap::Stats s0 = map_->stats();
    std::optional<MapT> copy;
    if (index_ % 2 == 0) {
      copy.emplace(*map_);
    } else {
      // Copy assignment over a non-empty map: its old entries must go.
      copy.emplace(0, gomap::Seed{1}, T::make_hash(domain_));
      for (std::uint16_t c = 0; c < 3; ++c) copy->insert_or_assign(T::key(c, domain_), T::value(200 + c));
      *copy = *map_;
    }
    copy->check_invariants();
    compare_map_with_oracle(*copy, "copy of the map", true);
    // A deep copy: writes to the copy never show in the original.
    copy->insert_or_assign(T::key(0, domain_), T::value(255));
    copy->clear();
    MapT moved(std::move(*copy));
    GOMAP_EXPECT(moved.empty(), "a moved-to map holds what was moved", "empty", std::to_string(moved.size()));
    const gomap::Stats s1 = map_->stats();
    GOMAP_EXPECT(s1.count == s0.count && s1.B == s0.B, "copying does not change the original",
           "count=" + std::to_string(s0.count), "count=" + std::to_string(s1.count));
    return tracing_ ? std::string("copy matches (" + std::to_string(s0.count) + " entries)") : std::string();
  }

  // ------------------------------------------------------------- iteration
  std::string do_iter_start(std::uint8_t i) {
    IterSlot& s = iters_[i];
    s.stop();
    s.model.required.clear();
    s.model.yielded.clear();
    s.model.seen.clear();
    s.model.nan_required = s.model.nan_yielded = 0;
    for (const auto& [ok, e] : entries_) s.model.required.insert(ok);
    s.model.nan_required = nans_.count;
    s.model.nan_budget = nans_.count;
    const gomap::Stats st = map_->stats();
    s.growths_at_start = st.growths;
    s.growing_at_start = st.growing;
    s.it.emplace(map_->begin());  // Go's mapiterinit yields the first entry at once
    std::string first = after_advance(s, i);
    return tracing_ ? "iterator " + std::to_string(i) + " started; " + first : std::string();
  }

  std::string do_iter_next(std::uint8_t i) {
    IterSlot& s = iters_[i];
    if (!s.live()) return "iterator " + std::to_string(i) + " not live";
    ++*s.it;
    return after_advance(s, i);
  }

  std::string after_advance(IterSlot& s, std::uint8_t i) {
    if (s.map_replaced) {
      // The map object it follows had its contents replaced (move_map):
      // the iterator ends, whatever it had left.
      GOMAP_EXPECT(s.it->done(), "an iterator ends once its map is moved from or assigned to", "done",
                   "yielded " + T::show_key(s.it->key()));
      s.stop();
      return tracing_ ? "iterator " + std::to_string(i) + " done (its map was replaced)" : std::string();
    }
    if (s.it->done()) {
      for (const OKey& k : s.model.required) {
        if (!s.model.seen.count(k)) {
          fail("a finished iteration yielded every key present throughout", "yielded " + describe(k),
               "iterator " + std::to_string(i) + " never yielded it");
        }
      }
      GOMAP_EXPECT(s.model.nan_yielded >= s.model.nan_required, "a finished iteration yielded every NaN entry",
             std::to_string(s.model.nan_required) + " NaN entries", std::to_string(s.model.nan_yielded));
      s.stop();
      return tracing_ ? "iterator " + std::to_string(i) + " done" : std::string();
    }
    const Key k = s.it->key();
    const std::uint64_t v = T::value_code(s.it->value());
    s.last_key = k;
    if (T::is_nan(k)) {
      GOMAP_EXPECT(s.model.nan_budget > 0, "iteration yields each NaN entry at most once, and only live ones",
             "at most " + std::to_string(s.model.nan_yielded) + " NaN yields", "another NaN");
      GOMAP_EXPECT(nans_.by_repr.count(T::oracle_key(k)) != 0, "iteration yields a NaN key as it was written (payload)",
                   "one of the NaN keys in the map", "a NaN key never written: " + T::show_key(k));
      --s.model.nan_budget;
      ++s.model.nan_yielded;
      return "yield NaN";
    }
    const OKey ok = T::oracle_key(k);
    const auto it = entries_.find(ok);
    if (it == entries_.end()) {
      fail("iteration yields only keys in the map (never one erased before it was reached)",
           T::show_key(k) + " absent", "yielded " + T::show_key(k));
    }
    GOMAP_EXPECT(!s.model.yielded.count(ok), "iteration never yields a key twice", "yielded once",
           T::show_key(k) + " yielded again");
    GOMAP_EXPECT(v == it->second.value, "iteration yields the current value",
           T::show_key(k) + " = " + std::to_string(it->second.value), std::to_string(v));
    GOMAP_EXPECT(T::same_representation(k, it->second.stored), "iteration yields the key as last written",
           T::show_key(it->second.stored), T::show_key(k));
    s.model.yielded.insert(ok);
    s.model.seen.insert(ok);
    return tracing_ ? std::string("yield " + T::show_key(k) + " = " + std::to_string(v)) : std::string();
  }

  std::string do_iter_erase_yielded(std::uint8_t i) {
    IterSlot& s = iters_[i];
    if (!s.last_key) return "iterator " + std::to_string(i) + " has yielded nothing";
    const Key k = *s.last_key;  // a copy: erase destroys the stored key
    std::string r = do_erase(k);
    return tracing_ ? "delete " + T::show_key(k) + ": " + r : std::string();
  }

  std::string do_iter_set_yielded(std::uint8_t i, std::uint8_t v) {
    IterSlot& s = iters_[i];
    if (!s.last_key) return "iterator " + std::to_string(i) + " has yielded nothing";
    const Key k = *s.last_key;
    return do_set(k, v);
  }

  // Iterator j becomes a copy of iterator i (same position and snapshot,
  // advancing independently from then on, so its model is a copy too), or,
  // with `move`, takes over iterator i, which is left finished.
  std::string do_iter_transfer(std::uint8_t i, std::uint8_t j, bool move) {
    const char* verb = move ? "moved" : "copied";
    if (i == j) return std::string("iterator ") + verb + " onto itself";
    IterSlot& from = iters_[i];
    IterSlot& to = iters_[j];
    if (!from.live()) {
      to.stop();
      return tracing_ ? "iterator " + std::to_string(j) + " = finished iterator " + std::to_string(i) : std::string();
    }
    const std::size_t live_before = map_->stats().live_iterators;
    // A copy registers one more iterator with the map; a move hands i's over.
    // Either way j's old registration, if any, goes.
    const std::size_t want_after = live_before + (move ? 0 : 1) - (to.live() ? 1 : 0);
    if (to.live()) {
      if (move) *to.it = std::move(*from.it);
      else *to.it = *from.it;
    } else {
      if (move) to.it.emplace(std::move(*from.it));
      else to.it.emplace(*from.it);
    }
    copy_model(from, to);
    if (move) {
      GOMAP_EXPECT(from.it->done(), "a moved-from iterator is finished", "done", "still yields");
      from.stop();
    } else {
      GOMAP_EXPECT(&to.it->key() == &from.it->key(), "a copied iterator stands where the original does", "same entry",
                   "another entry");
    }
    const std::size_t live_after = map_->stats().live_iterators;
    GOMAP_EXPECT(live_after == want_after, "copying or moving an iterator keeps the map's live-iterator count",
                 std::to_string(want_after) + " live iterators", std::to_string(live_after));
    return tracing_ ? "iterator " + std::to_string(j) + " = " + verb + " iterator " + std::to_string(i) : std::string();
  }

  // Everything an iterator slot knows but the engine iterator itself.
  static void copy_model(const IterSlot& from, IterSlot& to) {
    to.model = from.model;  // the pmr sets keep their own (the run's) pool
    to.last_key = from.last_key;
    to.growths_at_start = from.growths_at_start;
    to.growing_at_start = from.growing_at_start;
    to.map_replaced = from.map_replaced;
  }

  // Moves the map into a non-empty map (move assignment destroys that map's
  // entries), checks the moved-from map is empty and usable, then moves it
  // back with move construction and move assignment. The map object the
  // iterators follow has had its contents replaced, so they end.
  std::string do_move_map() {
    const gomap::Stats s0 = map_->stats();
    MapT other(0, gomap::Seed{2}, T::make_hash(domain_));
    for (std::uint16_t c = 0; c < 3; ++c) other.insert_or_assign(T::key(c, domain_), T::value(100 + c));
    other = std::move(*map_);
    GOMAP_EXPECT(map_->empty() && map_->stats().B == 0 && !map_->stats().growing, "a moved-from map is empty",
                 "empty, B=0", std::to_string(map_->size()) + " entries");
    map_->check_invariants();
    const gomap::Stats s1 = other.stats();
    GOMAP_EXPECT(s1.count == s0.count && s1.B == s0.B && s1.growing == s0.growing && s1.nevacuate == s0.nevacuate,
                 "a move keeps the map's state", "count=" + std::to_string(s0.count) + " B=" + std::to_string(s0.B),
                 "count=" + std::to_string(s1.count) + " B=" + std::to_string(s1.B));
    MapT middle(std::move(other));
    GOMAP_EXPECT(other.empty(), "a moved-from map is empty", "empty", std::to_string(other.size()) + " entries");
    *map_ = std::move(middle);
    for (auto& slot : iters_)
      if (slot.live()) slot.map_replaced = true;
    compare_map_with_oracle(*map_, "contents after moving the map", true);
    return tracing_ ? std::string("moved out and back (" + std::to_string(s0.count) + " entries)") : std::string();
  }

  // ------------------------------------------------------------ the oracle
  std::size_t oracle_size() const { return entries_.size() + nans_.count; }

  void oracle_clear() {
    entries_.clear();
    nans_.clear();
  }

  void oracle_insert(const Key& k, std::uint64_t v) {
    if (T::is_nan(k)) {
      nans_.add(T::oracle_key(k));
      for (auto& s : iters_)
        if (s.live()) ++s.model.nan_budget;
      return;
    }
    const OKey ok = T::oracle_key(k);
    auto it = entries_.find(ok);
    if (it == entries_.end()) {
      entries_.emplace(ok, Entry{k, v});
    } else {
      it->second.stored = k;
      it->second.value = v;
    }
  }

  void oracle_erase(const OKey& ok) {
    entries_.erase(ok);
    for (auto& s : iters_) {
      if (!s.live()) continue;
      s.model.required.erase(ok);
      s.model.yielded.erase(ok);
    }
  }

  // Lookups of every oracle key, and one full iteration of the map.
  void check_contents(const char* what) { compare_map_with_oracle(*map_, what, true); }

  // One full iteration (each key once, current values, every entry: together
  // a bijection with the oracle) and, with `lookups`, a find() of every key.
  void compare_map_with_oracle(const MapT& m, const char* what, bool lookups) {
    GOMAP_EXPECT(m.size() == oracle_size(), std::string(what) + ": size", std::to_string(oracle_size()),
           std::to_string(m.size()));
    if (lookups) for (const auto& [ok, e] : entries_) {
      const Value* v = m.find(e.stored);
      if (!v) fail(std::string(what) + ": every oracle key is found", T::show_key(e.stored) + " present", "absent");
      GOMAP_EXPECT(T::value_code(*v) == e.value, std::string(what) + ": every value matches",
             T::show_key(e.stored) + " = " + std::to_string(e.value), std::to_string(T::value_code(*v)));
    }
    std::size_t total = 0;
    KeySet seen(&pool_);
    NanEntries nans(&pool_);
    for (auto&& [k, v] : m) {
      ++total;
      if (T::is_nan(k)) {
        nans.add(T::oracle_key(k));
        continue;
      }
      const OKey ok = T::oracle_key(k);
      if (!entries_.count(ok)) fail(std::string(what) + ": iteration yields only oracle keys", "absent", T::show_key(k));
      if (!seen.insert(ok).second) fail(std::string(what) + ": iteration yields each key once", "once", T::show_key(k) + " twice");
      const Entry& e = entries_.at(ok);
      GOMAP_EXPECT(T::same_representation(k, e.stored), std::string(what) + ": stored key is the last written",
             T::show_key(e.stored), T::show_key(k));
      GOMAP_EXPECT(T::value_code(v) == e.value, std::string(what) + ": iteration yields current values",
             std::to_string(e.value), std::to_string(T::value_code(v)));
    }
    GOMAP_EXPECT(nans.count == nans_.count, std::string(what) + ": NaN entries", std::to_string(nans_.count),
                 std::to_string(nans.count));
    GOMAP_EXPECT(nans.by_repr == nans_.by_repr, std::string(what) + ": NaN keys keep their payloads",
                 "the NaN keys as written", "NaN keys with other payloads");
    GOMAP_EXPECT(total == oracle_size(), std::string(what) + ": iteration yields every entry", std::to_string(oracle_size()),
           std::to_string(total));
  }

  // ---------------------------------------------------------------- checks
  std::string describe(const OKey& ok) const {
    auto it = entries_.find(ok);
    return it != entries_.end() ? T::show_key(it->second.stored) : std::string("(an erased key)");
  }
  std::string op_text() const {
    if (!started_) return "(creating the initial map)";
    if (index_ >= program_.ops.size()) return "(end of program)";
    const Op& op = program_.ops[index_];
    std::string s = "#" + std::to_string(index_) + " " + op_to_text(op);
    if (op_has_key(op.kind)) s += "  [key " + T::show_key(T::key(op.key, domain_)) + "]";
    return s;
  }
  [[noreturn]] void fail(std::string what, std::string expected, std::string actual) {
    throw detail::CheckFailed{std::move(what), std::move(expected), std::move(actual)};
  }

  // The oracle's containers allocate from a per-run pool: under ASan a
  // malloc per oracle op would cost more than the engine op it checks.
  static std::pmr::memory_resource* pool_upstream() {
    thread_local std::pmr::unsynchronized_pool_resource upstream;
    return &upstream;
  }
  std::pmr::unsynchronized_pool_resource pool_{pool_upstream()};
  const Program& program_;
  ExecOptions opts_;
  unsigned domain_ = 0;
  bool deep_ = false;
  bool tracing_ = false;  // results are described only when someone reads them
  bool started_ = false;  // past the initial map
  std::size_t index_ = 0;
  std::optional<MapT> map_;
  std::pmr::unordered_map<OKey, Entry> entries_{&pool_};
  NanEntries nans_{&pool_};
  std::array<IterSlot, kMaxIterators> iters_{IterSlot(&pool_), IterSlot(&pool_), IterSlot(&pool_), IterSlot(&pool_)};
};

// Runs `p` as target T.
template <class T>
RunResult execute(const Program& p, ExecOptions opts = {}) {
  return Executor<T>(p, std::move(opts)).run();
}

// Runs `p` as the target it names; nullopt if it names none.
inline std::optional<RunResult> execute_named(const Program& p, ExecOptions opts = {}) {
  std::optional<RunResult> r;
  with_target(p.target, [&]<class T>() { r = execute<T>(p, std::move(opts)); });
  return r;
}

// Runs a program in the text form (it must name its target); the entry point
// of regressions written as GoogleTest cases by `gomap-replay --emit-test`.
inline RunResult run_text_program(std::string_view text, ExecOptions opts = {}) {
  const Program p = parse_text(text);
  if (auto r = execute_named(p, std::move(opts))) return *r;
  RunResult r;
  r.ok = false;
  r.failure = Failure{0, "(program)", "the program names a known target", "one of: " + target_list(),
                      "target '" + p.target + "'"};
  return r;
}

// The family of rules a failure broke: one engine bug often breaks several
// checks of one family (an off-by-one load factor breaks hint sizing and the
// growth trigger alike), and crash triage groups findings by family.
inline std::string rule_family(const Failure& f) {
  const std::string& w = f.what;
  auto has = [&](const char* s) { return w.find(s) != std::string::npos; };
  if (w == "check_invariants()") {
    const auto a = f.actual.find("invariant '");
    const auto b = a == std::string::npos ? a : f.actual.find('\'', a + 11);
    return b == std::string::npos ? "invariants" : "invariants: " + f.actual.substr(a + 11, b - a - 11);
  }
  if (has("growth") && has("evacuation")) return "evacuation";
  if (has("growth") || has("make(map, hint)") || has("doubling")) return "load-factor";
  if (has("iteration") || has("iterator")) return "iteration";
  if (has("clear")) return "clear";
  if (has("compact")) return "compact";
  if (has("cop") || has("moved-to")) return "copy";
  if (has("lookup") || has("contains")) return "lookup";
  if (has("erase")) return "erase";
  if (has("destroyed")) return "value-lifetime";
  if (has("len(m)")) return "size";
  if (has(": ")) return "contents";
  if (has("threw")) return "exception";
  return "other";
}

// A one-paragraph description of a failure, for people.
inline std::string describe_failure(const Failure& f) {
  std::ostringstream o;
  o << "FAILED at " << f.op_text << "\n"
    << "  rule:     [" << rule_family(f) << "] " << f.what << "\n"
    << "  expected: " << f.expected << "\n"
    << "  actual:   " << f.actual << "\n";
  return o.str();
}

}  // namespace gomap_harness
