// adapters/engine_adapter.hpp — what the executor needs of an engine under
// test, and the iteration rule set that says what the oracle may expect of it.
//
// The one executor (gomap_harness/executor.hpp) runs a program on any map
// behind an adapter. An adapter for target T (its key domain and value type)
// speaks in value codes, so an engine that stores no C++ values (the Go
// runtime over a pipe) fits as well as one that does:
//
//   A(hint, seed, domain)        make(map, hint); seed and domain as the program says
//   set(k, v) / incr(k)          m[k] = value(v) / m[k] += 1
//   get(k) -> optional<code>     v, ok := m[k]
//   erase(k) -> bool             delete(m, k), whether it was there
//   clear(), size()
//   for_each(f)                  one full iteration: f(key, value code) per entry
//   Cursor begin(); next(c); done(c); key(c); value(c)
//                                a pausable iteration, begin() already at the first entry
//   static rules                 IterRules::Go or IterRules::Stl (below)
//   static support(OpKind)       which program ops the engine runs at all
// Optional, detected by the executor: erase_at(Cursor&) (erase through the
// iterator, the stl rules' one mutation during iteration), stats() (gomap's
// Stats: the growth checks and coverage counters) and check_invariants().
//
// Rule sets. `go`: Go's guarantees (oracle.hpp's IterationModel) with any
// mutation during iteration. `stl`: only what the C++ standard promises of an
// unordered container while iterators are live: erasing through an iterator
// keeps it (and others) usable, assigning to an existing key changes no
// position; anything that may insert or rebuild (a new key, clear, a new map,
// a move) may rehash, so it ends every live iterator. The executor applies
// the rules itself (it ends the iterators and counts it) instead of asking
// the engine for behaviour the standard does not promise, and it never
// reports as a bug what the rules allow.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "gomap_harness/program.hpp"

namespace gomap_harness {

enum class IterRules : std::uint8_t { Go, Stl };

// What an engine does with one op of the program language.
enum class OpSupport : std::uint8_t {
  Run,        // runs as the language says
  Translate,  // runs as the closest thing the engine has (the adapter says what, in its header)
  Skip,       // the engine has no such thing: the executor skips it and counts it
};

// What the executor counts about a run besides its verdict.
struct RunCounts {
  std::size_t skipped_ops = 0;      // ops the engine does not have (OpSupport::Skip)
  std::size_t translated_ops = 0;   // ops run as a translation (OpSupport::Translate)
  std::size_t iterators_ended = 0;  // live iterators the rule set ended (stl: a mutation that may rehash)
  friend bool operator==(const RunCounts&, const RunCounts&) = default;
};

template <class A>
concept EngineAdapter = requires(A& a, const A& ca, const typename A::Key& k, std::uint64_t v,
                                 typename A::Cursor& c) {
  typename A::Key;
  typename A::Cursor;
  requires std::same_as<std::remove_cvref_t<decltype(A::rules)>, IterRules>;
  { A::engine } -> std::convertible_to<std::string_view>;
  { A::support(OpKind::Set) } -> std::same_as<OpSupport>;
  requires std::constructible_from<A, std::uint64_t, std::uint8_t, unsigned>;
  a.set(k, v);
  a.incr(k);
  { ca.get(k) } -> std::same_as<std::optional<std::uint64_t>>;
  { a.erase(k) } -> std::same_as<bool>;
  a.clear();
  { ca.size() } -> std::convertible_to<std::size_t>;
  { a.begin() } -> std::same_as<typename A::Cursor>;
  a.next(c);
  { ca.done(c) } -> std::same_as<bool>;
  { ca.key(c) } -> std::convertible_to<typename A::Key>;
  { ca.value(c) } -> std::same_as<std::uint64_t>;
};

template <class A>
concept HasStats = requires(const A& a) { a.stats(); };
template <class A>
concept HasInvariants = requires(const A& a) { a.check_invariants(); };
template <class A>
concept ErasesThroughCursor = requires(A& a, typename A::Cursor& c) { a.erase_at(c); };

}  // namespace gomap_harness
