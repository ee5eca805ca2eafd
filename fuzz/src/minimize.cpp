// The structure-aware minimizer (see minimize.hpp).
#include "gomap_harness/minimize.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <ostream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "gomap_harness/concurrent_ops.hpp"
#include "gomap_harness/program.hpp"

extern char** environ;

namespace gomap_harness {
namespace fs = std::filesystem;

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::vector<std::string> split_blanks(std::string_view s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_blank(s[i])) ++i;
    const std::size_t start = i;
    while (i < s.size() && !is_blank(s[i])) ++i;
    if (i > start) words.emplace_back(s.substr(start, i - start));
  }
  return words;
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

std::string trim(std::string_view s) {
  while (!s.empty() && (is_blank(s.front()) || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (is_blank(s.back()) || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

std::string first_line(std::string_view s) {
  const std::string t = trim(s);
  return t.substr(0, t.find('\n'));
}

// "AddressSanitizer: heap-use-after-free /src/x.cpp:3 in f" -> the sanitizer
// and the report kind. The kind is the words before the location or detail:
// a path, a "(module+offset)", "on address", "in function", "(pid=...)".
// A leak summary ("40 byte(s) leaked in 1 allocation(s).") is kind "leak".
bool parse_sanitizer(std::string_view rest, FailureSignature& sig) {
  const std::size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return false;
  const std::string_view name = rest.substr(0, colon);
  if (name.size() <= 9 || name.substr(name.size() - 9) != "Sanitizer" || name.find(' ') != std::string_view::npos)
    return false;
  const std::vector<std::string> words = split_blanks(rest.substr(colon + 2));
  std::string kind;
  if (!words.empty() && !words[0].empty() && words[0][0] >= '0' && words[0][0] <= '9' &&
      rest.find("leaked") != std::string_view::npos) {
    kind = "leak";
  } else {
    for (const std::string& w : words) {
      if (w[0] == '/' || w[0] == '(' || w.find(':') != std::string::npos || w == "in" || w == "on" || w == "at")
        break;
      kind += (kind.empty() ? "" : " ") + w;
    }
    while (!kind.empty() && (kind.back() == '.' || kind.back() == ',')) kind.pop_back();
  }
  sig.sanitizer = std::string(name);
  sig.report = kind.empty() ? "report" : kind;
  return true;
}

}  // namespace

std::string FailureSignature::describe() const {
  std::string d;
  if (!rule.empty()) d = "failure-rule: " + rule + (family.empty() || family == rule ? "" : " [" + family + "]");
  if (!sanitizer.empty()) d += (d.empty() ? "" : ", ") + sanitizer + ": " + report;
  if (!other.empty()) d += (d.empty() ? "" : ", ") + other;
  return d.empty() ? "no failure" : d;
}

FailureSignature signature_of(std::string_view output, const ChildStatus& status) {
  FailureSignature sig;
  std::string fallback_san;  // an ERROR:/WARNING: line, used when no SUMMARY: line came
  std::string abort_note;    // what a plain abort said, for `other`
  std::size_t start = 0;
  while (start < output.size()) {
    std::size_t end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    const std::string_view line = output.substr(start, end - start);
    start = end + 1;
    if (sig.rule.empty() && starts_with(line, "failure-rule: ")) sig.rule = trim(line.substr(14));
    const std::string body = trim(line);
    if (sig.family.empty() && starts_with(body, "rule:")) {
      const std::size_t a = body.find('['), b = body.find(']');
      if (a != std::string::npos && b != std::string::npos && b > a) sig.family = body.substr(a + 1, b - a - 1);
    }
    if (sig.sanitizer.empty()) {
      if (const std::size_t s = line.find("SUMMARY: "); s != std::string_view::npos) {
        parse_sanitizer(line.substr(s + 9), sig);
      } else if (fallback_san.empty()) {
        for (std::string_view tag : {"ERROR: ", "WARNING: "}) {
          const std::size_t e = line.find(tag);
          if (e != std::string_view::npos && line.find("Sanitizer: ", e) != std::string_view::npos) {
            fallback_san = std::string(line.substr(e + tag.size()));
            break;
          }
        }
      }
    }
    // The harness's own aborts (TrackedValue) and failed assertions say
    // which check fired; their addresses and magic numbers are cut off.
    if (abort_note.empty()) {
      if (starts_with(body, "gomap harness: ")) abort_note = trim(body.substr(0, body.find('(')));
      else if (const std::size_t a = body.find("Assertion `"); a != std::string::npos) abort_note = body.substr(a);
    }
  }
  if (sig.sanitizer.empty() && !fallback_san.empty()) parse_sanitizer(fallback_san, sig);
  if (!sig.rule.empty() || !sig.sanitizer.empty()) return sig;
  if (status.timed_out) {
    sig.other = "timeout";
  } else if (status.signalled) {
    const char* name = ::strsignal(status.signal);
    sig.other = "signal " + std::to_string(status.signal) + (name ? std::string(" (") + name + ")" : "");
    if (!abort_note.empty()) sig.other += ": " + abort_note;
  } else if (status.exit_code != 0 && status.exit_code != 2) {
    // 2 is the replay tool refusing the candidate (a line the form does
    // not accept): not the failure being minimized.
    sig.other = "exit " + std::to_string(status.exit_code);
  }
  return sig;
}

// ---- the text and its units

bool is_op_name(std::string_view word) {
  static const std::set<std::string, std::less<>> names = [] {
    std::set<std::string, std::less<>> s;
    for (const OpInfo& op : kOps) s.emplace(op.name);
    for (std::size_t k = 0; k < kConcOpKinds; ++k) s.emplace(conc_op_name(static_cast<ConcOpKind>(k)));
    return s;
  }();
  return names.count(word) != 0;
}

UnitText::UnitText(std::string_view text) {
  trailing_newline_ = !text.empty() && text.back() == '\n';
  if (trailing_newline_) text.remove_suffix(1);
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    Line l;
    l.original = std::string(text.substr(start, end - start));
    std::string_view rest = l.original;
    std::size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    l.indent = std::string(rest.substr(0, i));
    rest.remove_prefix(i);
    if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
      l.comment = std::string(rest.substr(hash));
      rest = rest.substr(0, hash);
    }
    l.words = split_blanks(rest);
    if (!l.words.empty() && is_op_name(l.words[0])) {
      l.kind = Line::Op;
      units_.push_back({lines_.size(), 0});
    } else if (!l.words.empty() && l.words[0] == "schedule") {
      l.kind = Line::Schedule;
      for (std::size_t w = 1; w < l.words.size(); ++w) units_.push_back({lines_.size(), w});
    }
    lines_.push_back(std::move(l));
    if (end == text.size()) break;
    start = end + 1;
  }
}

std::string UnitText::render(const std::vector<bool>& keep) const {
  // Which words of which lines go: units are in line order, so one walk.
  std::vector<std::vector<bool>> dropped(lines_.size());
  for (std::size_t u = 0; u < units_.size(); ++u) {
    if (keep[u]) continue;
    auto& d = dropped[units_[u].line];
    if (d.empty()) d.assign(lines_[units_[u].line].words.size(), false);
    d[units_[u].word] = true;
  }
  std::string out;
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    const Line& l = lines_[i];
    const auto& d = dropped[i];
    if (l.kind == Line::Op && !d.empty()) continue;  // the whole op line goes
    if (d.empty() && !l.edited) {
      out += l.original;
    } else {
      std::string s = l.indent;
      for (std::size_t w = 0; w < l.words.size(); ++w) {
        if (!d.empty() && d[w]) continue;
        s += (w == 0 ? "" : " ") + l.words[w];
      }
      if (!l.comment.empty()) s += " " + l.comment;
      out += s;
    }
    if (i + 1 < lines_.size() || trailing_newline_) out += '\n';
  }
  return out;
}

std::size_t UnitText::ops(const std::vector<bool>& keep) const {
  std::size_t n = 0;
  for (std::size_t u = 0; u < units_.size(); ++u) n += keep[u] && units_[u].word == 0;
  return n;
}

std::size_t UnitText::steps(const std::vector<bool>& keep) const {
  std::size_t n = 0;
  for (std::size_t u = 0; u < units_.size(); ++u) n += keep[u] && units_[u].word != 0;
  return n;
}

bool UnitText::is_op_line(std::size_t u) const { return units_[u].word == 0; }

std::vector<std::pair<std::size_t, unsigned long long>> UnitText::numeric_operands(std::size_t u) const {
  std::vector<std::pair<std::size_t, unsigned long long>> out;
  if (!is_op_line(u)) return out;
  const Line& l = lines_[units_[u].line];
  for (std::size_t w = 1; w < l.words.size(); ++w) {
    const std::string& s = l.words[w];
    if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) continue;
    out.emplace_back(w, std::stoull(s));
  }
  return out;
}

void UnitText::set_word(std::size_t u, std::size_t word, std::string value) {
  Line& l = lines_[units_[u].line];
  l.words.at(word) = std::move(value);
  l.edited = true;
}

// ---- the search

std::string minimize_text(std::string_view text, const std::function<bool(const std::string&)>& still_fails,
                          MinimizeStats& stats, const std::function<void(const std::string&)>& progress) {
  UnitText ut(text);
  std::vector<bool> keep(ut.units(), true);
  stats.ops_before = ut.ops(keep);
  stats.steps_before = ut.steps(keep);
  // A text is run once: the final sweep retries many candidates the sweep
  // before it already ran. Keyed by the text itself (programs are small), so
  // no two candidates can share an answer.
  std::unordered_map<std::string, bool> tried;
  auto test = [&](const std::vector<bool>& k) {
    std::string t = ut.render(k);
    if (auto it = tried.find(t); it != tried.end()) return it->second;
    ++stats.candidates;
    const bool r = still_fails(t);
    tried.emplace(std::move(t), r);
    return r;
  };
  auto counts = [&] {
    std::string s = std::to_string(ut.ops(keep)) + " ops";
    if (stats.steps_before) s += ", " + std::to_string(ut.steps(keep)) + " schedule steps";
    return s;
  };

  // One sweep: chunks of half the kept units, then quarters, ... then single
  // units, each size walked from the end (a removal there leaves the indices
  // before it alone). True if anything was removed.
  auto sweep = [&] {
    bool removed_any = false;
    std::vector<std::size_t> kept;
    for (std::size_t u = 0; u < keep.size(); ++u)
      if (keep[u]) kept.push_back(u);
    if (kept.empty()) return false;
    for (std::size_t chunk = (kept.size() + 1) / 2;; chunk = (chunk + 1) / 2) {
      bool removed = false;
      for (std::size_t end = kept.size(); end > 0;) {
        const std::size_t begin = end > chunk ? end - chunk : 0;
        std::vector<bool> cand = keep;
        for (std::size_t i = begin; i < end; ++i) cand[kept[i]] = false;
        if (test(cand)) {
          keep = std::move(cand);
          kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(begin), kept.begin() + static_cast<std::ptrdiff_t>(end));
          removed = true;
        }
        end = begin;
      }
      if (removed && progress) progress("minimize: " + counts() + " left (chunks of " + std::to_string(chunk) + ", " +
                                        std::to_string(stats.candidates) + " candidates run)");
      removed_any |= removed;
      if (chunk == 1 || kept.empty()) break;
    }
    return removed_any;
  };

  // Smaller operands: 0, else halves of the value while the failure stays.
  auto simplify = [&] {
    bool changed = false;
    for (std::size_t u = 0; u < keep.size(); ++u) {
      if (!keep[u] || !ut.is_op_line(u)) continue;
      for (const auto& operand : ut.numeric_operands(u)) {
        const std::size_t word = operand.first;
        const unsigned long long value = operand.second;
        if (value == 0) continue;
        unsigned long long best = value;
        auto try_value = [&](unsigned long long v) {
          ut.set_word(u, word, std::to_string(v));
          return test(keep);
        };
        if (try_value(0)) {
          best = 0;
        } else {
          for (unsigned long long v = best / 2; v > 0 && try_value(v); v /= 2) best = v;
        }
        changed |= best != value;
        ut.set_word(u, word, std::to_string(best));
      }
    }
    if (changed && progress) progress("minimize: operands simplified (" + std::to_string(stats.candidates) + " candidates run)");
    return changed;
  };

  for (;;) {
    while (sweep()) {
    }
    if (!simplify()) break;
  }
  stats.ops_after = ut.ops(keep);
  stats.steps_after = ut.steps(keep);
  return ut.render(keep);
}

// ---- running candidates

CandidateRunner::CandidateRunner(std::string exe, std::vector<std::string> args)
    : exe_(std::move(exe)), args_(std::move(args)) {
  std::error_code ec;
  const fs::path base = fs::temp_directory_path(ec);
  std::string tmpl = ((ec ? fs::path("/tmp") : base) / "gomap-minimize-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("cannot make a temporary directory in " + base.string() + ": " + std::strerror(errno));
  dir_ = tmpl;
}

CandidateRunner::~CandidateRunner() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

namespace {
constexpr const char* kExecFailed = "gomap-minimize: cannot run the replay binary: ";
constexpr std::size_t kMaxOutput = 4u << 20;
}  // namespace

CandidateRunner::Run CandidateRunner::run(const std::string& text, double timeout_seconds) {
  const std::string file = dir_ + "/candidate.txt", log = dir_ + "/candidate.out";
  {
    std::ofstream o(file, std::ios::binary | std::ios::trunc);
    o << text;
    if (!o) throw std::runtime_error("cannot write " + file);
  }
  // Everything the child needs is built before fork(): after it, only
  // async-signal-safe calls.
  std::vector<std::string> args{exe_};
  args.insert(args.end(), args_.begin(), args_.end());
  args.push_back("--quiet");
  args.push_back(file);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Sanitizer reports unsymbolized: symbolizing every report of every
  // candidate is most of the time of a sanitizer build's candidate, and the
  // kind of report (all the signature takes from it) does not change.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  for (const char* var : {"ASAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS", "MSAN_OPTIONS"}) {
    const std::string prefix = std::string(var) + "=";
    bool found = false;
    for (std::string& e : env)
      if (starts_with(e, prefix)) {
        e += ":symbolize=0";
        found = true;
      }
    if (!found) env.push_back(prefix + "symbolize=0");
  }
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int out_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out_fd < 0) throw std::runtime_error("cannot write " + log + ": " + std::strerror(errno));
  const pid_t parent = ::getpid();
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(out_fd);
    throw std::runtime_error(std::string("cannot start a child process: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // A child must not outlive a minimizer that was interrupted.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int in_fd = ::open("/dev/null", O_RDONLY);
    if (in_fd >= 0) ::dup2(in_fd, 0);
    ::dup2(out_fd, 1);
    ::dup2(out_fd, 2);
    ::execve(argv[0], argv.data(), envp.data());
    const char* why = std::strerror(errno);
    [[maybe_unused]] ssize_t w = ::write(2, kExecFailed, std::strlen(kExecFailed));
    w = ::write(2, why, std::strlen(why));
    ::_exit(127);
  }
  ::close(out_fd);
  Run r;
  int status = 0;
  const auto deadline = t0 + std::chrono::duration<double>(timeout_seconds);
  auto nap = std::chrono::microseconds(100);
  for (;;) {
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      r.status.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(5000));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r.status.timed_out) {
    r.status.signalled = WIFSIGNALED(status);
    r.status.signal = r.status.signalled ? WTERMSIG(status) : 0;
    r.status.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  {
    std::ifstream in(log, std::ios::binary);
    r.output.resize(kMaxOutput);
    in.read(r.output.data(), static_cast<std::streamsize>(kMaxOutput));
    r.output.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (r.status.exit_code == 127 && starts_with(r.output, kExecFailed))
    throw std::runtime_error("cannot run the replay binary " + exe_ + ": " + first_line(r.output.substr(std::strlen(kExecFailed))));
  r.signature = signature_of(r.output, r.status);
  return r;
}

// ---- the mode

namespace {

// A path in a comment line: printable ASCII only, so the text stays text.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

int minimize_main(const MinimizeOptions& opts, std::ostream& out, std::ostream& err) {
  auto error = [&](int status, const std::string& what) {
    err << opts.tool << ": error: " << what << "\n";
    return status;
  };
  if (opts.out && fs::exists(*opts.out)) return error(2, *opts.out + " exists; refusing to overwrite it");
  std::ostream& report = opts.out ? out : err;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    CandidateRunner runner(opts.exe, opts.child_args);
    // The original gets libFuzzer's time limit, so that a hang found by the
    // fuzzer is a hang here too; candidates get ten times the original's
    // time (at least 1 s), as they run a part of it.
    const double first_limit = opts.timeout_seconds > 0 ? opts.timeout_seconds : double(kFuzzTimeoutSeconds);
    const CandidateRunner::Run orig = runner.run(opts.text, first_limit);
    if (!orig.signature.fails()) {
      if (orig.status.exit_code == 2)
        return error(3, opts.name + ": its text form does not replay: " + first_line(orig.output));
      return error(2, "nothing to minimize: " + opts.name + " replays clean");
    }
    const double limit = opts.timeout_seconds > 0 ? opts.timeout_seconds
                         : orig.status.timed_out ? first_limit
                                                 : std::min(first_limit, std::max(1.0, 10 * orig.seconds));
    if (!opts.quiet) report << "minimize: " << opts.name << " fails with " << orig.signature.describe() << "\n";
    MinimizeStats stats;
    auto progress = [&](const std::string& line) {
      if (!opts.quiet) report << line << std::endl;
    };
    const std::string body = minimize_text(
        opts.text, [&](const std::string& t) { return runner.run(t, limit).signature == orig.signature; }, stats,
        progress);
    std::string counts = std::to_string(stats.ops_before) + " ops -> " + std::to_string(stats.ops_after) + " ops";
    if (stats.steps_before)
      counts += ", " + std::to_string(stats.steps_before) + " schedule steps -> " + std::to_string(stats.steps_after);
    const std::string result = "# minimized by " + opts.tool + " --minimize from " + printable(opts.name) + ": " + counts +
                               ", " + printable(orig.signature.describe()) + "\n" + body;
    // What is written is what was verified: run once more, comment included.
    const CandidateRunner::Run check = runner.run(result, limit);
    if (check.signature != orig.signature) {
      return error(3, "the minimized program failed with " + check.signature.describe() + " on its check run, not " +
                          orig.signature.describe() + " (is " + opts.name + "'s failure deterministic?)");
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ostringstream summary;
    summary << "minimize: " << counts << " (" << stats.candidates << " candidates run, " << std::fixed
            << std::setprecision(1) << secs << " s)";
    report << summary.str() << "\n" << "minimize: still fails with " << orig.signature.describe() << "\n";
    if (!opts.out) {
      out << result;
      out.flush();
      return out ? 0 : error(3, "cannot write the minimized program to stdout");
    }
    // "x": fail rather than overwrite a file that appeared meanwhile.
    std::FILE* f = std::fopen(opts.out->c_str(), "wx");
    if (!f) {
      if (errno == EEXIST) return error(2, *opts.out + " exists; refusing to overwrite it");
      return error(2, "cannot write " + *opts.out + ": " + std::strerror(errno));
    }
    const bool wrote = std::fwrite(result.data(), 1, result.size(), f) == result.size();
    if (std::fclose(f) != 0 || !wrote) return error(3, "cannot write " + *opts.out);
    report << "wrote " << *opts.out << "\n";
    return 0;
  } catch (const std::runtime_error& e) {
    return error(3, e.what());
  }
}

}  // namespace gomap_harness
