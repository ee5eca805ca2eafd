// The engine adapters (fuzz/adapters/) and the stl rule set: each shipped
// adapter meets the concept; under the stl rules a mutation the standard does
// not allow during iteration ends the live iterators and is counted, never
// reported; ops an engine lacks are skipped and counted; and checks made
// through an adapter still catch a wrong engine (two broken adapters below).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gomap_harness/executor.hpp"

namespace gh = gomap_harness;

namespace {

static_assert(gh::EngineAdapter<gh::GomapAdapter<gh::U64Target>>);
static_assert(gh::EngineAdapter<gh::StdUnorderedAdapter<gh::U64Target>>);
static_assert(gh::EngineAdapter<gh::AbslFlatAdapter<gh::U64Target>>);
static_assert(gh::EngineAdapter<gh::BoostFlatAdapter<gh::U64Target>>);
// The map_* targets run on gomap unless they say otherwise.
static_assert(std::is_same_v<gh::adapter_of<gh::StringTarget>, gh::GomapAdapter<gh::StringTarget>>);
static_assert(std::is_same_v<gh::adapter_of<gh::StdU64Target>, gh::StdUnorderedAdapter<gh::StdU64Target>>);

gh::Program text(const std::string& target, const std::string& body) {
  return gh::parse_text("target " + target + "\ndomain 1\nseed 1\nhint 0\ndeep 1\n" + body);
}

std::string fill(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "set " + std::to_string(i) + " " + std::to_string(i + 1) + "\n";
  return s;
}

template <class T>
gh::RunResult run(const std::string& body) {
  return gh::execute<T>(text(std::string(T::name), body));
}

template <class T>
class StlTargets : public ::testing::Test {};
using StlTargetTypes = ::testing::Types<gh::StdU64Target, gh::AbslU64Target, gh::BoostU64Target>;
TYPED_TEST_SUITE(StlTargets, StlTargetTypes);

TYPED_TEST(StlTargets, ANewKeyEndsEveryLiveIteratorAndIsCounted) {
  const gh::RunResult r = run<TypeParam>(fill(10) + "iter_start 0\niter_start 1\nset 100 1\niter_next 0\niter_next 1\ncheck\n");
  ASSERT_TRUE(r.ok) << gh::describe_failure(*r.failure);
  EXPECT_EQ(r.counts.iterators_ended, 2u);
  EXPECT_EQ(r.counts.skipped_ops, 0u);
}

TYPED_TEST(StlTargets, AssigningAPresentKeyKeepsTheIterators) {
  // Ten entries, every one yielded once although keys are reassigned in between.
  std::string body = fill(10) + "iter_start 0\n";
  for (int i = 0; i < 10; ++i) body += "set " + std::to_string(i) + " 9\nincr " + std::to_string(i) + "\niter_next 0\n";
  const gh::RunResult r = run<TypeParam>(body);
  ASSERT_TRUE(r.ok) << gh::describe_failure(*r.failure);
  EXPECT_EQ(r.counts.iterators_ended, 0u);
}

TYPED_TEST(StlTargets, EraseThroughTheIteratorVisitsEveryEntry) {
  std::string body = fill(30) + "iter_start 0\n";
  for (int i = 0; i < 30; ++i) body += (i % 3 ? "iter_next 0\n" : "iter_erase_yielded 0\niter_next 0\n");
  body += "iter_next 0\niter_next 0\ncheck\n";
  const gh::RunResult r = run<TypeParam>(body);
  ASSERT_TRUE(r.ok) << gh::describe_failure(*r.failure);
  EXPECT_EQ(r.counts.iterators_ended, 0u);
}

TYPED_TEST(StlTargets, WholeMapOpsEndIteratorsAndCompactIsSkipped) {
  const gh::RunResult r = run<TypeParam>(fill(12) + "iter_start 0\ncompact\niter_start 1\nclear\n" + fill(5) +
                                         "iter_start 2\ncopy_compare\niter_next 2\nmove_map\nnew_map 27 3\ncheck\n");
  ASSERT_TRUE(r.ok) << gh::describe_failure(*r.failure);
  EXPECT_EQ(r.counts.skipped_ops, 1u);      // compact
  EXPECT_EQ(r.counts.iterators_ended, 3u);  // by clear (0, 1) and move_map (2); none left for new_map
}

// A map that returns a wrong value for one key: the lookup check sees it.
template <class T>
struct OffByOneOnKey3 : gh::StdUnorderedAdapter<T> {
  using gh::StdUnorderedAdapter<T>::StdUnorderedAdapter;
  std::optional<std::uint64_t> get(const typename T::Key& k) const {
    auto v = gh::StdUnorderedAdapter<T>::get(k);
    if (v && k == 3) ++*v;
    return v;
  }
};

// An iterator that skips the entry after one erased through it: a finished
// iteration then misses a key it had to yield.
template <class T>
struct SkipsAfterErase : gh::StdUnorderedAdapter<T> {
  using Base = gh::StdUnorderedAdapter<T>;
  using Base::Base;
  void erase_at(typename Base::Cursor& c) {
    Base::erase_at(c);
    if (c.it != this->container().end()) c.unseen = false;
  }
};

TEST(BrokenAdapters, AreCaught) {
  const gh::Program lookup = text("std_u64", fill(5) + "get 3\n");
  const gh::RunResult a = gh::execute<gh::StdU64Target, OffByOneOnKey3<gh::StdU64Target>>(lookup);
  ASSERT_FALSE(a.ok);
  EXPECT_EQ(a.failure->rule, gh::Rule::Lookup);
  // The same program on the real adapter passes: the failure is the break.
  EXPECT_TRUE(gh::execute<gh::StdU64Target>(lookup).ok);

  std::string body = fill(10) + "iter_start 0\n";
  for (int i = 0; i < 12; ++i) body += "iter_erase_yielded 0\niter_next 0\n";
  const gh::Program iterate = text("std_u64", body);
  const gh::RunResult b = gh::execute<gh::StdU64Target, SkipsAfterErase<gh::StdU64Target>>(iterate);
  ASSERT_FALSE(b.ok);
  EXPECT_EQ(b.failure->rule, gh::Rule::Iteration) << gh::describe_failure(*b.failure);
  EXPECT_TRUE(gh::execute<gh::StdU64Target>(iterate).ok);
}

// Broken iterations over gomap, for the checks whose state lives in the
// oracle's entries (oracle.hpp): each must still catch its bug.
template <class T>
struct IterationBreaks : gh::GomapAdapter<T> {
  using Base = gh::GomapAdapter<T>;
  using Base::Base;
  int mode = 0;  // 1: the first iter_next stays put; 2: the first iter_next skips an entry; 3: for_each yields its first key twice
  bool broke = false;
  void next(typename Base::Cursor& c) {
    if (!broke && mode == 1) {
      broke = true;
      return;  // yields the same entry again
    }
    if (!broke && mode == 2 && !this->done(c)) {
      broke = true;
      Base::next(c);  // one entry never yielded
    }
    Base::next(c);
  }
  template <class F>
  void for_each(F&& f) const {
    bool first = mode == 3;
    Base::for_each([&](const auto& k, std::uint64_t v) {
      if (first) f(k, v);
      first = false;
      f(k, v);
    });
  }
};
template <int Mode>
struct IterationBreaksAs : IterationBreaks<gh::U64Target> {
  IterationBreaksAs(std::uint64_t hint, std::uint8_t seed, unsigned domain) : IterationBreaks(hint, seed, domain) { mode = Mode; }
};

TEST(BrokenAdapters, IterationBreaksAreCaught) {
  auto failure = [](auto tag, const std::string& body, const std::string& what) {
    using A = decltype(tag);
    const gh::Program p = text("map_u64", body);
    const gh::RunResult r = gh::execute<gh::U64Target, A>(p);
    ASSERT_FALSE(r.ok) << what;
    EXPECT_NE(r.failure->what.find(what), std::string::npos) << gh::describe_failure(*r.failure);
    EXPECT_TRUE(gh::execute<gh::U64Target>(p).ok) << what;  // the real adapter passes: the failure is the break
  };
  std::string next12;
  for (int i = 0; i < 12; ++i) next12 += "iter_next 0\n";
  failure(IterationBreaksAs<1>(0, 1, 1), fill(10) + "iter_start 0\n" + next12, "iteration never yields a key twice");
  failure(IterationBreaksAs<2>(0, 1, 1), fill(10) + "iter_start 0\n" + next12,
          "a finished iteration yielded every key present throughout");
  // A copy inherits its original's start and yields: walked to the end, it
  // owes every key present at the original's start, the ones the original
  // yielded before the copy included (on the real adapter it passes, so
  // those count as yielded by the copy).
  std::string next12_on_copy;
  for (int i = 0; i < 12; ++i) next12_on_copy += "iter_next 1\n";
  failure(IterationBreaksAs<2>(0, 1, 1), fill(10) + "iter_start 0\niter_copy 0 1\n" + next12_on_copy,
          "a finished iteration yielded every key present throughout");
  failure(IterationBreaksAs<3>(0, 1, 1), fill(10) + "check\n", "iteration yields each key once");
}

// gomap runs every op; its counts stay zero.
TEST(GomapAdapter, RunsEveryOp) {
  const gh::RunResult r = run<gh::U64Target>(fill(12) + "iter_start 0\ncompact\nset 100 1\niter_next 0\nclear\ncheck\n");
  ASSERT_TRUE(r.ok) << gh::describe_failure(*r.failure);
  EXPECT_EQ(r.counts, gh::RunCounts{});
}

}  // namespace
