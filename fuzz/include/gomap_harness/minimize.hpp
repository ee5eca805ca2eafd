// gomap_harness/minimize.hpp — shrinking a failing program while it still
// fails the same way (`gomap-replay --minimize FILE`).
//
// The minimizer works on the TEXT form of a program, not on Program or on
// bytes, so that one implementation serves every program form the replay tool
// can run: today's single-thread programs and the concurrent ones (per-thread
// op blocks plus a schedule). It knows only two rules about that text:
//   * a line whose first word is an op name (kOps's names and the concurrent
//     maps' conc_op_name()s) is removable as a whole;
//   * on a line whose first word is `schedule`, each later word is removable
//     on its own.
// Every other line (target, domain, seed, hint, deep, thread headers,
// comments, anything a later form adds) is kept verbatim. A candidate that
// the replay tool then refuses (a thread block left empty, say) simply does
// not fail the same way and is rejected: the minimizer never has to know what
// a valid program is.
//
// Each candidate runs in a child process (the replay binary itself, with
// `--quiet CANDIDATE.txt`), with a time limit, so that a sanitizer abort, a
// crash or a hang of the program under test ends the child, not the
// minimizer. A candidate is accepted when the child's output shows the same
// FailureSignature as the original: the same `failure-rule:` id (and the same
// `rule: [family]`, which names the invariant for check_invariants()
// failures), the same sanitizer and report kind, or, when neither was
// printed, the same crash signal or a timeout.
//
// The search: delta debugging over the removable units — remove chunks of
// half the units, then quarters, ... then single units, and repeat until a
// whole sweep removes nothing (the result is 1-minimal: no single unit can
// go). Then each remaining op's numeric operands are tried at 0 and at halves
// of their value, and the deletion sweep runs again if that changed anything.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gomap_harness {

// What a failing run looks like to the minimizer; compared as a whole.
struct FailureSignature {
  std::string rule;       // the `failure-rule:` id, e.g. "load-factor"
  std::string family;     // the `rule: [family]` of the same failure, e.g. "invariants: overflow-count"
  std::string sanitizer;  // "AddressSanitizer", "ThreadSanitizer", "UndefinedBehaviorSanitizer", ...
  std::string report;     // the sanitizer's report kind: "heap-use-after-free", "data race", "leak", ...
  std::string other;      // only without a rule or report: "signal 6 (SIGABRT)", "timeout", "exit 3"
  bool fails() const { return !rule.empty() || !sanitizer.empty() || !other.empty(); }
  std::string describe() const;  // one line, for people
  friend bool operator==(const FailureSignature&, const FailureSignature&) = default;
};

// How a child ended, as waitpid() reported it (or the time limit).
struct ChildStatus {
  bool timed_out = false;
  bool signalled = false;
  int signal = 0;
  int exit_code = 0;
};

// The signature of a run from its merged stdout and stderr and its status.
// A run that exits 0 or 2 (the replay tool's "bad input") without a rule or
// a sanitizer report does not fail.
FailureSignature signature_of(std::string_view output, const ChildStatus& status);

// The text cut into lines and removable units (the two rules above).
class UnitText {
 public:
  explicit UnitText(std::string_view text);
  std::size_t units() const { return units_.size(); }
  // The text with only the units whose `keep` entry is true.
  std::string render(const std::vector<bool>& keep) const;
  // How many kept units are op lines, and how many are schedule steps.
  std::size_t ops(const std::vector<bool>& keep) const;
  std::size_t steps(const std::vector<bool>& keep) const;
  // The numeric operands of the op line of unit `u` (word index >= 1, value):
  // what the operand pass tries to shrink; set_word() rewrites one.
  std::vector<std::pair<std::size_t, unsigned long long>> numeric_operands(std::size_t u) const;
  bool is_op_line(std::size_t u) const;
  void set_word(std::size_t u, std::size_t word, std::string value);

 private:
  struct Line {
    std::string original;            // as read, without '\n'
    std::string indent, comment;     // leading blanks; from '#' on
    std::vector<std::string> words;  // between them
    enum Kind { Kept, Op, Schedule } kind = Kept;
    bool edited = false;             // rebuilt from words when rendered
  };
  struct Unit {
    std::size_t line;
    std::size_t word;  // 0: the whole op line; >= 1: one word of a schedule line
  };
  std::vector<Line> lines_;
  std::vector<Unit> units_;
  bool trailing_newline_ = true;
};

// True for a word that starts a removable op line (either op language).
bool is_op_name(std::string_view word);

struct MinimizeStats {
  std::size_t ops_before = 0, ops_after = 0;
  std::size_t steps_before = 0, steps_after = 0;  // schedule steps
  std::size_t candidates = 0;                     // candidates run (cached repeats not counted)
};

// The search, independent of how a candidate is run: `still_fails(text)` is
// true when the candidate fails the same way. `progress` (may be empty) gets
// one line per sweep that removed something. Returns the smallest text found.
std::string minimize_text(std::string_view text, const std::function<bool(const std::string&)>& still_fails,
                          MinimizeStats& stats, const std::function<void(const std::string&)>& progress = {});

// Runs candidate texts with `exe` `args...` `--quiet` DIR/candidate.txt in a
// child process, in a private temporary directory removed on destruction.
class CandidateRunner {
 public:
  // Throws std::runtime_error (one line) when no temporary directory can be made.
  CandidateRunner(std::string exe, std::vector<std::string> args);
  ~CandidateRunner();
  CandidateRunner(const CandidateRunner&) = delete;
  CandidateRunner& operator=(const CandidateRunner&) = delete;
  struct Run {
    FailureSignature signature;
    ChildStatus status;
    double seconds = 0;
    std::string output;  // merged stdout and stderr (the first 4 MiB)
  };
  // Throws std::runtime_error when the child cannot be started or its files
  // cannot be written.
  Run run(const std::string& text, double timeout_seconds);

 private:
  std::string exe_;
  std::vector<std::string> args_;
  std::string dir_;
};

struct MinimizeOptions {
  std::string name;                      // the input's name, for messages
  std::string text;                      // the program's text form
  std::optional<std::string> out;        // write here (never overwrites); else print to stdout
  std::string exe = "/proc/self/exe";    // the replay binary to run candidates with
  std::vector<std::string> child_args;   // put before `--quiet FILE` (e.g. --target T)
  double timeout_seconds = 0;            // per candidate; 0: from the original's run time
  bool quiet = false;                    // no progress lines
  std::string tool = "gomap-replay";     // names the tool in messages and the result's header
};

// The whole mode: run the original, minimize, verify, write. Returns the
// exit status (0 done, 2 bad input or nothing to minimize, 3 the tool
// failed) after printing one `gomap-replay: error:` line on `err` for 2 and 3.
// The minimized program goes to --out or `out`; the report lines go to `out`
// when the program is written to a file and to `err` when it is printed.
int minimize_main(const MinimizeOptions& opts, std::ostream& out, std::ostream& err);

}  // namespace gomap_harness
