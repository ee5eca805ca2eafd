// Concurrent programs: forms and the scheduled run (see concurrent_program.hpp).
#include "gomap_harness/concurrent_program.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>

#include "gomap/sharded_map.hpp"
#include "gomap/sync_map.hpp"
#include "gomap_harness/concurrent_runner.hpp"
#include "gomap_harness/program.hpp"

namespace gomap_harness {
namespace {

std::string map_name(unsigned map) {
  return map == 0 ? std::string("sync") : "sharded " + std::to_string(kShardCounts[map]);
}

std::string strategy_text(const ConcurrentProgram& p) {
  switch (p.strategy) {
    case Strategy::Bytes: return "bytes";
    case Strategy::Pct: return "pct " + std::to_string(p.param + 1) + " " + std::to_string(p.pct_seed());
    case Strategy::RoundRobin: return "rr " + std::to_string(p.param);
  }
  return "?";
}

std::optional<ConcOpKind> conc_op_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kConcOpKinds; ++i)
    if (conc_op_name(static_cast<ConcOpKind>(i)) == name) return static_cast<ConcOpKind>(i);
  return std::nullopt;
}

}  // namespace

std::uint64_t ConcurrentProgram::pct_seed() const {
  std::uint64_t s = 0;
  for (std::size_t i = 0; i < schedule.size() && i < 8; ++i) s |= std::uint64_t(schedule[i]) << (8 * i);
  return s;
}

std::size_t ConcurrentProgram::op_count() const {
  std::size_t n = 0;
  for (const auto& t : threads) n += t.size();
  return n;
}

bool has_concurrent_header(const std::uint8_t* data, std::size_t size) {
  return size >= 5 && std::memcmp(data, kBinaryMagic, 4) == 0 && data[4] == kConcurrentSchedId;
}

ConcurrentProgram decode_concurrent(const std::uint8_t* data, std::size_t size) {
  ConcurrentProgram p;
  std::size_t pos = has_concurrent_header(data, size) ? 5 : 0;
  auto next = [&](std::uint8_t& out) {
    if (pos >= size) return false;
    out = data[pos++];
    return true;
  };
  std::uint8_t b0 = 0, b1 = 0;
  next(b0);
  next(b1);
  const unsigned threads = kMinThreads + (b0 & 3) % 3;
  p.map = (b0 >> 2) & 3;
  p.key_index = (b0 >> 4) & 7;
  p.strategy = (b1 & 3) == 2 ? Strategy::Pct : (b1 & 3) == 3 ? Strategy::RoundRobin : Strategy::Bytes;
  p.param = (b1 >> 2) & 3;
  p.seed = b1 >> 4;
  p.threads.resize(threads);
  for (auto& ops : p.threads) {
    std::uint8_t n = 0;
    if (!next(n)) break;
    n %= kMaxOpsPerThread + 1;
    for (unsigned i = 0; i < n; ++i) {
      std::uint8_t kind = 0, key = 0;
      if (!next(kind) || !next(key)) break;
      ConcOp op{static_cast<ConcOpKind>(kind % kConcOpKinds), key};
      if (!conc_is_point(op.kind)) op.key = 0;
      ops.push_back(op);
    }
  }
  if (pos < size) p.schedule.assign(data + pos, data + size);
  return p;
}

std::vector<std::uint8_t> encode_concurrent(const ConcurrentProgram& p) {
  std::vector<std::uint8_t> out(kBinaryMagic, kBinaryMagic + 4);
  out.push_back(kConcurrentSchedId);
  out.push_back(static_cast<std::uint8_t>((p.threads.size() - kMinThreads) | (p.map << 2) | (p.key_index << 4)));
  const unsigned code = p.strategy == Strategy::Bytes ? 0 : p.strategy == Strategy::Pct ? 2 : 3;
  out.push_back(static_cast<std::uint8_t>(code | (p.param << 2) | (p.seed << 4)));
  for (const auto& ops : p.threads) {
    out.push_back(static_cast<std::uint8_t>(ops.size()));
    for (const ConcOp& op : ops) {
      out.push_back(static_cast<std::uint8_t>(op.kind));
      out.push_back(static_cast<std::uint8_t>(op.key));
    }
  }
  out.insert(out.end(), p.schedule.begin(), p.schedule.end());
  return out;
}

std::string concurrent_to_text(const ConcurrentProgram& p) {
  std::string s = "target " + std::string(kConcurrentSchedName) + "\nmap " + map_name(p.map) +
                  "\nkeys " + std::to_string(p.keys()) + "\nseed " + std::to_string(p.seed) + "\nstrategy " +
                  strategy_text(p) + "\n";
  for (std::size_t t = 0; t < p.threads.size(); ++t) {
    s += "thread " + std::to_string(t) + "\n";
    for (const ConcOp& op : p.threads[t]) {
      s += "  " + std::string(conc_op_name(op.kind));
      if (conc_is_point(op.kind)) s += " " + std::to_string(op.key);
      s += "\n";
    }
  }
  if (p.strategy == Strategy::Bytes && !p.schedule.empty()) {
    s += "schedule";
    for (std::uint8_t b : p.schedule) s += " " + std::to_string(b);
    s += "\n";
  }
  return s;
}

bool is_concurrent_text(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string w, t;
    if (!(words >> w)) continue;
    if (w == "target") return (words >> t) && t == kConcurrentSchedName;
  }
  return false;
}

ConcurrentProgram parse_concurrent_text(std::string_view text) {
  ConcurrentProgram p;
  p.threads.clear();
  bool have_strategy_seed = false;
  std::uint64_t pct_seed = 0;
  std::istringstream in{std::string(text)};
  std::string line;
  std::size_t lineno = 0;
  auto fail = [&](const std::string& why) { throw ParseError("line " + std::to_string(lineno) + ": " + why); };
  auto number = [&](std::istringstream& words, const char* what, std::uint64_t max) {
    std::string w;
    if (!(words >> w)) fail(std::string("missing ") + what);
    if (w.empty() || w.find_first_not_of("0123456789") != std::string::npos || w.size() > 20)
      fail(std::string("bad ") + what + " '" + w + "'");
    const unsigned long long v = std::stoull(w);
    if (v > max) fail(std::string(what) + " " + w + " is out of range (at most " + std::to_string(max) + ")");
    return static_cast<std::uint64_t>(v);
  };
  auto no_more = [&](std::istringstream& words) {
    std::string extra;
    if (words >> extra) fail("unexpected '" + extra + "'");
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream words(line.substr(0, line.find('#')));
    std::string w;
    if (!(words >> w)) continue;
    if (w == "target") {
      std::string t;
      words >> t;
      if (t != kConcurrentSchedName) fail("target '" + t + "' is not " + std::string(kConcurrentSchedName));
    } else if (w == "map") {
      std::string kind;
      words >> kind;
      if (kind == "sync") {
        p.map = 0;
      } else if (kind == "sharded") {
        const std::uint64_t n = number(words, "shard count", 1u << 20);
        const auto it = std::find(kShardCounts.begin() + 1, kShardCounts.end(), n);
        if (it == kShardCounts.end()) fail("shard count must be 1, 4 or 16");
        p.map = static_cast<unsigned>(it - kShardCounts.begin());
      } else {
        fail("map must be 'sync' or 'sharded N'");
      }
    } else if (w == "keys") {
      const std::uint64_t n = number(words, "key count", 1u << 20);
      const auto it = std::find(kKeyCounts.begin(), kKeyCounts.end(), n);
      if (it == kKeyCounts.end()) fail("keys must be one of 1 2 3 4 8 16 32 64");
      p.key_index = static_cast<unsigned>(it - kKeyCounts.begin());
    } else if (w == "seed") {
      p.seed = static_cast<unsigned>(number(words, "seed", 15));
    } else if (w == "strategy") {
      std::string s;
      words >> s;
      if (s == "bytes") {
        p.strategy = Strategy::Bytes;
        p.param = 0;
      } else if (s == "pct") {
        p.strategy = Strategy::Pct;
        const std::uint64_t d = number(words, "pct depth", 4);
        if (d == 0) fail("pct depth must be 1..4");
        p.param = static_cast<unsigned>(d - 1);
        pct_seed = number(words, "pct seed", ~std::uint64_t(0));
        have_strategy_seed = true;
      } else if (s == "rr") {
        p.strategy = Strategy::RoundRobin;
        p.param = static_cast<unsigned>(number(words, "preemption bound", 3));
      } else {
        fail("strategy must be 'bytes', 'pct DEPTH SEED' or 'rr BOUND'");
      }
    } else if (w == "thread") {
      const std::uint64_t t = number(words, "thread number", kMaxThreads - 1);
      if (t != p.threads.size()) fail("threads must be numbered 0, 1, ... in order");
      p.threads.emplace_back();
    } else if (w == "schedule") {
      std::string b;
      while (words >> b) {
        if (b.find_first_not_of("0123456789") != std::string::npos || b.size() > 3 || std::stoul(b) > 255)
          fail("schedule entries are bytes 0..255, not '" + b + "'");
        p.schedule.push_back(static_cast<std::uint8_t>(std::stoul(b)));
      }
      continue;
    } else if (auto kind = conc_op_from_name(w)) {
      if (p.threads.empty()) fail("op '" + w + "' before the first 'thread N' line");
      if (p.threads.back().size() == kMaxOpsPerThread)
        fail("more than " + std::to_string(kMaxOpsPerThread) + " ops in one thread");
      ConcOp op{*kind, 0};
      if (conc_is_point(*kind)) op.key = static_cast<std::uint16_t>(number(words, "key code", 255));
      p.threads.back().push_back(op);
    } else {
      fail("unknown directive or op '" + w + "'");
    }
    no_more(words);
  }
  if (p.threads.size() < kMinThreads) fail("a concurrent program needs at least 2 'thread N' blocks");
  if (p.strategy == Strategy::Pct) {
    if (!p.schedule.empty()) fail("'schedule' goes with strategy bytes; pct takes its seed on the strategy line");
    if (have_strategy_seed)
      for (unsigned i = 0; i < 8; ++i) p.schedule.push_back(static_cast<std::uint8_t>(pct_seed >> (8 * i)));
  } else if (p.strategy == Strategy::RoundRobin && !p.schedule.empty()) {
    fail("'schedule' goes with strategy bytes; rr explores schedules itself");
  }
  return p;
}

std::string describe_concurrent(const ConcurrentProgram& p) {
  std::string s = std::to_string(p.threads.size()) + " threads, " +
                  (p.map == 0 ? std::string("SyncMap") : "ShardedMap(" + std::to_string(kShardCounts[p.map]) + ")") +
                  ", " + std::to_string(p.keys()) + " key(s), seed " + std::to_string(p.seed) + ", strategy " +
                  strategy_text(p) + ", " + std::to_string(p.op_count()) + " ops";
  if (p.strategy == Strategy::Bytes) s += ", " + std::to_string(p.schedule.size()) + " schedule bytes";
  return s;
}

std::string concurrent_dictionary() {
  std::string d = "# libFuzzer dictionary of " + std::string(kConcurrentSchedName) +
                  ", generated from the concurrent op kinds (concurrent_ops.hpp)\n"
                  "# by `gomap-replay --dict " + std::string(kConcurrentSchedName) +
                  "`; corpus/build.sh writes it. Do not edit: a test compares it.\n"
                  "# An op is two bytes: kind, key code.\n";
  char buf[64];
  for (std::size_t i = 0; i < kConcOpKinds; ++i) {
    std::snprintf(buf, sizeof buf, "op_%s=\"\\x%02zx\\x00\"\n", std::string(conc_op_name(static_cast<ConcOpKind>(i))).c_str(), i);
    d += buf;
  }
  return d;
}

// ---- running --------------------------------------------------------------

namespace {

using SchedSync = sched::ScheduledSync;
using SchedSyncMap = gomap::SyncMap<std::uint64_t, std::uint64_t, gomap::Hash<std::uint64_t>, gomap::Equal<std::uint64_t>, SchedSync>;
using SchedShardedMap =
    gomap::ShardedMap<std::uint64_t, std::uint64_t, gomap::Hash<std::uint64_t>, gomap::Equal<std::uint64_t>, SchedSync>;

// Maps whose threads never finished (deadlock, livelock) hold locks and are
// referenced from abandoned stacks: they are kept, reachable, instead of being
// destroyed under their threads' feet.
std::vector<std::shared_ptr<void>>& abandoned() {
  static std::vector<std::shared_ptr<void>> maps;
  return maps;
}

void yield_point() { sched::point(); }

template <class M>
std::shared_ptr<M> make_map(const ConcurrentProgram& p) {
  const gomap::Seed seed{0x5eed0000ull + p.seed};
  if constexpr (std::is_same_v<M, SchedSyncMap>) return std::make_shared<M>(seed);
  else return std::make_shared<M>(kShardCounts[p.map], seed);
}

// The checks of the histories a program's runs recorded so far. check() is
// a pure function of the history, and the schedules round-robin explores for
// one program mostly differ inside operations, not in what the operations
// returned or when: on a grown corpus 87% of them record a history equal,
// operation for operation and tick for tick, to an earlier schedule's. Such
// a history gets the earlier check's result; a lookup compares whole
// histories, never a hash alone, so the check is the same check.
class CheckMemo {
 public:
  const lin::CheckResult* find(const lin::History& h) {
    hash_ = hash(h);
    for (const Entry& e : seen_)
      if (e.hash == hash_ && e.history == h) return &e.result;
    return nullptr;
  }
  // Records the check of the history find() was last asked about.
  void add(const lin::History& h, const lin::CheckResult& r) { seen_.push_back({hash_, h, r}); }

 private:
  struct Entry {
    std::uint64_t hash;
    lin::History history;
    lin::CheckResult result;
  };
  static std::uint64_t hash(const lin::History& h) {
    std::uint64_t x = h.threads;
    auto add = [&x](std::uint64_t w) { x = (x ^ w) * 0x100000001b3ull + (x >> 29); };
    for (const lin::Operation& o : h.ops) {
      add(o.thread | std::uint64_t(o.kind) << 32 | std::uint64_t(o.ok) << 40 | std::uint64_t(o.pending) << 41);
      add(o.key);
      add(o.arg);
      add(o.expected);
      add(o.out);
      add(o.len);
      add(o.invoke);
      add(o.ret);
      for (const auto& [k, v] : o.yielded) {
        add(k);
        add(v);
      }
    }
    return x;
  }
  std::uint64_t hash_ = 0;
  std::vector<Entry> seen_;
};

// One scheduled run of `p` on a fresh map, into `r` (all of whose fields it
// sets). `rec` is the recorder of the program's runs: its logs and r's
// history keep their buffers from run to run (round-robin runs up to
// max_rr_runs schedules of one program); `memo`, if any, holds their checks.
template <class M>
void run_once(const ConcurrentProgram& p, sched::Chooser& chooser, const ConcurrentRunOptions& opts,
              lin::Recorder& rec, CheckMemo* memo, ConcurrentResult& r) {
  std::shared_ptr<M> m = make_map<M>(p);
  const unsigned n = static_cast<unsigned>(p.threads.size());
  rec.reset(n + 1);
  std::vector<std::unique_ptr<RecordingClient<M>>> clients;
  std::vector<std::function<void()>> bodies;
  clients.reserve(n);
  bodies.reserve(n);
  for (unsigned t = 0; t < n; ++t) {
    clients.push_back(std::make_unique<RecordingClient<M>>(*m, rec, t, p.keys(), &yield_point));
    // Two words of capture, so std::function keeps it inline (no allocation).
    RecordingClient<M>* c = clients.back().get();
    const std::vector<ConcOp>* ops = &p.threads[t];
    bodies.emplace_back([c, ops] {
      for (const ConcOp& op : *ops) c->run(op);
    });
  }
  sched::Limits limits;
  limits.switch_counters = opts.switch_counters;
  limits.switch_counter_count = opts.switch_counter_count;
  sched::run(bodies, chooser, limits, r.run);
  r.check = lin::CheckResult{};
  r.report.clear();
  if (r.run.outcome != sched::Outcome::Finished) {
    abandoned().push_back(m);
    abandoned().push_back(std::make_shared<decltype(clients)>(std::move(clients)));
    r.failed = true;
    r.rule = r.run.outcome == sched::Outcome::Deadlock ? Rule::Deadlock : Rule::Livelock;
    rec.drop_unreturned();
    rec.take_history(r.history);
    return;
  }
  RecordingClient<M>(*m, rec, n, p.keys()).load_all();
  rec.take_history(r.history);
  if (const lin::CheckResult* known = memo ? memo->find(r.history) : nullptr) {
    r.check = *known;
  } else {
    lin::CheckOptions copts;
    copts.max_steps = 2'000'000;
    r.check = lin::check(r.history, copts);
    if (memo) memo->add(r.history, r.check);
  }
  r.failed = r.check.verdict == lin::Verdict::Violation;
  r.rule = Rule::Linearizability;
}

template <class M>
ConcurrentResult run_with(const ConcurrentProgram& p, const ConcurrentRunOptions& opts) {
  const unsigned n = static_cast<unsigned>(p.threads.size());
  ConcurrentResult r;
  lin::Recorder rec(n + 1);
  switch (p.strategy) {
    case Strategy::Bytes: {
      sched::ByteChooser chooser(p.schedule, n);
      run_once<M>(p, chooser, opts, rec, nullptr, r);
      return r;
    }
    case Strategy::Pct: {
      // k: a generous bound on the steps of one run (points per op measured
      // well below 32 on both maps).
      const std::uint64_t k = 32 * (p.op_count() + 1);
      sched::PctChooser chooser(p.pct_seed(), p.param + 1, n, k);
      run_once<M>(p, chooser, opts, rec, nullptr, r);
      return r;
    }
    case Strategy::RoundRobin: {
      CheckMemo memo;
      const sched::Exploration ex = sched::explore_bounded(p.param, opts.max_rr_runs, [&](sched::Chooser& c) {
        run_once<M>(p, c, opts, rec, &memo, r);
        return r.failed;
      });
      r.schedules = ex.runs;
      return r;
    }
  }
  return r;
}

}  // namespace

ConcurrentResult run_concurrent(const ConcurrentProgram& p, const ConcurrentRunOptions& opts) {
  ConcurrentResult r = p.map == 0 ? run_with<SchedSyncMap>(p, opts) : run_with<SchedShardedMap>(p, opts);
  if (r.failed) r.report = describe_concurrent_run(p, r);
  return r;
}

std::string describe_concurrent_run(const ConcurrentProgram& p, const ConcurrentResult& r) {
  std::ostringstream o;
  o << "program: " << describe_concurrent(p) << "\n";
  if (p.strategy == Strategy::RoundRobin) o << "schedules explored: " << r.schedules << "\n";
  o << "scheduling points: " << r.run.steps << ", choices: " << r.run.decisions.size() << ", preemptions: "
    << r.run.preemptions_at.size() << "\n";
  o << "schedule taken (thread per choice; as 'strategy bytes' it replays this run):";
  for (std::uint8_t d : r.run.decisions) o << " " << unsigned(d);
  o << "\n";
  o << "operations (invoke/return ticks; thread " << p.threads.size() << " is the final loads):\n"
    << lin::format_table(r.history.ops, r.history.threads);
  if (!r.failed) {
    o << "verdict: ok (" << lin::verdict_name(r.check.verdict) << ", " << r.check.keys << " keys checked)\n";
    return o.str();
  }
  switch (r.rule) {
    case Rule::Deadlock: o << "verdict: DEADLOCK: " << r.run.detail << "\n"; break;
    case Rule::Livelock: o << "verdict: LIVELOCK: " << r.run.detail << "\n"; break;
    default: o << "verdict: NOT LINEARIZABLE\n" << r.check.report; break;
  }
  o << "failure-rule: " << rule_id(r.rule) << "\n";
  return o.str();
}

}  // namespace gomap_harness
