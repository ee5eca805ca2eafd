// gomap-go-lockstep: runs op programs on gomap and on the real Go 1.19 map
// (gomap-go-oracle, over pipes, one op at a time) and says whether they agree.
//
// Each program runs twice through the one executor: on gomap (its own checks,
// recording B after every op) and on Go behind GoAdapter (fuzz/adapters/
// go_adapter.hpp: the same oracle and iteration model check what Go
// returned and yielded; B after every op comes from the runtime's header).
// A program agrees when both runs pass and Go's B equals gomap's after every
// op while the two maps are in step: up to the first op skipped for Go (gomap
// ran a compact or a copy Go has not) or the first iter_erase_yielded /
// iter_set_yielded that acted on different keys in the two runs (the key is
// whatever the iterator yielded last, which depends on the hash seed: with
// NaN keys even len can then differ, since setting a yielded NaN adds one). A disagreement prints the
// failure and the Go side's own trace — what it returned and yielded, in
// order — since Go's hash seed, and so its iteration order, cannot be fixed.
//
// Last line: `go-oracle: N programs, A agree, D disagree, S skipped ops`.
// Exit: 0 all agree, 1 a disagreement, 2 bad usage or an unreadable program,
// 3 the Go oracle could not run or failed.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/go_adapter.hpp"
#include "gomap_harness/executor.hpp"
#include "gomap_harness/minimize.hpp"
#include "gomap_harness/program_file.hpp"

namespace gh = gomap_harness;

namespace {

struct Totals {
  std::size_t programs = 0, agree = 0, disagree = 0, skipped_ops = 0, translated_ops = 0, iterators_ended = 0;
  std::size_t not_gomap = 0, b_compared = 0, go_ops = 0, out_of_step = 0, b_whole = 0;
  double go_seconds = 0;
};

int usage(const char* argv0, int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: %s --go-oracle PATH [--verbose] FILE|DIR...\n"
               "       %s --go-oracle PATH --minimize FILE [--out MIN.txt]   # shrink a disagreement\n"
               "Runs each program on gomap and on Go 1.19's map (PATH: the gomap-go-oracle binary) in lockstep;\n"
               "prints each disagreement and, last, 'go-oracle: N programs, A agree, D disagree, S skipped ops'.\n"
               "Exit: 0 all agree, 1 a disagreement, 2 bad usage or input, 3 the Go oracle failed.\n",
               argv0, argv0);
  return code;
}

// Runs one program of target T; returns false on a disagreement (printed).
template <class T>
bool lockstep(const gh::LoadedProgram& lp, Totals& t, bool verbose) {
  const gh::Program& p = lp.program;
  // gomap, B after every op.
  std::vector<unsigned> b_gomap;
  std::vector<std::string> header_gomap;  // for a disagreement's evidence
  std::vector<std::string> results_gomap;
  gh::ExecOptions go_opts, gomap_opts;
  gomap_opts.on_op_end = [&](const std::string& result) { results_gomap.push_back(result); };
  gomap_opts.observer = [&](const gh::OpObservation& o) {
    b_gomap.push_back(o.after.B);
    header_gomap.push_back("B=" + std::to_string(o.after.B) + " count=" + std::to_string(o.after.count) +
                           " growing=" + std::to_string(o.after.growing) + (o.after.same_size_grow ? " (same-size)" : ""));
  };
  const gh::RunResult rg = gh::execute<T>(p, gomap_opts);
  // Go, B after every op, and its trace.
  std::vector<std::optional<unsigned>> b_go;  // nullopt: the op was skipped for Go
  std::vector<std::string> trace, results_go;
  gh::GoProcess& proc = *gh::GoProcess::current();
  go_opts.on_op_begin = [&](const std::string& op) { trace.push_back(op); };
  go_opts.on_op_end = [&](const std::string& result) {
    const bool skipped = result.rfind("skipped", 0) == 0;
    results_go.push_back(result);
    trace.back() += "  ->  " + result;
    if (!skipped)
      trace.back() += "   [Go B=" + std::to_string(proc.B) + " count=" + std::to_string(proc.count) +
                      " growing=" + std::to_string(proc.growing) + "]";
    b_go.push_back(skipped ? std::nullopt : std::optional<unsigned>(proc.B));
  };
  const std::size_t trips0 = proc.round_trips;
  const auto start = std::chrono::steady_clock::now();
  const gh::RunResult ro = gh::execute<T, gh::GoAdapter<T>>(p, go_opts);
  t.go_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  t.go_ops += proc.round_trips - trips0;
  t.skipped_ops += ro.counts.skipped_ops;
  t.translated_ops += ro.counts.translated_ops;
  t.iterators_ended += ro.counts.iterators_ended;

  std::string why;
  if (!rg.ok) why = "gomap fails the program (replay it with gomap-replay):\n" + gh::describe_failure(*rg.failure);
  else if (!ro.ok) why = "Go's map fails the oracle or the iteration model:\n" + gh::describe_failure(*ro.failure);
  else {
    std::size_t i = 0;
    for (; i < b_go.size() && i < b_gomap.size(); ++i) {
      if (!b_go[i]) break;  // the maps may differ after an op Go did not run
      const gh::OpKind k = p.ops[i].kind;
      if ((k == gh::OpKind::IterEraseYielded || k == gh::OpKind::IterSetYielded) && results_go[i] != results_gomap[i]) {
        ++t.out_of_step;  // another key, by iteration order: the maps may differ from here on
        break;
      }
      ++t.b_compared;
      if (*b_go[i] != b_gomap[i]) {
        why = "B differs after op #" + std::to_string(i) + " (" + gh::op_to_text(p.ops[i]) + "): gomap B=" +
              std::to_string(b_gomap[i]) + ", Go B=" + std::to_string(*b_go[i]) + "\nfailure-rule: " +
              std::string(gh::rule_id(gh::Rule::GoDisagreement)) + "\n";
        break;
      }
    }
    if (why.empty() && i == p.ops.size()) ++t.b_whole;  // B compared after every op of the program
  }
  if (why.empty()) {
    if (verbose) std::printf("agree %s (%zu ops, %zu skipped for Go)\n", lp.path.c_str(), p.ops.size(), ro.counts.skipped_ops);
    return true;
  }
  std::printf("DISAGREE %s (target %s)\n%s  Go's trace (its own yields, in order):\n", lp.path.c_str(), p.target.c_str(),
              why.c_str());
  for (std::size_t i = 0; i < trace.size(); ++i)
    std::printf("    %s%s\n", trace[i].c_str(), i < header_gomap.size() ? ("   [gomap " + header_gomap[i] + "]").c_str() : "");
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::string go_path;
  bool verbose = false;
  std::optional<std::string> minimize, out;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "-h" || a == "--help") return usage(argv[0], 0);
    if (a == "--verbose") verbose = true;
    else if (a == "--quiet") verbose = false;  // the default; accepted for the minimizer's child runs
    else if (a == "--go-oracle" && i + 1 < argc) go_path = argv[++i];
    else if (a == "--minimize" && i + 1 < argc) minimize = argv[++i];
    else if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a.rfind("-", 0) == 0) {
      std::fprintf(stderr, "gomap-go-lockstep: error: unknown option '%s' (see --help)\n", argv[i]);
      return 2;
    } else paths.emplace_back(a);
  }
  if (minimize) {
    // A disagreement is shrunk like any failure (minimize.hpp): candidates
    // run in child lockstep runs of this binary, and one is kept while it
    // disagrees the same way (the same failure-rule line).
    if (go_path.empty() || !paths.empty()) {
      std::fprintf(stderr, "gomap-go-lockstep: error: --minimize FILE needs --go-oracle PATH and no other inputs\n");
      return 2;
    }
    gh::MinimizeOptions mo;
    try {
      mo.text = gh::text_of(gh::load_program_file(*minimize, std::nullopt));
    } catch (const gh::InputError& e) {
      std::fprintf(stderr, "gomap-go-lockstep: error: %s\n", e.what());
      return 2;
    }
    mo.name = *minimize;
    mo.out = out;
    mo.child_args = {"--go-oracle", go_path};
    mo.tool = "gomap-go-lockstep";
    return gh::minimize_main(mo, std::cout, std::cerr);
  }
  if (out) {
    std::fprintf(stderr, "gomap-go-lockstep: error: --out goes with --minimize\n");
    return 2;
  }
  if (go_path.empty() || paths.empty()) {
    std::fprintf(stderr, "gomap-go-lockstep: error: needs --go-oracle PATH and at least one FILE or DIR (see --help)\n");
    return 2;
  }
  std::vector<std::string> files;
  try {
    files = gh::expand_inputs(paths);
  } catch (const gh::InputError& e) {
    std::fprintf(stderr, "gomap-go-lockstep: error: %s\n", e.what());
    return 2;
  }
  Totals t;
  try {
    gh::GoProcess proc(go_path);
    gh::GoProcess::current() = &proc;
    for (const std::string& f : files) {
      gh::LoadedProgram lp;
      try {
        lp = gh::load_program_file(f, std::nullopt);
      } catch (const gh::InputError& e) {
        std::fprintf(stderr, "gomap-go-lockstep: error: %s\n", e.what());
        return 2;
      }
      // Concurrent programs (concurrent_sched) and targets on other engines
      // have nothing of gomap::Map's to compare: counted, not run.
      const bool ran = !lp.concurrent && gh::with_target(lp.program.target, [&]<class T>() {
        if constexpr (!gh::HasStats<gh::adapter_of<T>>) {
          ++t.not_gomap;
        } else {
          ++t.programs;
          if (lockstep<T>(lp, t, verbose)) ++t.agree;
          else ++t.disagree;
        }
      });
      if (!ran) ++t.not_gomap;
    }
    gh::GoProcess::current() = nullptr;
  } catch (const gh::GoProcessFailed& e) {
    std::fprintf(stderr, "gomap-go-lockstep: error: the Go oracle failed: %s\n", e.what.c_str());
    return 3;
  }
  if (t.programs == 0) {
    std::fprintf(stderr, "gomap-go-lockstep: error: no program of a gomap target among %zu files\n", files.size());
    return 2;
  }
  std::printf("go-oracle: %zu round trips to Go in %.2f s (%.1f us each); B compared after %zu ops (after every op in %zu programs); "
              "%zu programs left step where an iterator yielded other keys; "
              "%zu ops translated (clear as mapclear), %zu live iterators ended at them; %zu programs not on gomap::Map (other engines, concurrent programs) not run\n",
              t.go_ops, t.go_seconds, t.go_ops ? 1e6 * t.go_seconds / double(t.go_ops) : 0.0, t.b_compared, t.b_whole, t.out_of_step, t.translated_ops,
              t.iterators_ended, t.not_gomap);
  std::printf("go-oracle: %zu programs, %zu agree, %zu disagree, %zu skipped ops\n", t.programs, t.agree, t.disagree,
              t.skipped_ops);
  return t.disagree ? 1 : 0;
}
