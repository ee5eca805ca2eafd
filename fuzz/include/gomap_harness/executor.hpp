// gomap_harness/executor.hpp — the one executor: a program runs on an engine
// under test and on the oracle side by side, checked after every op.
//
// The engine sits behind an adapter (fuzz/adapters/engine_adapter.hpp): by
// default the target's own (gomap::Map for the map_* targets), or any type
// that meets EngineAdapter, as execute<T, A>(program). The adapter's rule set
// says what may happen during iteration: under `go` everything (Go's
// guarantees); under `stl` only erase through the iterator and assignment to
// an existing key, so the executor ends every live iterator before any other
// mutation and counts it (RunResult::counts). Ops the engine does not have
// are skipped and counted, never reported.
//
// The models it checks against are in oracle.hpp (contents, and Go's
// guarantees per live iterator), Go's sizing rules in go_rules.hpp, and what
// a failed check reports in failure.hpp. After every op the executor checks
// size and, for engines with gomap's Stats, the growth rule (Go's
// overLoadFactor/tooManyOverflowBuckets decide exactly when B changes), and
// in deep mode check_invariants(). The engine seed comes from the program,
// so every run of a program is the same run.
#pragma once

#include <array>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <memory_resource>
#include <type_traits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gomap/map.hpp>

#include "adapters/absl_adapter.hpp"
#include "adapters/boost_adapter.hpp"
#include "adapters/engine_adapter.hpp"
#include "adapters/gomap_adapter.hpp"
#include "adapters/std_adapter.hpp"
#include "gomap_harness/failure.hpp"
#include "gomap_harness/go_rules.hpp"
#include "gomap_harness/oracle.hpp"
#include "gomap_harness/program.hpp"
#include "gomap_harness/state_space.hpp"
#include "gomap_harness/targets.hpp"

namespace gomap_harness {

struct RunResult {
  bool ok = true;
  std::optional<Failure> failure;
  std::size_t ops_run = 0;
  RunCounts counts;  // what the engine's adapter and rule set skipped, translated or ended
};

// The adapter a target runs on (targets.hpp: TargetBase::Adapter).
template <class T>
using adapter_of = typename T::template Adapter<T>;

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

template <class T, EngineAdapter A = adapter_of<T>>
class Executor {
 public:
  using Key = typename T::Key;
  using Value = typename T::Value;
  using OKey = typename T::OracleKey;
  using Cursor = typename A::Cursor;
  // gomap itself: the executor checks its growth, compact, copy, move and
  // iterator copy/move against the Map (GomapAdapter::raw()).
  static constexpr bool kGomap = requires(A& a) { a.raw(); };
  static constexpr bool kStl = A::rules == IterRules::Stl;

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
      check_contents(Rule::Contents, "final contents");
      r.counts = counts_;
      map_.reset();
      const long long live_after = TrackedValue::live_count();
      GOMAP_EXPECT(live_after == live_before, Rule::ValueLifetime, "every value constructed is destroyed exactly once",
             std::to_string(live_before) + " live values", std::to_string(live_after) + " live values");
    } catch (const detail::CheckFailed& f) {
      r.ok = false;
      r.failure = Failure{index_, op_text(), f.rule, f.what, f.expected, f.actual};
    } catch (const gomap::InvariantError& e) {
      r.ok = false;
      r.failure = Failure{index_, op_text(), Rule::Invariants, "check_invariants()", "no violation", e.what()};
    } catch (const std::exception& e) {
      r.ok = false;
      r.failure = Failure{index_, op_text(), Rule::Exception, "the engine threw", "no exception", e.what()};
    }
    if (!r.ok) {
      // Leave nothing dangling: iterators before the map they point into.
      for (auto& s : iters_) s.stop();
      map_.reset();
    }
    return r;
  }

 private:
  using Model = IterationModel<T>;

  struct IterSlot {
    explicit IterSlot(unsigned slot) : model(slot) {}
    std::optional<Cursor> it;
    Model model;
    std::optional<Key> last_key;
    std::uint64_t growths_at_start = 0;  // the map's Stats::growths when it started
    bool growing_at_start = false;
    bool map_replaced = false;  // its map object was moved from / assigned to since: it must end
    // stl rules: it erased through itself and has not advanced since, so it
    // stands on an entry it has not yielded (or the end), whose key it does not know.
    bool erased_under = false;
    bool live() const { return it.has_value(); }
    void stop() {
      it.reset();
      last_key.reset();
      map_replaced = false;
      erased_under = false;
    }
  };

  // ------------------------------------------------------------ operations
  void step(const Op& op) {
    if (opts_.on_op_begin) opts_.on_op_begin(op_text());
    const OpSupport support = A::support(op.kind);
    if (support == OpSupport::Skip) {
      ++counts_.skipped_ops;
      if (opts_.on_op_end) opts_.on_op_end("skipped (" + std::string(A::engine) + " has no " + op_name(op.kind) + ")");
      return;
    }
    if (support == OpSupport::Translate) ++counts_.translated_ops;
    std::size_t ended_by_rules = 0;
    if constexpr (kStl) {
      const std::size_t before_rules = counts_.iterators_ended;
      apply_stl_rules(op);
      ended_by_rules = counts_.iterators_ended - before_rules;
    }
    if constexpr (requires { A::ends_iterators(OpKind::Clear); }) {
      // An engine whose version of this op would break its iterators' rules
      // (the Go adapter's clear) has them end first.
      if (A::ends_iterators(op.kind))
        for (auto& s : iters_)
          if (s.live()) {
            s.stop();
            ++counts_.iterators_ended;
            ++ended_by_rules;
          }
    }
    [[maybe_unused]] gomap::Stats before;
    bool nan_before = false;
    std::uint8_t phases_before = 0;
    if constexpr (HasStats<A>) {
      if (opts_.observer) {  // only the coverage observer compares states
        before = map_->stats();
        nan_before = oracle_.nans().count != 0;
        phases_before = iterator_phases(before);
      }
    }
    std::string result;
    switch (op.kind) {
      case OpKind::Set: result = do_set(key_of(op.key), op.value); break;
      case OpKind::Get: result = do_get(key_of(op.key)); break;
      case OpKind::Erase: result = do_erase(key_of(op.key)); break;
      case OpKind::Incr: result = do_incr(key_of(op.key)); break;
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
        if constexpr (HasInvariants<A>) map_->check_invariants();
        check_contents(Rule::Contents, "contents");
        result = "ok";
        break;
      case OpKind::IterCopy: result = do_iter_transfer(op.iter, op.dest, false); break;
      case OpKind::IterMove: result = do_iter_transfer(op.iter, op.dest, true); break;
      case OpKind::MoveMap: result = do_move_map(); break;
    }
    GOMAP_EXPECT(map_->size() == oracle_.size(), Rule::Size, "len(m) matches the oracle", std::to_string(oracle_.size()),
           std::to_string(map_->size()));
    if constexpr (HasInvariants<A>)
      if (deep_) map_->check_invariants();
    if (opts_.on_op_end) {
      if (ended_by_rules) result = "(" + std::to_string(ended_by_rules) + " live iterator(s) ended first by the engine's rules) " + result;
      if (support == OpSupport::Translate) result = "(translated) " + result;
      opts_.on_op_end(result);
    }
    if constexpr (HasStats<A>) {
      if (opts_.observer) {
        unsigned live = 0;
        for (auto& s : iters_) live += s.live() ? 1 : 0;
        opts_.observer(OpObservation{op.kind, before, map_->stats(), live, nan_before, phases_before});
      }
    }
  }

  // The stl rule set: before a mutation the standard does not allow during
  // iteration (one that may insert, rehash or replace the contents), every
  // live iterator ends. Erasing through an iterator, erasing by key (which
  // invalidates only iterators to that entry: theirs end) and assigning to a
  // key already present keep them.
  void apply_stl_rules(const Op& op) {
    auto end_all = [&] {
      for (auto& s : iters_)
        if (s.live()) {
          s.stop();
          ++counts_.iterators_ended;
        }
    };
    auto present = [&](const Key& k) { return !T::is_nan(k) && oracle_.contains(k); };
    switch (op.kind) {
      case OpKind::Set:
      case OpKind::Incr:
        if (!present(key_of(op.key))) end_all();
        break;
      case OpKind::IterSetYielded:
        if (iters_[op.iter].last_key && !present(*iters_[op.iter].last_key)) end_all();
        break;
      case OpKind::Erase: {
        // An iterator standing on the erased entry ends: one whose last
        // yield it is, and one that stands on an entry it has not seen
        // (after an erase through it), which may be this one.
        const Key k = key_of(op.key);
        if (!present(k)) break;
        for (auto& s : iters_)
          if (s.live() && (s.erased_under || (s.last_key && T::oracle_key(*s.last_key) == T::oracle_key(k)))) {
            s.stop();
            ++counts_.iterators_ended;
          }
        break;
      }
      case OpKind::IterEraseYielded:
        // Through iterator i; another iterator standing on the same entry
        // (or on one it has not seen) ends.
        if (iters_[op.iter].live() && iters_[op.iter].last_key) {
          const OKey ok = T::oracle_key(*iters_[op.iter].last_key);
          for (unsigned j = 0; j < kMaxIterators; ++j) {
            IterSlot& s = iters_[j];
            if (j != op.iter && s.live() && (s.erased_under || (s.last_key && T::oracle_key(*s.last_key) == ok))) {
              s.stop();
              ++counts_.iterators_ended;
            }
          }
        }
        break;
      case OpKind::Clear:
      case OpKind::NewMap:
      case OpKind::MoveMap:
      case OpKind::Compact:
        end_all();
        break;
      default: break;
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
    map_.emplace(hint, seed, domain_);
    oracle_.clear();
    const unsigned want_b = go_b_for_hint(hint);
    if constexpr (HasStats<A>) {
      GOMAP_EXPECT(map_->stats().B == want_b, Rule::LoadFactor, "make(map, hint) sizes B like Go", "B=" + std::to_string(want_b),
                   "B=" + std::to_string(map_->stats().B));
    }
    GOMAP_EXPECT(map_->size() == 0, Rule::Size, "a new map is empty", "0", std::to_string(map_->size()));
    if (!tracing_) return {};
    return std::string(what) + " hint=" + std::to_string(hint) + " seed=" + std::to_string(seed) +
           (HasStats<A> ? " B=" + std::to_string(want_b) : std::string());
  }

  // Checks Go's growth rule around a write that may add a key: a growth
  // starts exactly when a new key finds the map not growing and either over
  // the load factor (doubling) or with too many overflow buckets (same size).
  template <class Write>
  bool write_and_check_growth(const Key& k, Write&& write) {
    if constexpr (!HasStats<A>) {
      write();
      return T::is_nan(k) || !oracle_.contains(k);
    } else {
      return write_and_check_growth_stats(k, write);
    }
  }
  template <class Write>
  bool write_and_check_growth_stats(const Key& k, Write&& write) {
    const gomap::Stats s0 = map_->stats();
    const bool is_new = T::is_nan(k) || !oracle_.contains(k);
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
      GOMAP_EXPECT(s1.growths == want_growths, Rule::LoadFactor,
                   "a growth starts exactly when a new key meets Go's load-factor or overflow limit",
                   std::to_string(want_growths - s0.growths) + " growth(s) started (count " + std::to_string(s0.count) +
                       "->" + std::to_string(s1.count) + ", B=" + std::to_string(s0.B) + ", noverflow=" +
                       std::to_string(s0.noverflow) + ")",
                   std::to_string(s1.growths - s0.growths) + " started");
    } else if (!finished_now) {
      GOMAP_EXPECT(s1.growths == s0.growths, Rule::LoadFactor, "no growth starts while another is in progress",
                   "none started (nevacuate " + std::to_string(s0.nevacuate) + ")", std::to_string(s1.growths - s0.growths) + " started");
    } else if (double_it) {
      // (After the running growth finishes in this write a same-size growth
      // may also start; its overflow count is not in the stats, so it is not
      // checked here. The not-growing branch above checks it exactly.)
      GOMAP_EXPECT(s1.growths == s0.growths + 1, Rule::LoadFactor,
                   "a growth starts exactly when a new key meets Go's load-factor limit (right after the last one finished)",
                   "1 started (count " + std::to_string(s0.count) + "->" + std::to_string(s1.count) + ", B=" + std::to_string(s0.B) + ")",
                   std::to_string(s1.growths - s0.growths) + " started");
    }
    GOMAP_EXPECT(s1.B == s0.B + (double_it && s1.growths > s0.growths ? 1u : 0u), Rule::LoadFactor, "only a doubling growth changes B",
                 "B=" + std::to_string(s0.B + (double_it ? 1 : 0)), "B=" + std::to_string(s1.B));
    check_evacuation_progress(s0, s1);
    return is_new;
  }

  // Each write during a growth evacuates the lowest unevacuated old bucket
  // (Go's growWork), so nevacuate moves or the growth ends.
  void check_evacuation_progress([[maybe_unused]] const gomap::Stats& s0, [[maybe_unused]] const gomap::Stats& s1) {
    if (!s0.growing || s1.growths != s0.growths || s0.count == 0) return;
    GOMAP_EXPECT(!s1.growing || s1.nevacuate > s0.nevacuate, Rule::Evacuation, "every write during a growth advances the evacuation",
                 "nevacuate > " + std::to_string(s0.nevacuate) + " or growth done",
                 "nevacuate " + std::to_string(s1.nevacuate) + ", still growing");
  }

  std::string do_set(const Key& k, std::uint8_t v) {
    write_and_check_growth(k, [&] { map_->set(k, v); });
    oracle_insert(k, v);
    return tracing_ ? std::string("m[" + T::show_key(k) + "] = " + std::to_string(v)) : std::string();
  }

  std::string do_incr(const Key& k) {
    write_and_check_growth(k, [&] { map_->incr(k); });
    const auto* e = oracle_.find(k);
    const std::uint64_t now = e ? e->value + 1 : 1;
    oracle_insert(k, now);
    return tracing_ ? std::string("m[" + T::show_key(k) + "] += 1 -> " + std::to_string(now)) : std::string();
  }

  std::string do_get(const Key& k) {
    const std::optional<std::uint64_t> v = std::as_const(*map_).get(k);
    const auto* e = oracle_.find(k);
    const bool want = e != nullptr;
    GOMAP_EXPECT(v.has_value() == want, Rule::Lookup, "lookup finds exactly the keys in the map", want ? "found" : "absent",
           v ? "found" : "absent");
    if constexpr (kGomap) {
      GOMAP_EXPECT(map_->raw().contains(k) == want, Rule::Lookup, "contains agrees with find", want ? "true" : "false",
                   want ? "false" : "true");
    }
    if (!want) return "absent";
    const std::uint64_t got = *v;
    GOMAP_EXPECT(got == e->value, Rule::Lookup, "lookup returns the current value", std::to_string(e->value),
           std::to_string(got));
    return tracing_ ? std::string("= " + std::to_string(got)) : std::string();
  }

  std::string do_erase(const Key& k) {
    const bool want = oracle_.contains(k);
    bool got = false;
    if constexpr (HasStats<A>) {
      const gomap::Stats s0 = map_->stats();
      got = map_->erase(k);
      check_evacuation_progress(s0, map_->stats());
    } else {
      got = map_->erase(k);
    }
    GOMAP_EXPECT(got == want, Rule::Erase, "erase reports whether the key was there", want ? "true" : "false", got ? "true" : "false");
    if (want) oracle_erase(T::oracle_key(k));
    return got ? "erased" : "absent";
  }

  std::string do_clear() {
    if constexpr (!HasStats<A>) {
      map_->clear();
      oracle_.clear();
      for (auto& s : iters_)
        if (s.live()) s.model.on_clear();
      return tracing_ ? std::string("cleared") : std::string();
    } else {
      return do_clear_stats();
    }
  }
  std::string do_clear_stats() {
    const gomap::Stats s0 = map_->stats();
    map_->clear();
    const gomap::Stats s1 = map_->stats();
    oracle_.clear();
    for (auto& s : iters_)
      if (s.live()) s.model.on_clear();
    if (s0.count != 0) {
      GOMAP_EXPECT(s1.B == s0.B, Rule::Clear, "clear keeps B", "B=" + std::to_string(s0.B), "B=" + std::to_string(s1.B));
      GOMAP_EXPECT(s1.overflow_buckets == 0, Rule::Clear, "clear frees overflow buckets", "0", std::to_string(s1.overflow_buckets));
      GOMAP_EXPECT(!s1.growing, Rule::Clear, "clear drops the old buckets", "not growing", "growing");
      GOMAP_EXPECT(s1.clear_seq == s0.clear_seq + 1, Rule::Clear, "clear bumps the clear sequence", std::to_string(s0.clear_seq + 1),
             std::to_string(s1.clear_seq));
    }
    return tracing_ ? std::string("cleared (B=" + std::to_string(s1.B) + ")") : std::string();
  }

  std::string do_compact() {
    if constexpr (!kGomap) {
      return "compact: not run";  // adapters without compact() skip it (A::support)
    } else {
      return do_compact_gomap();
    }
  }
  std::string do_compact_gomap() {
    const gomap::Stats s0 = map_->stats();
    map_->raw().compact();
    const gomap::Stats s1 = map_->stats();
    if (s0.live_iterators == 0) {
      const unsigned want_b = go_b_for_count(s0.count);
      GOMAP_EXPECT(s1.B == want_b, Rule::Compact, "compact rebuilds to the smallest B that fits", "B=" + std::to_string(want_b),
             "B=" + std::to_string(s1.B));
      GOMAP_EXPECT(!s1.growing, Rule::Compact, "compact finishes growth", "not growing", "growing");
    } else {
      GOMAP_EXPECT(s1.B == s0.B && s1.growing == s0.growing, Rule::Compact, "compact is a no-op while iterators are live",
             "unchanged", "B=" + std::to_string(s1.B));
    }
    check_contents(Rule::Compact, "contents after compact");
    return tracing_ ? std::string("compacted to B=" + std::to_string(s1.B)) : std::string();
  }

  // Copies the map (copy construction, or on odd ops copy assignment over a
  // non-empty map, whose old entries must go), compares the copy with the
  // oracle, then writes to the copy and moves it: the original must not change.
  std::string do_copy_compare() {
    if constexpr (!std::is_copy_constructible_v<A> || !std::is_copy_assignable_v<A>) {
      return "copy_compare: not run";  // A::support skips it for an engine that cannot copy
    } else {
      [[maybe_unused]] gomap::Stats s0;
      if constexpr (HasStats<A>) s0 = map_->stats();
      const std::size_t n0 = map_->size();
      std::optional<A> copy;
      if (index_ % 2 == 0) {
        copy.emplace(*map_);
      } else {
        copy.emplace(0, 1, domain_);
        for (std::uint16_t c = 0; c < 3; ++c) copy->set(T::key(c, domain_), 200 + c);
        *copy = *map_;
      }
      if constexpr (HasInvariants<A>) copy->check_invariants();
      oracle_.compare(*copy, Rule::Copy, "copy of the map", true);
      // A deep copy: writes to the copy never show in the original.
      copy->set(T::key(0, domain_), 255);
      copy->clear();
      A moved(std::move(*copy));
      GOMAP_EXPECT(moved.size() == 0, Rule::Copy, "a moved-to map holds what was moved", "empty", std::to_string(moved.size()));
      if constexpr (HasStats<A>) {
        const gomap::Stats s1 = map_->stats();
        GOMAP_EXPECT(s1.count == s0.count && s1.B == s0.B, Rule::Copy, "copying does not change the original",
                     "count=" + std::to_string(s0.count), "count=" + std::to_string(s1.count));
      }
      GOMAP_EXPECT(map_->size() == n0, Rule::Copy, "copying does not change the original", std::to_string(n0) + " entries",
                   std::to_string(map_->size()) + " entries");
      return tracing_ ? std::string("copy matches (" + std::to_string(n0) + " entries)") : std::string();
    }
  }

  // ------------------------------------------------------------- iteration
  std::string do_iter_start(std::uint8_t i) {
    IterSlot& s = iters_[i];
    s.stop();
    s.model.start_over(oracle_);
    if constexpr (HasStats<A>) {
      const gomap::Stats st = map_->stats();
      s.growths_at_start = st.growths;
      s.growing_at_start = st.growing;
    }
    s.it.emplace(map_->begin());  // Go's mapiterinit yields the first entry at once
    std::string first = after_advance(s, i);
    return tracing_ ? "iterator " + std::to_string(i) + " started; " + first : std::string();
  }

  std::string do_iter_next(std::uint8_t i) {
    IterSlot& s = iters_[i];
    if (!s.live()) return "iterator " + std::to_string(i) + " not live";
    map_->next(*s.it);
    return after_advance(s, i);
  }

  std::string after_advance(IterSlot& s, std::uint8_t i) {
    if (s.map_replaced) {
      // The map object it follows had its contents replaced (move_map):
      // the iterator ends, whatever it had left.
      GOMAP_EXPECT(map_->done(*s.it), Rule::Iteration, "an iterator ends once its map is moved from or assigned to", "done",
                   "yielded " + T::show_key(map_->key(*s.it)));
      s.stop();
      return tracing_ ? "iterator " + std::to_string(i) + " done (its map was replaced)" : std::string();
    }
    if (map_->done(*s.it)) {
      s.model.on_done(oracle_, i);
      s.stop();
      return tracing_ ? "iterator " + std::to_string(i) + " done" : std::string();
    }
    const Key k = map_->key(*s.it);
    const std::uint64_t v = map_->value(*s.it);
    s.last_key = k;
    s.erased_under = false;
    s.model.on_yield(oracle_, k, v);
    if (T::is_nan(k)) return "yield NaN";
    return tracing_ ? std::string("yield " + T::show_key(k) + " = " + std::to_string(v)) : std::string();
  }

  std::string do_iter_erase_yielded(std::uint8_t i) {
    IterSlot& s = iters_[i];
    if (!s.last_key) return "iterator " + std::to_string(i) + " has yielded nothing";
    const Key k = *s.last_key;  // a copy: erase destroys the stored key
    if constexpr (kStl && ErasesThroughCursor<A>) {
      // Through the iterator, which moves on to an entry it has not yielded
      // yet; it has no yielded key until its next advance.
      if (s.live()) {
        const bool want = oracle_.contains(k);
        GOMAP_EXPECT(want, Rule::Erase, "the entry an iterator stands on is in the map", T::show_key(k) + " present", "absent");
        const std::size_t n0 = map_->size();
        map_->erase_at(*s.it);
        GOMAP_EXPECT(map_->size() + 1 == n0, Rule::Erase, "erase through an iterator removes one entry",
                     std::to_string(n0 - 1) + " entries", std::to_string(map_->size()));
        oracle_erase(T::oracle_key(k));
        s.last_key.reset();
        s.erased_under = true;
        return tracing_ ? "erase through iterator " + std::to_string(i) + ": " + T::show_key(k) : std::string();
      }
    }
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
    if constexpr (!kGomap) {
      if constexpr (std::is_copy_assignable_v<Cursor>) {
        // Any other engine: its cursor is a value; a moved-from one is not
        // used again (the standard promises nothing of it).
        to.it = *from.it;
        copy_model(from, to);
        if (move) from.stop();
      }
      return tracing_ ? "iterator " + std::to_string(j) + " = " + verb + " iterator " + std::to_string(i) : std::string();
    } else {
      return do_iter_transfer_gomap(from, to, i, j, move, verb);
    }
  }
  std::string do_iter_transfer_gomap(IterSlot& from, IterSlot& to, std::uint8_t i, std::uint8_t j, bool move, const char* verb) {
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
      GOMAP_EXPECT(from.it->done(), Rule::Iteration, "a moved-from iterator is finished", "done", "still yields");
      from.stop();
    } else {
      GOMAP_EXPECT(&to.it->key() == &from.it->key(), Rule::Iteration, "a copied iterator stands where the original does", "same entry",
                   "another entry");
    }
    const std::size_t live_after = map_->stats().live_iterators;
    GOMAP_EXPECT(live_after == want_after, Rule::Iteration, "copying or moving an iterator keeps the map's live-iterator count",
                 std::to_string(want_after) + " live iterators", std::to_string(live_after));
    return tracing_ ? "iterator " + std::to_string(j) + " = " + verb + " iterator " + std::to_string(i) : std::string();
  }

  // Everything an iterator slot knows but the engine iterator itself.
  void copy_model(const IterSlot& from, IterSlot& to) {
    to.model.copy_from(oracle_, from.model);
    to.last_key = from.last_key;
    to.growths_at_start = from.growths_at_start;
    to.growing_at_start = from.growing_at_start;
    to.map_replaced = from.map_replaced;
    to.erased_under = from.erased_under;
  }

  // Moves the map into a non-empty map (move assignment destroys that map's
  // entries), checks the moved-from map is empty and usable, then moves it
  // back with move construction and move assignment. The map object the
  // iterators follow has had its contents replaced, so they end.
  std::string do_move_map() {
    if constexpr (kGomap) {
      return do_move_map_gomap();
    } else if constexpr (std::is_move_assignable_v<A>) {
      // Any other engine: the moved-from state is the container's own
      // business (valid but unspecified for the standard's); what comes back
      // must hold what went out. The stl rules ended the iterators already.
      const std::size_t n0 = map_->size();
      A other(0, 2, domain_);
      for (std::uint16_t c = 0; c < 3; ++c) other.set(T::key(c, domain_), 100 + c);
      other = std::move(*map_);
      A middle(std::move(other));
      *map_ = std::move(middle);
      for (auto& slot : iters_)
        if (slot.live()) slot.map_replaced = true;
      oracle_.compare(*map_, Rule::Move, "contents after moving the map", true);
      return tracing_ ? std::string("moved out and back (" + std::to_string(n0) + " entries)") : std::string();
    } else {
      return "move_map: not run";  // A::support skips it for an engine that cannot move
    }
  }
  std::string do_move_map_gomap() {
    using MapT = typename A::Map;
    MapT& m = map_->raw();
    const gomap::Stats s0 = map_->stats();
    MapT other(0, gomap::Seed{2}, T::make_hash(domain_));
    for (std::uint16_t c = 0; c < 3; ++c) other.insert_or_assign(T::key(c, domain_), T::value(100 + c));
    other = std::move(m);
    GOMAP_EXPECT(m.empty() && m.stats().B == 0 && !m.stats().growing, Rule::Move, "a moved-from map is empty",
                 "empty, B=0", std::to_string(m.size()) + " entries");
    m.check_invariants();
    const gomap::Stats s1 = other.stats();
    GOMAP_EXPECT(s1.count == s0.count && s1.B == s0.B && s1.growing == s0.growing && s1.nevacuate == s0.nevacuate,
                 Rule::Move, "a move keeps the map's state", "count=" + std::to_string(s0.count) + " B=" + std::to_string(s0.B),
                 "count=" + std::to_string(s1.count) + " B=" + std::to_string(s1.B));
    MapT middle(std::move(other));
    GOMAP_EXPECT(other.empty(), Rule::Move, "a moved-from map is empty", "empty", std::to_string(other.size()) + " entries");
    m = std::move(middle);
    for (auto& slot : iters_)
      if (slot.live()) slot.map_replaced = true;
    oracle_.compare(*map_, Rule::Move, "contents after moving the map", true);
    return tracing_ ? std::string("moved out and back (" + std::to_string(s0.count) + " entries)") : std::string();
  }

  // ------------------------------------------------- the oracle and models
  // The oracle, and the models of the live iterators, follow each write.
  void oracle_insert(const Key& k, std::uint64_t v) {
    oracle_.insert(k, v);
    if (T::is_nan(k))
      for (auto& s : iters_)
        if (s.live()) s.model.on_insert_nan();
  }

  // (An erased entry takes what the iterators' models know of it along.)
  void oracle_erase(const OKey& ok) { oracle_.erase(ok); }

  // Lookups of every oracle key, and one full iteration of the map.
  void check_contents(Rule rule, const char* what) { oracle_.compare(*map_, rule, what, true); }

  // The key of a code in this run's domain. Building one is a string or a
  // 160-byte key each time, and the keys of a (domain, code) never change,
  // so each is built once per process and copied out: a copy, so the engine
  // still gets a key that dies after the op (ASan still sees an engine
  // that keeps a pointer to its argument).
  Key key_of(std::uint16_t code) const {
    if constexpr (std::is_arithmetic_v<Key>) {
      return T::key(code, domain_);
    } else {
      thread_local std::array<std::vector<std::unique_ptr<const Key>>, T::domains> built;
      std::vector<std::unique_ptr<const Key>>& keys = built[domain_];
      if (keys.empty()) keys.resize(std::size_t{1} << 16);
      std::unique_ptr<const Key>& k = keys[code];
      if (!k) k = std::make_unique<const Key>(T::key(code, domain_));
      return *k;
    }
  }

  // ---------------------------------------------------------------- checks
  std::string op_text() const {
    if (!started_) return "(creating the initial map)";
    if (index_ >= program_.ops.size()) return "(end of program)";
    const Op& op = program_.ops[index_];
    std::string s = "#" + std::to_string(index_) + " " + op_to_text(op);
    if (op_has_key(op.kind)) s += "  [key " + T::show_key(T::key(op.key, domain_)) + "]";
    return s;
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
  std::optional<A> map_;
  RunCounts counts_;
  Oracle<T> oracle_{&pool_};
  std::array<IterSlot, kMaxIterators> iters_{IterSlot(0), IterSlot(1), IterSlot(2), IterSlot(3)};
};

// Runs `p` as target T.
// Runs `p` as target T on the engine behind adapter A (the target's own by default).
template <class T, EngineAdapter A = adapter_of<T>>
RunResult execute(const Program& p, ExecOptions opts = {}) {
  return Executor<T, A>(p, std::move(opts)).run();
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
  r.failure = Failure{0, "(program)", Rule::Program, "the program names a known target", "one of: " + target_list(),
                      "target '" + p.target + "'"};
  return r;
}

}  // namespace gomap_harness
