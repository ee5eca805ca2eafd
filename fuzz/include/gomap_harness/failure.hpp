// gomap_harness/failure.hpp — what a failed check reports, and the rule
// families findings are grouped by.
//
// Every check names its family (a Rule) where it is written, so triage
// reads a failure's family from one machine-readable line,
// `failure-rule: <id>`, instead of guessing it from the prose. One engine
// bug often breaks several checks of one family (an off-by-one load factor
// breaks hint sizing and the growth trigger alike).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace gomap_harness {

enum class Rule : std::uint8_t {
  Size,           // len(m)
  LoadFactor,     // when growth starts, and the B that make(map, hint) and growth pick (go_rules.hpp)
  Evacuation,     // a growth's progress
  Lookup,         // find / contains
  Erase,          // erase's result
  Clear,          // clear(m)
  Compact,        // compact()
  Copy,           // copy construction and assignment
  Move,           // move construction and assignment of the map
  Iteration,      // Go's iteration guarantees, iterator copy and move
  Contents,       // the map's contents against the oracle
  ValueLifetime,  // every value constructed is destroyed once
  Invariants,     // check_invariants()
  Exception,      // the engine threw
  Program,        // the program itself (names no known target)
  // The concurrent maps under the controlled scheduler (concurrent_program.hpp):
  Linearizability,  // the recorded history has no legal sequential order
  Deadlock,         // every unfinished logical thread waits for a lock
  Livelock,         // a run passed its bound of scheduling points
  // Go's own map in lockstep (fuzz/go_oracle, ci/go-oracle.sh):
  GoDisagreement,   // gomap's B after an op differs from the Go runtime's
};

// The ids, kebab-case, in Rule order: what `failure-rule:` prints.
inline constexpr std::array<std::string_view, 19> kRuleIds = {
    "size",     "load-factor", "evacuation", "lookup",         "erase",      "clear",     "compact", "copy",
    "move",     "iteration",   "contents",   "value-lifetime", "invariants", "exception", "program",
    "linearizability", "deadlock", "livelock", "go-disagreement"};
static_assert(kRuleIds.size() == static_cast<std::size_t>(Rule::GoDisagreement) + 1, "one id per Rule");

constexpr std::string_view rule_id(Rule r) { return kRuleIds[static_cast<std::size_t>(r)]; }
inline std::optional<Rule> rule_from_id(std::string_view id) {
  for (std::size_t i = 0; i < kRuleIds.size(); ++i)
    if (kRuleIds[i] == id) return static_cast<Rule>(i);
  return std::nullopt;
}

struct Failure {
  std::size_t op_index = 0;  // index into Program::ops; ops.size() for end-of-program checks
  std::string op_text;
  Rule rule = Rule::Contents;
  std::string what;      // which rule broke, for people
  std::string expected;  // what the oracle or the rule says
  std::string actual;    // what the engine did
};

namespace detail {
// Thrown by a failed check and caught by the executor, which adds the op.
struct CheckFailed {
  Rule rule;
  std::string what, expected, actual;
};
}  // namespace detail

[[noreturn]] inline void fail_check(Rule rule, std::string what, std::string expected, std::string actual) {
  throw detail::CheckFailed{rule, std::move(what), std::move(expected), std::move(actual)};
}

// Evaluates the description only when the check fails: checks run after
// every op, so building their strings eagerly would dominate fuzzing time.
#define GOMAP_EXPECT(cond, rule, what, expected, actual)                                  \
  do {                                                                                    \
    if (!(cond)) ::gomap_harness::fail_check((rule), (what), (expected), (actual));      \
  } while (0)

// The family as people read it: the rule's id, and for check_invariants()
// the invariant the engine named ("invariants: overflow-count").
inline std::string rule_family(const Failure& f) {
  std::string family(rule_id(f.rule));
  if (f.rule == Rule::Invariants) {
    const auto a = f.actual.find("invariant '");
    const auto b = a == std::string::npos ? a : f.actual.find('\'', a + 11);
    if (b != std::string::npos) family += ": " + f.actual.substr(a + 11, b - a - 11);
  }
  return family;
}

// A one-paragraph description of a failure for people, and one line for
// tools: `failure-rule: <id>` (last, so that a first match on "rule:" still
// finds the line for people).
inline std::string describe_failure(const Failure& f) {
  std::ostringstream o;
  o << "FAILED at " << f.op_text << "\n"
    << "  rule:     [" << rule_family(f) << "] " << f.what << "\n"
    << "  expected: " << f.expected << "\n"
    << "  actual:   " << f.actual << "\n"
    << "failure-rule: " << rule_id(f.rule) << "\n";
  return o.str();
}

}  // namespace gomap_harness
