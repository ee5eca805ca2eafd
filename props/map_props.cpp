// Properties of gomap::Map against the oracle. Every property draws programs
// from the one generator (gomap_harness/rc_generators.hpp) and runs them
// through the one executor, which checks results, sizes, contents and Go's
// iteration guarantees after every op. See props/README.md.
#include <random>
#include <unordered_map>

#include "props_support.hpp"

namespace gh = gomap_harness;
using gomap_props::fail_with_program;
using gomap_props::run_and_check;
using gomap_props::trace_of;

namespace {

template <class T>
rc::Gen<gh::Program> programs(const gh::rcgen::OpMix& mix = {}) {
  return gh::rcgen::program(std::string(T::name), T::domains, mix);
}

// Changes every engine seed the program uses, and nothing else.
gh::Program reseeded(gh::Program p, std::uint8_t delta) {
  p.config.seed = static_cast<std::uint8_t>(p.config.seed + delta);
  for (gh::Op& op : p.ops)
    if (op.kind == gh::OpKind::NewMap) op.seed = static_cast<std::uint8_t>(op.seed + delta);
  return p;
}

}  // namespace

// ---- model equivalence with the oracle after every op (the main property)
RC_GTEST_PROP(ModelEquivalence, U64, ()) { run_and_check<gh::U64Target>("ModelEquivalence_U64", *programs<gh::U64Target>()); }
RC_GTEST_PROP(ModelEquivalence, String, ()) {
  run_and_check<gh::StringTarget>("ModelEquivalence_String", *programs<gh::StringTarget>());
}
RC_GTEST_PROP(ModelEquivalence, Double, ()) {
  run_and_check<gh::DoubleTarget>("ModelEquivalence_Double", *programs<gh::DoubleTarget>());
}
RC_GTEST_PROP(ModelEquivalence, Struct, ()) {
  run_and_check<gh::StructTarget>("ModelEquivalence_Struct", *programs<gh::StructTarget>());
}
RC_GTEST_PROP(IterationAcrossGrowth, Struct, ()) {
  run_and_check<gh::StructTarget>(
      "IterationAcrossGrowth_Struct",
      *gh::rcgen::program_near_growth(std::string(gh::StructTarget::name), gh::StructTarget::domains));
}
RC_GTEST_PROP(ClearSemantics, ClearMidIterationStruct, ()) {
  run_and_check<gh::StructTarget>(
      "ClearSemantics_ClearMidIterationStruct",
      *gh::rcgen::program_clear_mid_iteration(std::string(gh::StructTarget::name), gh::StructTarget::domains));
}
RC_GTEST_PROP(ModelEquivalence, BigKey, ()) {
  run_and_check<gh::BigKeyTarget>("ModelEquivalence_BigKey", *programs<gh::BigKeyTarget>());
}
RC_GTEST_PROP(ModelEquivalence, Collide, ()) {
  run_and_check<gh::CollideTarget>("ModelEquivalence_Collide", *programs<gh::CollideTarget>());
}

// ---- Go's iteration guarantees under mutation, nested iterators included
RC_GTEST_PROP(IterationGuarantees, U64, ()) {
  run_and_check<gh::U64Target>("IterationGuarantees_U64", *programs<gh::U64Target>(gh::rcgen::OpMix::iteration_heavy()));
}
RC_GTEST_PROP(IterationGuarantees, String, ()) {
  run_and_check<gh::StringTarget>("IterationGuarantees_String",
                                  *programs<gh::StringTarget>(gh::rcgen::OpMix::iteration_heavy()));
}
RC_GTEST_PROP(IterationGuarantees, Double, ()) {
  run_and_check<gh::DoubleTarget>("IterationGuarantees_Double",
                                  *programs<gh::DoubleTarget>(gh::rcgen::OpMix::iteration_heavy()));
}

// Programs that start just below a growth threshold, so that iterators are
// started, advanced and outlived while a growth is in progress (NaN keys
// then choose their half from the tophash, Go's rule for live iterators).
RC_GTEST_PROP(IterationAcrossGrowth, U64, ()) {
  run_and_check<gh::U64Target>("IterationAcrossGrowth_U64",
                               *gh::rcgen::program_near_growth(std::string(gh::U64Target::name), gh::U64Target::domains));
}
RC_GTEST_PROP(IterationAcrossGrowth, Double, ()) {
  run_and_check<gh::DoubleTarget>(
      "IterationAcrossGrowth_Double",
      *gh::rcgen::program_near_growth(std::string(gh::DoubleTarget::name), gh::DoubleTarget::domains));
}
RC_GTEST_PROP(IterationAcrossGrowth, DoubleEraseWhileRanging, ()) {
  run_and_check<gh::DoubleTarget>(
      "IterationAcrossGrowth_DoubleErase",
      *gh::rcgen::program_near_growth(std::string(gh::DoubleTarget::name), gh::DoubleTarget::domains,
                                      gh::rcgen::OpMix::erase_while_iterating()));
}
RC_GTEST_PROP(IterationAcrossGrowth, String, ()) {
  run_and_check<gh::StringTarget>(
      "IterationAcrossGrowth_String",
      *gh::rcgen::program_near_growth(std::string(gh::StringTarget::name), gh::StringTarget::domains));
}

// ---- clear: size 0, nothing cleared is yielded, B kept, overflow freed, NaN
// removed (the executor checks each after every clear)
RC_GTEST_PROP(ClearSemantics, DoubleWithIterators, ()) {
  gh::rcgen::OpMix mix = gh::rcgen::OpMix::iteration_heavy();
  mix[gh::OpKind::Clear] = 4;
  run_and_check<gh::DoubleTarget>("ClearSemantics_Double", *programs<gh::DoubleTarget>(mix));
}
RC_GTEST_PROP(ClearSemantics, CollideWithIterators, ()) {
  gh::rcgen::OpMix mix = gh::rcgen::OpMix::iteration_heavy();
  mix[gh::OpKind::Clear] = 4;
  run_and_check<gh::CollideTarget>("ClearSemantics_Collide", *programs<gh::CollideTarget>(mix));
}

RC_GTEST_PROP(ClearSemantics, ClearMidIterationCollide, ()) {
  run_and_check<gh::CollideTarget>(
      "ClearSemantics_ClearMidIterationCollide",
      *gh::rcgen::program_clear_mid_iteration(std::string(gh::CollideTarget::name), gh::CollideTarget::domains));
}
RC_GTEST_PROP(ClearSemantics, ClearMidIterationDouble, ()) {
  run_and_check<gh::DoubleTarget>(
      "ClearSemantics_ClearMidIterationDouble",
      *gh::rcgen::program_clear_mid_iteration(std::string(gh::DoubleTarget::name), gh::DoubleTarget::domains));
}

// ---- churn: overflow buckets left by erases, same-size growth
RC_GTEST_PROP(Churn, Collide, ()) {
  run_and_check<gh::CollideTarget>("Churn_Collide",
                                   *gh::rcgen::program_churn(std::string(gh::CollideTarget::name), gh::CollideTarget::domains));
}
RC_GTEST_PROP(Churn, U64, ()) {
  run_and_check<gh::U64Target>("Churn_U64", *gh::rcgen::program_churn(std::string(gh::U64Target::name), gh::U64Target::domains));
}
RC_GTEST_PROP(Churn, String, ()) {
  run_and_check<gh::StringTarget>("Churn_String",
                                  *gh::rcgen::program_churn(std::string(gh::StringTarget::name), gh::StringTarget::domains));
}

// ---- check_invariants() after every op
RC_GTEST_PROP(InvariantsAfterEveryOp, U64, ()) {
  gh::ExecOptions deep;
  deep.deep = true;
  run_and_check<gh::U64Target>("InvariantsAfterEveryOp_U64", *programs<gh::U64Target>(), deep);
}
RC_GTEST_PROP(InvariantsAfterEveryOp, Collide, ()) {
  gh::ExecOptions deep;
  deep.deep = true;
  run_and_check<gh::CollideTarget>("InvariantsAfterEveryOp_Collide", *programs<gh::CollideTarget>(), deep);
}
RC_GTEST_PROP(InvariantsAfterEveryOp, Double, ()) {
  gh::ExecOptions deep;
  deep.deep = true;
  run_and_check<gh::DoubleTarget>("InvariantsAfterEveryOp_Double", *programs<gh::DoubleTarget>(), deep);
}

// ---- determinism: the same seed gives the same observable trace, iteration
// order included
RC_GTEST_PROP(Determinism, SameSeedSameTrace, ()) {
  const gh::Program p = *programs<gh::DoubleTarget>(gh::rcgen::OpMix::iteration_heavy());
  bool ok1 = false, ok2 = false;
  const auto a = trace_of<gh::DoubleTarget>(p, &ok1);
  const auto b = trace_of<gh::DoubleTarget>(p, &ok2);
  if (a != b) {
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    fail_with_program("Determinism", p,
                      "two runs of the same program differ at line " + std::to_string(i) + ":\n  first:  " +
                          (i < a.size() ? a[i] : "(end)") + "\n  second: " + (i < b.size() ? b[i] : "(end)"));
  }
  RC_ASSERT(ok1 == ok2);
}

// ---- seed independence: contents and sizes never depend on the seed (no
// iteration here: its order is what the seed is for)
RC_GTEST_PROP(SeedIndependence, ContentsAndSizes, ()) {
  const gh::Program p = *programs<gh::U64Target>(gh::rcgen::OpMix::no_iteration());
  const std::uint8_t delta = *rc::gen::inRange<std::uint8_t>(1, 255);
  const gh::Program q = reseeded(p, delta);
  auto strip_seeds = [](std::vector<std::string> lines) {
    std::vector<std::string> out;
    for (auto& l : lines)
      if (l.find(" new_map ") == std::string::npos) out.push_back(std::move(l));
    return out;
  };
  const auto a = strip_seeds(trace_of<gh::U64Target>(p));
  const auto b = strip_seeds(trace_of<gh::U64Target>(q));
  if (a != b) {
    std::size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    fail_with_program("SeedIndependence", p,
                      "seed +" + std::to_string(delta) + " changes an observable result at line " + std::to_string(i) +
                          ":\n  seed a: " + (i < a.size() ? a[i] : "(end)") + "\n  seed b: " + (i < b.size() ? b[i] : "(end)"));
  }
}

// ---- a copy is deep: writing to one never changes the other
RC_GTEST_PROP(CopyIsDeep, WritesNeverCross, ()) {
  using M = gomap::Map<std::uint64_t, std::uint64_t>;
  const auto keys = *rc::gen::container<std::vector<std::uint8_t>>(rc::gen::arbitrary<std::uint8_t>());
  const auto writes = *rc::gen::container<std::vector<std::pair<std::uint8_t, bool>>>(
      rc::gen::pair(rc::gen::arbitrary<std::uint8_t>(), rc::gen::arbitrary<bool>()));
  const std::uint64_t seed = *rc::gen::arbitrary<std::uint64_t>();
  M original(0, gomap::Seed{seed});
  std::unordered_map<std::uint64_t, std::uint64_t> expect;
  for (std::uint8_t k : keys) {
    original.insert_or_assign(k, k * 3u);
    expect[k] = k * 3u;
  }
  M copy(original);
  M assigned(0, gomap::Seed{seed + 1});
  assigned = original;
  for (auto [k, erase] : writes) {
    if (erase) {
      copy.erase(k);
      assigned.erase(k);
    } else {
      copy.insert_or_assign(k, 7);
      assigned[k] += 1;
    }
    original.insert_or_assign(1000 + k, 1);  // and the other way round
    expect[1000 + k] = 1;
  }
  RC_ASSERT(original.size() == expect.size());
  for (const auto& [k, v] : expect) RC_ASSERT(original.find(k) != nullptr && *original.find(k) == v);
  for (auto [k, erase] : writes) {
    (void)erase;
    RC_ASSERT(copy.find(1000u + k) == nullptr);
    RC_ASSERT(assigned.find(1000u + k) == nullptr);
  }
  original.check_invariants();
  copy.check_invariants();
  assigned.check_invariants();
}

// ---- hint sizing matches Go's makemap, and `hint` inserts never grow
RC_GTEST_PROP(HintSizing, MatchesGo, ()) {
  const std::size_t hint = *rc::gen::weightedOneOf<std::size_t>(
      {{6, rc::gen::inRange<std::size_t>(0, 3000)}, {1, rc::gen::inRange<std::size_t>(0, 200000)}});
  gomap::Map<std::uint64_t, std::uint64_t> m(hint, gomap::Seed{hint});
  const unsigned want = gh::go_b_for_hint(hint);
  RC_ASSERT(m.stats().B == want);
  const std::size_t n = std::min<std::size_t>(hint, 20000);
  for (std::size_t i = 0; i < n; ++i) m.insert_or_assign(gh::splitmix64(i), i);
  RC_ASSERT(m.stats().B == want);  // Go sizes B so that `hint` entries fit without growing
  RC_ASSERT(!m.stats().growing);
}

// ---- compact keeps contents and meets its size bound
RC_GTEST_PROP(Compact, KeepsContentsAndShrinks, ()) {
  const auto inserted = *rc::gen::inRange<std::size_t>(0, 3000);
  const auto kept_per_mille = *rc::gen::inRange<unsigned>(0, 1000);
  gomap::Map<std::uint64_t, std::uint64_t> m(0, gomap::Seed{inserted});
  std::unordered_map<std::uint64_t, std::uint64_t> expect;
  for (std::size_t i = 0; i < inserted; ++i) {
    const std::uint64_t k = gh::splitmix64(i);
    m.insert_or_assign(k, i);
    if ((gh::splitmix64(k) % 1000) < kept_per_mille) expect[k] = i;
  }
  for (std::size_t i = 0; i < inserted; ++i) {
    const std::uint64_t k = gh::splitmix64(i);
    if (!expect.count(k)) m.erase(k);
  }
  m.compact();
  const gomap::Stats s = m.stats();
  RC_ASSERT(s.B == gh::go_b_for_count(expect.size()));
  RC_ASSERT(!s.growing);
  RC_ASSERT(s.count == expect.size());
  for (const auto& [k, v] : expect) RC_ASSERT(m.find(k) != nullptr && *m.find(k) == v);
  m.check_invariants();
}

// ---- memory bound for uniform keys (documented in props/README.md): at most
// 1 KiB + 80 bytes per entry for Map<uint64_t, uint64_t>, growth in progress
// included, and no more overflow buckets than half the buckets plus two.
RC_GTEST_PROP(MemoryBound, UniformKeys, ()) {
  const std::size_t n = *rc::gen::inRange<std::size_t>(1, 20000);
  const std::uint64_t salt = *rc::gen::arbitrary<std::uint64_t>();
  gomap::Map<std::uint64_t, std::uint64_t> m(0, gomap::Seed{salt});
  for (std::size_t i = 0; i < n; ++i) {
    m.insert_or_assign(gh::splitmix64(i ^ salt), i);
    if ((i & (i + 1)) == 0 || i + 1 == n) {  // at powers of two and at the end
      const gomap::Stats s = m.stats();
      RC_ASSERT(s.bytes <= 1024 + 80 * s.count);
      RC_ASSERT(s.overflow_buckets <= s.buckets / 2 + 2);
    }
  }
}
