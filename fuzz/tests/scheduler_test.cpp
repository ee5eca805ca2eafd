// The controlled scheduler and concurrent programs (scheduler.hpp,
// concurrent_program.hpp): schedules replay exactly, each strategy does what
// it says, locks exclude and block, deadlocks and livelocks end runs.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <vector>

#include "gomap_harness/concurrent_program.hpp"
#include "gomap_harness/program.hpp"
#include "gomap_harness/scheduler.hpp"
#include "gomap_harness/targets.hpp"

namespace gh = gomap_harness;
namespace sched = gomap_harness::sched;

namespace {

// Two threads each increment a shared counter `rounds` times with a load and
// a store (not atomic as a whole): an interleaving between the two loses an
// update.
struct LostUpdate {
  sched::Atomic<int> counter{0};
  int rounds = 1;
  std::vector<std::function<void()>> bodies() {
    std::vector<std::function<void()>> b;
    for (int t = 0; t < 2; ++t)
      b.emplace_back([this] {
        for (int i = 0; i < rounds; ++i) {
          const int v = counter.load(std::memory_order_relaxed);
          counter.store(v + 1, std::memory_order_relaxed);
        }
      });
    return b;
  }
};

gh::ConcurrentProgram sample_program(gh::Strategy strategy) {
  return gh::parse_concurrent_text(std::string(R"(target concurrent_sched
map sync
keys 4
seed 2
strategy )") + (strategy == gh::Strategy::Pct ? "pct 2 77" : strategy == gh::Strategy::RoundRobin ? "rr 1" : "bytes") + R"(
thread 0
  store 0
  store 1
  range_erase
  load 1
thread 1
  store 2
  clear
  load_or_store 0
thread 2
  swap 1
  compare_and_swap 0
  load_and_delete 2
)" + (strategy == gh::Strategy::Bytes ? "schedule 2 1 0 0 1 2 2 1 0 1 2 0 0 2 1 1 0 2\n" : ""));
}

std::string full_account(const gh::ConcurrentProgram& p) {
  const gh::ConcurrentResult r = gh::run_concurrent(p);
  return gh::describe_concurrent_run(p, r);
}

}  // namespace

TEST(Scheduler, ByteScheduleDecidesEveryChoiceAndReplays) {
  LostUpdate lu;
  lu.rounds = 3;  // 6 points per thread: both can run for the first 6 choices
  const std::vector<std::uint8_t> bytes = {1, 0, 3, 2, 1, 1};
  sched::ByteChooser c(bytes, 2);
  auto bodies = lu.bodies();
  const sched::RunReport r = sched::run(bodies, c);
  ASSERT_EQ(r.outcome, sched::Outcome::Finished);
  ASSERT_GT(r.decisions.size(), bytes.size());
  for (std::size_t i = 0; i < bytes.size(); ++i) EXPECT_EQ(r.decisions[i], bytes[i] % 2) << i;
  EXPECT_EQ(c.bytes_used(), bytes.size());
  // The decisions, as a byte schedule, replay the same run.
  LostUpdate again;
  again.rounds = 3;
  sched::ByteChooser replay(r.decisions, 2);
  auto bodies2 = again.bodies();
  const sched::RunReport r2 = sched::run(bodies2, replay);
  EXPECT_EQ(r2.decisions, r.decisions);
  EXPECT_EQ(again.counter.load(), lu.counter.load());
}

TEST(Scheduler, InterleavingLosesAnUpdateOnlyWhenPreempted) {
  // Sequential (no bytes): no lost update.
  {
    LostUpdate lu;
    sched::ByteChooser c({}, 2);
    auto b = lu.bodies();
    sched::run(b, c);
    EXPECT_EQ(lu.counter.load(), 2);
  }
  // Thread 0 loads, thread 1 runs whole, thread 0 stores: one update lost.
  {
    LostUpdate lu;
    sched::ByteChooser c({0, 0, 1, 1, 1, 0}, 2);
    auto b = lu.bodies();
    sched::run(b, c);
    EXPECT_EQ(lu.counter.load(), 1);
  }
}

TEST(Scheduler, BoundedExplorationFindsTheBugOnlyWithAPreemption) {
  auto explore = [](unsigned bound) {
    std::set<int> finals;
    const sched::Exploration ex = sched::explore_bounded(bound, 1000, [&](sched::Chooser& c) {
      LostUpdate lu;
      auto b = lu.bodies();
      sched::run(b, c);
      finals.insert(lu.counter.load());
      return false;
    });
    EXPECT_TRUE(ex.exhausted);
    return std::make_pair(ex.runs, finals);
  };
  const auto [runs0, finals0] = explore(0);
  EXPECT_EQ(finals0, (std::set<int>{2}));  // without preemption each increment is whole
  const auto [runs1, finals1] = explore(1);
  EXPECT_EQ(finals1, (std::set<int>{1, 2}));
  EXPECT_GT(runs1, runs0);
}

// The order in which explore_bounded() runs schedules is part of what a
// round-robin input means (its 32 schedules, and the one a failure stops
// at). Here it is spelled out the slow way — a stack of whole prefixes, the
// alternatives of each run pushed from the first decision past its prefix
// to the last, lowest thread first — and the explorer must run exactly the
// same schedules in the same order.
std::vector<std::vector<std::uint8_t>> reference_schedules(unsigned bound, std::size_t max_runs,
                                                           const std::function<sched::RunReport(sched::Chooser&)>& run) {
  struct Decision {
    sched::ThreadSet enabled;
    unsigned current, chosen, preemptions_before;
  };
  struct Prefixed final : sched::Chooser {
    std::vector<unsigned> prefix;
    std::vector<Decision> log;
    unsigned preemptions = 0;
    unsigned choose(unsigned current, sched::ThreadSet enabled) override {
      Decision d{enabled, current, 0, preemptions};
      const bool cur = enabled.contains(current);
      if (log.size() < prefix.size()) d.chosen = prefix[log.size()];
      else if (cur) d.chosen = current;
      else d.chosen = enabled.at_or_after(current + 1);
      if (cur && d.chosen != current) ++preemptions;
      log.push_back(d);
      return d.chosen;
    }
  };
  std::vector<std::vector<std::uint8_t>> out;
  std::vector<std::vector<unsigned>> todo{{}};
  while (!todo.empty() && out.size() < max_runs) {
    Prefixed c;
    c.prefix = todo.back();
    todo.pop_back();
    out.push_back(run(c).decisions);
    for (std::size_t i = c.prefix.size(); i < c.log.size(); ++i) {
      const Decision& d = c.log[i];
      for (unsigned alt : d.enabled) {
        if (alt == d.chosen) continue;
        if (d.preemptions_before + ((d.enabled.contains(d.current) && alt != d.current) ? 1 : 0) > bound) continue;
        std::vector<unsigned> p;
        for (std::size_t j = 0; j < i; ++j) p.push_back(c.log[j].chosen);
        p.push_back(alt);
        todo.push_back(p);
      }
    }
  }
  return out;
}

TEST(Scheduler, BoundedExplorationRunsSchedulesInTheDocumentedOrder) {
  // Three threads: a lock, an atomic and a free-running one.
  auto run_program = [](sched::Chooser& c) {
    sched::Mutex mu;
    sched::Atomic<int> x{0};
    std::vector<std::function<void()>> b = {[&] {
                                              mu.lock();
                                              x.fetch_add(1);
                                              mu.unlock();
                                            },
                                            [&] {
                                              mu.lock();
                                              x.store(5);
                                              mu.unlock();
                                              (void)x.load();
                                            },
                                            [&] {
                                              (void)x.load();
                                              x.fetch_add(2);
                                            }};
    return sched::run(b, c);
  };
  for (const auto& [bound, max_runs] : {std::pair<unsigned, std::size_t>{0, 1000}, {1, 1000}, {2, 200}, {3, 32}}) {
    std::vector<std::vector<std::uint8_t>> got;
    const sched::Exploration ex = sched::explore_bounded(bound, max_runs, [&](sched::Chooser& c) {
      got.push_back(run_program(c).decisions);
      return false;
    });
    const auto want = reference_schedules(bound, max_runs, run_program);
    EXPECT_EQ(got, want) << "bound " << bound;
    EXPECT_EQ(ex.runs, want.size());
    EXPECT_GT(want.size(), 1u);
  }
}

TEST(Scheduler, PctIsSeededAndReproducible) {
  auto decisions = [](std::uint64_t seed) {
    LostUpdate lu;
    lu.rounds = 5;
    sched::PctChooser c(seed, 3, 2, 64);
    auto b = lu.bodies();
    return sched::run(b, c).decisions;
  };
  EXPECT_EQ(decisions(42), decisions(42));
  std::set<std::vector<std::uint8_t>> distinct;
  for (std::uint64_t s = 0; s < 16; ++s) distinct.insert(decisions(s));
  EXPECT_GT(distinct.size(), 1u);
}

TEST(Scheduler, MutexExcludesAndBlocksUnderEverySchedule) {
  // Bounded exhaustive search: never two threads inside; a thread that finds
  // the lock taken waits instead of spinning.
  const sched::Exploration ex = sched::explore_bounded(2, 5000, [](sched::Chooser& c) {
    sched::Mutex mu;
    int inside = 0, max_inside = 0, total = 0;
    std::vector<std::function<void()>> b;
    for (int t = 0; t < 3; ++t)
      b.emplace_back([&] {
        mu.lock();
        max_inside = std::max(max_inside, ++inside);
        sched::point();
        --inside;
        ++total;
        mu.unlock();
      });
    const sched::RunReport r = sched::run(b, c);
    EXPECT_EQ(r.outcome, sched::Outcome::Finished);
    EXPECT_EQ(max_inside, 1);
    EXPECT_EQ(total, 3);
    return max_inside != 1;
  });
  EXPECT_FALSE(ex.stopped);
  EXPECT_GT(ex.runs, 10u);
}

TEST(Scheduler, LockOrderInversionDeadlocksWithTheScheduleInTheReport) {
  // Static and never freed, like everything the abandoned threads touched:
  // a deadlocked thread never ends with a synchronising switch, so freeing
  // what it read would be a data race to TSan (the target keeps such maps
  // alive too).
  static sched::Mutex a, b;
  static const auto& bodies = *new std::vector<std::function<void()>>{
      [&] {
        a.lock();
        b.lock();
        b.unlock();
        a.unlock();
      },
      [&] {
        b.lock();
        a.lock();
        a.unlock();
        b.unlock();
      }};
  // Thread 0 takes a, thread 1 takes b, then each wants the other's.
  sched::ByteChooser c({0, 0, 1, 1, 0, 1, 0, 1}, 2);
  const sched::RunReport r = sched::run(bodies, c);
  ASSERT_EQ(r.outcome, sched::Outcome::Deadlock);
  EXPECT_NE(r.detail.find("thread 0 waits for a mutex"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("thread 1 waits for a mutex"), std::string::npos) << r.detail;
}

TEST(Scheduler, SpinningWithoutProgressIsALivelock) {
  // Static and never freed: the spinning thread is abandoned (see the
  // deadlock test above).
  static sched::Atomic<bool> flag{false};
  static const auto& bodies = *new std::vector<std::function<void()>>{[&] {
                                                 while (!flag.load()) {
                                                 }
                                               },
                                               [&] { (void)flag.load(); }};
  sched::ByteChooser c({}, 2);
  sched::Limits lim;
  lim.max_steps = 1000;
  const sched::RunReport r = sched::run(bodies, c, lim);
  EXPECT_EQ(r.outcome, sched::Outcome::Livelock);
  EXPECT_EQ(r.steps, 1000u);
}

TEST(ConcurrentProgram, EveryStrategyReplaysToTheSameHistoryScheduleAndVerdict) {
  for (gh::Strategy s : {gh::Strategy::Bytes, gh::Strategy::Pct, gh::Strategy::RoundRobin}) {
    const gh::ConcurrentProgram p = sample_program(s);
    const std::string first = full_account(p);
    EXPECT_EQ(full_account(p), first);
    EXPECT_NE(first.find("verdict: ok"), std::string::npos) << first;
  }
}

TEST(ConcurrentProgram, TextAndBinaryFormsRoundTrip) {
  for (gh::Strategy s : {gh::Strategy::Bytes, gh::Strategy::Pct, gh::Strategy::RoundRobin}) {
    const gh::ConcurrentProgram p = sample_program(s);
    const std::vector<std::uint8_t> bin = gh::encode_concurrent(p);
    ASSERT_TRUE(gh::has_concurrent_header(bin.data(), bin.size()));
    EXPECT_EQ(gh::decode_concurrent(bin.data(), bin.size()), p);
    EXPECT_EQ(gh::parse_concurrent_text(gh::concurrent_to_text(p)), p);
    EXPECT_TRUE(gh::is_concurrent_text(gh::concurrent_to_text(p)));
  }
}

TEST(ConcurrentProgram, EveryByteStringDecodes) {
  std::uint64_t x = 1;
  for (int i = 0; i < 300; ++i) {
    std::vector<std::uint8_t> bytes(i % 97);
    for (auto& b : bytes) b = static_cast<std::uint8_t>((x = gh::splitmix64(x)) >> 56);
    const gh::ConcurrentProgram p = gh::decode_concurrent(bytes.data(), bytes.size());
    ASSERT_GE(p.threads.size(), gh::kMinThreads);
    ASSERT_LE(p.threads.size(), gh::kMaxThreads);
    for (const auto& t : p.threads) ASSERT_LE(t.size(), gh::kMaxOpsPerThread);
  }
}

TEST(ConcurrentProgram, BadTextIsRejectedWithTheLine) {
  auto error_of = [](const std::string& text) {
    try {
      gh::parse_concurrent_text(text);
    } catch (const gh::ParseError& e) {
      return std::string(e.what());
    }
    return std::string("(parsed)");
  };
  const std::string head = "target concurrent_sched\nmap sync\nkeys 2\n";
  EXPECT_EQ(error_of(head + "thread 0\n  store 1\n"), "line 5: a concurrent program needs at least 2 'thread N' blocks");
  EXPECT_EQ(error_of(head + "thread 0\nthread 2\n"), "line 5: threads must be numbered 0, 1, ... in order");
  EXPECT_EQ(error_of(head + "store 1\n"), "line 4: op 'store' before the first 'thread N' line");
  EXPECT_EQ(error_of(head + "thread 0\n  store\nthread 1\n"), "line 5: missing key code");
  EXPECT_EQ(error_of("target concurrent_sched\nkeys 5\n"), "line 2: keys must be one of 1 2 3 4 8 16 32 64");
  EXPECT_EQ(error_of(head + "thread 0\nthread 1\nschedule 1 300\n"), "line 6: schedule entries are bytes 0..255, not '300'");
  EXPECT_EQ(error_of(head + "strategy pct 2 9\nthread 0\nthread 1\nschedule 1\n"),
            "line 7: 'schedule' goes with strategy bytes; pct takes its seed on the strategy line");
  EXPECT_EQ(error_of(head + "frobnicate\n"), "line 4: unknown directive or op 'frobnicate'");
}
