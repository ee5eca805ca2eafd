// gomap-replay: re-run crash files, corpus entries and text regressions
// deterministically, print the decoded trace and the first divergence.
//
//   gomap-replay [--target T] [--deep] [--quiet] FILE|DIR...
//   gomap-replay --to-text [--out FILE.txt] FILE      # keep it as a text regression
//   gomap-replay --emit-test FILE                     # a ready-to-paste GoogleTest
//   gomap-replay --to-binary --out FILE.bin FILE.txt   # compile a text program (corpus seeds)
//   gomap-replay --states FILE|DIR...                 # which engine states (state_space.hpp) the inputs reach
//   gomap-replay --minimize FILE [--out MIN.txt]      # shrink a failing program, same failure (minimize.hpp)
//   gomap-replay --list-targets | --list-states | --list-rules
//   gomap-replay --dict TARGET | --options TARGET     # the target's libFuzzer dictionary or options file
//
// A divergence prints the failed rule for people (`rule: [family] text`) and
// one line for tools, `failure-rule: <id>` (failure.hpp; --list-rules).
//
// Exit status: 0 every input replayed without divergence; 1 some input
// diverged; 2 bad usage or an input that could not be read (a one-line reason
// is printed for each).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gomap_harness/executor.hpp"
#include "gomap_harness/fuzz_target.hpp"
#include "gomap_harness/minimize.hpp"
#include "gomap_harness/program_file.hpp"
#include "gomap_harness/state_space.hpp"

namespace gh = gomap_harness;

namespace {

std::string describe_config(const gh::Program& p) {
  std::string d;
  gh::with_target(p.target, [&]<class T>() {
    const unsigned dom = p.config.domain % T::domains;
    d = "domain " + std::to_string(dom) + " (" + T::domain_name(dom) + "), seed " + std::to_string(p.config.seed) +
        ", hint " + std::to_string(gh::hint_from_code(p.config.hint)) + (p.config.deep ? ", deep" : "");
  });
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"gomap-replay: replay gomap fuzz inputs (binary or text) and show the first divergence"};
  std::vector<std::string> inputs;
  std::optional<std::string> target;
  bool deep = false, quiet = false, to_text = false, to_binary = false, emit = false;
  bool list_targets = false, list_states = false, list_rules = false, states = false;
  std::string out;
  app.add_option("inputs", inputs, "crash files, corpus entries, text programs or directories of them");
  app.add_flag("--list-targets", list_targets, "print every target: name, binary id, domains, whether it has NaN keys, its engine (gomap or other-engine)");
  std::optional<std::string> dict_target, options_target;
  app.add_option("--dict", dict_target, "print the libFuzzer dictionary of a target (corpus/build.sh writes corpus/<target>.dict)");
  app.add_flag("--list-rules", list_rules, "print every rule family id a failure's `failure-rule:` line can name");
  app.add_option("--options", options_target, "print the libFuzzer options file of a target (corpus/build.sh writes corpus/<target>.options)");
  app.add_flag("--list-states", list_states, "print every engine state of the state space (fuzz/README.md)");
  app.add_flag("--states", states, "print the engine states the inputs reach, per target, instead of traces");
  app.add_option("--target", target, "target to run as (default: from the header, the text, or the path)");
  app.add_flag("--deep", deep, "run check_invariants() after every op whatever the input says");
  app.add_flag("--quiet", quiet, "print only each input's verdict and failures, not the trace");
  app.add_flag("--to-text", to_text, "print the program in the text form instead of running it");
  app.add_flag("--to-binary", to_binary, "write the program in the binary form (with its GMAP header); needs --out");
  app.add_option("--out", out, "with --to-text, --to-binary or --minimize: write to this file (never overwrites)");
  app.add_flag("--emit-test", emit, "print a GoogleTest case that replays the program");
  std::optional<std::string> minimize;
  app.add_option("--minimize", minimize, "shrink this failing program while it fails the same way; print it or --out");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  // One mode per run: a flag that would be ignored is an error, not a guess.
  const int modes = int(to_text) + int(to_binary) + int(emit) + int(states) + int(list_targets || list_states || list_rules) +
                    int(dict_target.has_value()) + int(options_target.has_value()) + int(minimize.has_value());
  if (modes > 1) {
    std::cerr << "gomap-replay: error: --to-text, --to-binary, --emit-test, --states, --dict, --options, --minimize and --list-* do not combine\n";
    return 2;
  }
  // --deep and --quiet change how programs run; the other modes run none.
  if ((deep || quiet) && modes == 1 && !states && !minimize) {
    std::cerr << "gomap-replay: error: --deep and --quiet go with running programs, not with "
                 "--to-text, --to-binary, --emit-test, --dict, --options or --list-*\n";
    return 2;
  }
  if (target && (dict_target || options_target || list_targets || list_states || list_rules)) {
    std::cerr << "gomap-replay: error: --target goes with inputs, not with --dict, --options or --list-*\n";
    return 2;
  }
  if (dict_target || options_target) {
    if (!inputs.empty()) {
      std::cerr << "gomap-replay: error: --dict and --options take no inputs\n";
      return 2;
    }
    const std::string& t = dict_target ? *dict_target : *options_target;
    if (t == gh::kConcurrentSchedName) {
      if (dict_target) std::cout << gh::concurrent_dictionary();
      else std::cout << gh::fuzz_options(t, gh::kConcurrentMaxLen);
      return 0;
    }
    const bool known = gh::with_target(t, [&]<class T>() {
      if (dict_target) std::cout << gh::fuzz_dictionary(T::name, {T::dict_keys.begin(), T::dict_keys.end()});
      else std::cout << gh::fuzz_options(T::name, T::max_len);
    });
    if (!known) {
      std::cerr << "gomap-replay: error: unknown target '" << t << "' (known: " << gh::target_list() << ")\n";
      return 2;
    }
    return 0;
  }
  if ((list_targets || list_states || list_rules) && !inputs.empty()) {
    std::cerr << "gomap-replay: error: --list-targets, --list-states and --list-rules take no inputs\n";
    return 2;
  }
  if (list_targets || list_states || list_rules) {
    if (list_targets) {
      gh::for_each_target([&]<class T>() {
        std::cout << T::name << "\t" << unsigned(*gh::target_id(T::name)) << "\t" << T::domains << "\t"
                  << (T::has_nan ? "nan" : "no-nan") << "\t"
                  << (gh::HasStats<gh::adapter_of<T>> ? "gomap" : "other-engine") << "\n";
      });
    }
    if (list_states)
      for (std::size_t s = 0; s < gh::states::kStates; ++s) std::cout << gh::states::name(s) << "\n";
    if (list_rules)
      for (std::string_view id : gh::kRuleIds) std::cout << id << "\n";
    return 0;
  }
  if (minimize) {
    // Candidates run in child replays of this binary (minimize.hpp); --deep
    // goes into the program, so the minimized file fails without the flag.
    if (!inputs.empty()) {
      std::cerr << "gomap-replay: error: --minimize takes one file, not more inputs\n";
      return 2;
    }
    gh::MinimizeOptions mo;
    try {
      gh::LoadedProgram lp = gh::load_program_file(*minimize, target);
      if (deep && lp.concurrent) {
        // A flag that would be ignored is an error, not a guess.
        std::cerr << "gomap-replay: error: --deep is for map programs, not concurrent ones\n";
        return 2;
      }
      if (deep) lp.program.config.deep = true;
      mo.text = gh::text_of(lp);  // a concurrent program's ops and schedule steps are removable too
    } catch (const gh::InputError& e) {
      std::cerr << "gomap-replay: error: " << e.what() << "\n";
      return 2;
    }
    mo.name = *minimize;
    if (!out.empty()) mo.out = out;
    if (target) mo.child_args = {"--target", *target};
    mo.quiet = quiet;
    return gh::minimize_main(mo, std::cout, std::cerr);
  }
  if (inputs.empty()) {
    std::cerr << "gomap-replay: error: no input files (see --help)\n";
    return 2;
  }
  if (!out.empty() && !to_text && !to_binary) {
    std::cerr << "gomap-replay: error: --out needs --to-text or --to-binary\n";
    return 2;
  }
  if (to_binary && out.empty()) {
    std::cerr << "gomap-replay: error: --to-binary needs --out FILE\n";
    return 2;
  }

  std::vector<std::string> files;
  try {
    files = gh::expand_inputs(inputs);
  } catch (const gh::InputError& e) {
    std::cerr << "gomap-replay: error: " << e.what() << "\n";
    return 2;
  }
  if (!out.empty() && files.size() != 1) {
    std::cerr << "gomap-replay: error: --out takes exactly one input file\n";
    return 2;
  }

  int bad_inputs = 0, failures = 0, passed = 0;
  std::map<std::string, std::set<std::size_t>> reached;  // target -> states
  for (const std::string& file : files) {
    gh::LoadedProgram lp;
    try {
      lp = gh::load_program_file(file, target);
    } catch (const gh::InputError& e) {
      std::cerr << "gomap-replay: error: " << e.what() << "\n";
      ++bad_inputs;
      continue;
    }
    if (to_text || to_binary) {
      std::string text = gh::text_of(lp);
      if (to_binary) {
        const std::vector<std::uint8_t> bytes = lp.concurrent ? gh::encode_concurrent(*lp.concurrent) : gh::encode(lp.program);
        text.assign(bytes.begin(), bytes.end());
      }
      if (out.empty()) {
        std::cout << text;
      } else {
        if (std::filesystem::exists(out)) {
          std::cerr << "gomap-replay: error: " << out << " exists; refusing to overwrite it\n";
          return 2;
        }
        std::ofstream o(out, std::ios::binary);
        o << text;
        if (!o) {
          std::cerr << "gomap-replay: error: cannot write " << out << "\n";
          return 2;
        }
        const std::size_t ops = lp.concurrent ? lp.concurrent->op_count() : lp.program.ops.size();
        std::cout << "wrote " << out << " (" << ops << " ops, target " << gh::target_of(lp) << ")\n";
      }
      continue;
    }
    if (emit && lp.concurrent) {
      std::cerr << "gomap-replay: error: " << file << ": --emit-test is for map programs; keep a concurrent program "
                   "as a text regression (--to-text) in corpus/regressions/concurrent_map/\n";
      ++bad_inputs;
      continue;
    }
    if (emit) {
      std::cout << gh::gtest_case(lp.program, std::filesystem::path(lp.path).stem().string(), lp.path);
      continue;
    }
    if (lp.concurrent) {
      // Concurrent programs replay under the controlled scheduler: the same
      // history, schedule and verdict every time.
      if (states) {
        std::cerr << "gomap-replay: error: " << file << ": --states is for map programs, not concurrent ones\n";
        ++bad_inputs;
        continue;
      }
      std::cout << "== " << file << ": " << lp.form << ", target " << gh::target_of(lp) << " (from " << lp.target_from
                << "), " << gh::describe_concurrent(*lp.concurrent) << "\n";
      std::cout.flush();
      const gh::ConcurrentResult r = gh::run_concurrent(*lp.concurrent);
      if (r.failed) {
        ++failures;
        std::cout << r.report;
        std::cout << "RESULT: FAIL " << file << "\n";
      } else {
        ++passed;
        if (!quiet) std::cout << gh::describe_concurrent_run(*lp.concurrent, r);
        std::cout << "RESULT: ok " << file << "\n";
      }
      std::cout.flush();
      continue;
    }
    std::cout << "== " << file << ": " << lp.form << ", target " << lp.program.target << " (from " << lp.target_from
              << "), " << describe_config(lp.program) << ", " << lp.program.ops.size() << " ops\n";
    std::cout.flush();
    gh::ExecOptions opts;
    if (deep) opts.deep = true;
    if (states) {
      quiet = true;
      std::set<std::size_t>& mine = reached[lp.program.target];
      opts.observer = [&mine](const gh::OpObservation& o) { gh::for_each_state(o, [&](std::size_t s) { mine.insert(s); }); };
    }
    if (!quiet) {
      opts.on_op_begin = [](const std::string& op) { std::cout << "  " << op << std::flush; };
      opts.on_op_end = [](const std::string& result) { std::cout << "  ->  " << result << "\n"; };
    }
    const auto r = gh::execute_named(lp.program, opts);
    if (!r->ok) {
      ++failures;
      if (!quiet) std::cout << "  !! diverged\n";
      std::cout << ">>> FIRST DIVERGENCE\n" << gh::describe_failure(*r->failure);
      std::cout << "RESULT: FAIL " << file << " (" << r->ops_run << " of " << lp.program.ops.size()
                << " ops completed)\n";
    } else {
      ++passed;
      std::cout << "RESULT: ok " << file << "\n";
    }
    std::cout.flush();
  }
  for (const auto& [t, set] : reached) {
    bool nan = false, has_states = true;
    gh::with_target(t, [&]<class T>() {
      nan = T::has_nan;
      has_states = gh::HasStats<gh::adapter_of<T>>;
    });
    if (!has_states) {
      // The states are gomap::Map's (its Stats); another engine has none.
      std::cout << "states: " << t << " runs on another engine: gomap's engine states do not apply\n";
      continue;
    }
    std::size_t reachable = 0, got = 0;
    for (std::size_t s = 0; s < gh::states::kStates; ++s) {
      if (gh::states::has_nan(s) && !nan) continue;
      ++reachable;
      if (set.count(s)) ++got;
      std::cout << "state\t" << t << "\t" << gh::states::name(s) << "\t" << (set.count(s) ? "reached" : "missed") << "\n";
    }
    std::cout << "states: " << t << " reached " << got << " of " << reachable << " reachable states\n";
  }
  if (!to_text && !to_binary && !emit) {
    std::cout << "gomap-replay: " << passed << " passed, " << failures << " failed, " << bad_inputs
              << " unreadable\n";
  }
  if (bad_inputs) return 2;
  return failures ? 1 : 0;
}
