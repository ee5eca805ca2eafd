// The executor on hand-built programs: correct runs of every op kind pass on
// every target (engine bugs being caught is proven by the canary builds).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "gomap_harness/executor.hpp"

namespace gh = gomap_harness;
using gh::OpKind;

namespace {

// A small builder for programs.
struct P {
  gh::Program p;
  explicit P(unsigned domain = 0, bool deep = true, std::uint8_t seed = 1) {
    p.config.domain = static_cast<std::uint8_t>(domain);
    p.config.deep = deep;
    p.config.seed = seed;
  }
  P& op(OpKind k) {
    gh::Op o;
    o.kind = k;
    p.ops.push_back(o);
    return *this;
  }
  P& set(std::uint16_t k, std::uint8_t v) {
    gh::Op o;
    o.kind = OpKind::Set, o.key = k, o.value = v;
    p.ops.push_back(o);
    return *this;
  }
  P& keyed(OpKind kind, std::uint16_t k) {
    gh::Op o;
    o.kind = kind, o.key = k;
    p.ops.push_back(o);
    return *this;
  }
  P& get(std::uint16_t k) { return keyed(OpKind::Get, k); }
  P& erase(std::uint16_t k) { return keyed(OpKind::Erase, k); }
  P& incr(std::uint16_t k) { return keyed(OpKind::Incr, k); }
  P& iter(OpKind kind, std::uint8_t i, std::uint8_t v = 0) {
    gh::Op o;
    o.kind = kind, o.iter = i, o.value = v;
    p.ops.push_back(o);
    return *this;
  }
  P& next(std::uint8_t i, int times = 1) {
    for (int t = 0; t < times; ++t) iter(OpKind::IterNext, i);
    return *this;
  }
  P& new_map(std::uint64_t hint, std::uint8_t seed) {
    gh::Op o;
    o.kind = OpKind::NewMap, o.hint = *gh::code_from_hint(hint), o.seed = seed;
    p.ops.push_back(o);
    return *this;
  }
  P& fill(std::uint16_t from, std::uint16_t to, std::uint8_t v = 1) {
    for (std::uint16_t k = from; k < to; ++k) set(k, v);
    return *this;
  }
};

template <class T>
void expect_ok(const gh::Program& p) {
  std::vector<std::string> trace;
  gh::ExecOptions opts;
  opts.on_op_begin = [](const std::string&) {};
  opts.on_op_end = [&](const std::string& r) { trace.push_back(r); };
  const gh::RunResult r = gh::execute<T>(p, opts);
  EXPECT_TRUE(r.ok) << T::name << ": " << (r.failure ? gh::describe_failure(*r.failure) : "") << gh::to_text(p);
  EXPECT_EQ(r.ops_run, p.ops.size()) << T::name;
  EXPECT_EQ(trace.size(), p.ops.size()) << T::name;
  // A run is a function of the program: the same program gives the same trace.
  std::vector<std::string> again;
  opts.on_op_end = [&](const std::string& s) { again.push_back(s); };
  (void)gh::execute<T>(p, opts);
  EXPECT_EQ(trace, again) << T::name;
}

template <class T>
void expect_ok_all_domains(P builder) {
  for (unsigned d = 0; d < T::domains; ++d) {
    builder.p.config.domain = static_cast<std::uint8_t>(d);
    SCOPED_TRACE(std::string(T::name) + " domain " + std::to_string(d));
    expect_ok<T>(builder.p);
  }
}

#define FOR_EVERY_TARGET(builder)                          \
  do {                                                     \
    expect_ok_all_domains<gh::U64Target>(builder);         \
    expect_ok_all_domains<gh::StringTarget>(builder);      \
    expect_ok_all_domains<gh::DoubleTarget>(builder);      \
    expect_ok_all_domains<gh::BigKeyTarget>(builder);      \
    expect_ok_all_domains<gh::CollideTarget>(builder);     \
  } while (0)

}  // namespace

TEST(Executor, BasicOps) {
  P b;
  b.set(1, 10).set(2, 20).get(1).get(3).incr(1).incr(7).erase(2).erase(2).op(OpKind::Len).set(1, 5).op(OpKind::Check);
  FOR_EVERY_TARGET(b);
}

TEST(Executor, GrowthAndErase) {
  P b;
  b.fill(0, 300).op(OpKind::Len);
  for (std::uint16_t k = 0; k < 300; k += 3) b.erase(k);
  b.fill(0, 64, 9).op(OpKind::Check);
  FOR_EVERY_TARGET(b);
}

TEST(Executor, ClearCompactCopyCompareNewMap) {
  P b;
  b.fill(0, 100).op(OpKind::CopyCompare).op(OpKind::Clear).op(OpKind::Len).fill(0, 20).op(OpKind::Compact);
  b.op(OpKind::CopyCompare).new_map(200, 7).fill(0, 50).new_map(0, 8).new_map(~std::uint64_t(0), 9).set(1, 1);
  b.new_map(std::uint64_t(1) << 62, 10).fill(0, 30).op(OpKind::Compact).op(OpKind::Check);
  FOR_EVERY_TARGET(b);
}

TEST(Executor, IteratorsAcrossGrowth) {
  P b;
  b.fill(0, 9).iter(OpKind::IterStart, 0).next(0, 2);
  b.fill(9, 40);  // growth starts, and proceeds under the live iterator
  b.iter(OpKind::IterStart, 1).next(1).iter(OpKind::IterEraseYielded, 0).iter(OpKind::IterSetYielded, 1, 77);
  b.next(0, 3).fill(40, 120).next(1, 5).erase(3).erase(4).next(0, 200).next(1, 200);
  b.iter(OpKind::IterStop, 0).iter(OpKind::IterStop, 1).op(OpKind::Check);
  FOR_EVERY_TARGET(b);
}

TEST(Executor, IteratorsAcrossClear) {
  P b;
  b.fill(0, 13).iter(OpKind::IterStart, 0).set(13, 1).next(0).set(14, 1).op(OpKind::Clear);
  b.next(0, 3).set(3, 5).next(0, 40);
  b.fill(0, 30).iter(OpKind::IterStart, 2).next(2, 4).op(OpKind::Clear).fill(0, 10).next(2, 40);
  b.iter(OpKind::IterStart, 3).next(3, 2).new_map(8, 3).set(1, 1).next(3, 20);  // the old map's iterator
  FOR_EVERY_TARGET(b);
}

TEST(Executor, IteratorOpsOnIdleSlots) {
  P b;
  b.next(0).iter(OpKind::IterEraseYielded, 1).iter(OpKind::IterSetYielded, 2, 3).iter(OpKind::IterStop, 3);
  b.iter(OpKind::IterStart, 0).next(0, 3).iter(OpKind::IterStart, 0).next(0, 3);  // restart a live slot
  FOR_EVERY_TARGET(b);
}

TEST(Executor, NaNAndSignedZeroOnDoubleTarget) {
  // Domain 0: code 0, 1, 2 are NaNs (quiet, signalling payload, negative); 3 is +0.0, 4 is -0.0.
  P b(0);
  b.set(0, 1).set(0, 2).set(1, 3).set(2, 4).get(0).erase(0).incr(0).op(OpKind::Len);
  b.set(4, 9).set(3, 8).get(4).get(3).erase(4).get(3).set(3, 1).set(4, 2);
  b.iter(OpKind::IterStart, 0).next(0, 3).fill(5, 16).fill(0, 3).next(0, 40);
  b.op(OpKind::CopyCompare).op(OpKind::Compact).op(OpKind::Check).op(OpKind::Clear).set(0, 1).op(OpKind::Len);
  expect_ok_all_domains<gh::DoubleTarget>(b);
  // Domain 2: every code % 32 == 0 is a NaN: many NaN entries across growth, with iterators.
  P c(2);
  c.iter(OpKind::IterStart, 1);
  for (std::uint16_t k = 0; k < 2000; k += 16) c.set(k, 1);
  c.next(1, 10).iter(OpKind::IterStart, 2).next(2, 300).next(1, 300).op(OpKind::Check);
  c.p.config.domain = 2;
  expect_ok<gh::DoubleTarget>(c.p);
}

TEST(Executor, RandomProgramsPass) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 60; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 400);
    for (auto& x : bytes) x = static_cast<std::uint8_t>(rng());
    gh::Program p = gh::decode(bytes.data(), bytes.size());
    p.config.deep = true;
    for (std::string_view t : gh::kTargetNames) {
      p.target = std::string(t);
      const auto r = gh::execute_named(p);
      ASSERT_TRUE(r.has_value());
      EXPECT_TRUE(r->ok) << t << ": " << (r->failure ? gh::describe_failure(r->failure.value()) : "") << gh::to_text(p);
    }
  }
}

TEST(Executor, RunTextProgram) {
  EXPECT_TRUE(gh::run_text_program("target map_string\nset 1 2\nget 1\nlen\n").ok);
  const gh::RunResult r = gh::run_text_program("set 1 2\nget 1\n");  // no target
  EXPECT_FALSE(r.ok);
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_NE(r.failure->what.find("target"), std::string::npos);
  EXPECT_FALSE(gh::execute_named(gh::parse_text("set 1 1\n")).has_value());
  EXPECT_THROW(gh::run_text_program("target map_u64\nset 1\n"), gh::ParseError);
}

// ---- failures name their rule family (failure.hpp)

namespace {
// map_u64 with a value reader that is off by one: every read of a value
// disagrees with the oracle, so the first check that reads one fails.
struct OffByOneValues : gh::U64Target {
  static std::uint64_t value_code(const gh::TrackedValue& v) { return v.code() + 1; }
};
}  // namespace

TEST(Failure, ChecksNameTheirRuleFamily) {
  auto failure_of = [](const char* text) {
    const gh::RunResult r = gh::execute<OffByOneValues>(gh::parse_text(text));
    EXPECT_FALSE(r.ok) << text;
    return r.failure.value_or(gh::Failure{});
  };
  const gh::Failure lookup = failure_of("set 1 1\nget 1\n");
  EXPECT_EQ(lookup.rule, gh::Rule::Lookup);
  const std::string d = gh::describe_failure(lookup);
  EXPECT_NE(d.find("  rule:     [lookup] lookup returns the current value\n"), std::string::npos) << d;
  // The machine line is last, so a first match on "rule:" finds the line for people.
  EXPECT_EQ(d.substr(d.size() - std::string("failure-rule: lookup\n").size()), "failure-rule: lookup\n") << d;
  EXPECT_EQ(failure_of("set 1 1\niter_start 0\n").rule, gh::Rule::Iteration);
  EXPECT_EQ(failure_of("set 1 1\ncopy_compare\n").rule, gh::Rule::Copy);
  EXPECT_EQ(failure_of("set 1 1\ncompact\n").rule, gh::Rule::Compact);
  EXPECT_EQ(failure_of("set 1 1\nmove_map\n").rule, gh::Rule::Move);
  EXPECT_EQ(failure_of("set 1 1\n").rule, gh::Rule::Contents);  // the final comparison
  const gh::RunResult unknown = gh::run_text_program("set 1 1\n");
  ASSERT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.failure->rule, gh::Rule::Program);
}

TEST(Failure, RuleIdsAreKebabCaseAndRoundTrip) {
  for (std::size_t i = 0; i < gh::kRuleIds.size(); ++i) {
    const std::string_view id = gh::kRuleIds[i];
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz-"), std::string_view::npos) << id;
    EXPECT_EQ(gh::rule_from_id(id), static_cast<gh::Rule>(i)) << id;
  }
  gh::Failure inv{0, "#0 set 1 1", gh::Rule::Invariants, "check_invariants()", "no violation",
                  "gomap invariant 'overflow-count' violated at bucket 3: 2 != 1"};
  EXPECT_EQ(gh::rule_family(inv), "invariants: overflow-count");
}

// Go's sizing rules as Go's own tests state them (go_rules.hpp).
TEST(GoRules, GrowthPointsAndHints) {
  EXPECT_EQ(gh::go_b_for_hint(0), 0u);
  EXPECT_EQ(gh::go_b_for_hint(8), 0u);
  EXPECT_EQ(gh::go_b_for_hint(9), 1u);
  EXPECT_EQ(gh::go_b_for_hint(52), 3u);
  EXPECT_EQ(gh::go_b_for_hint(53), 4u);
  EXPECT_EQ(gh::go_b_for_hint(std::uint64_t(1) << 62), 0u);  // absurd: ignored
  EXPECT_FALSE(gh::go_over_load_factor(13, 1));
  EXPECT_TRUE(gh::go_over_load_factor(14, 1));
  EXPECT_TRUE(gh::go_too_many_overflow(1u << 15, 20));
  EXPECT_FALSE(gh::go_too_many_overflow((1u << 15) - 1, 20));
}
