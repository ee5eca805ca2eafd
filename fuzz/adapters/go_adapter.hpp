// adapters/go_adapter.hpp — the real Go runtime's map as an engine: each op
// goes to gomap-go-oracle (fuzz/go_oracle/, its README has the protocol) over
// a pipe and its reply comes back before the next op, so Go's map is checked
// by the same oracle and iteration model as gomap (Go's rules).
//
// What runs as it is, what is translated, what is skipped (support()):
//   - set, get, erase, incr, len, iter_start/next/stop, new_map, check run as
//     they are (iter_erase_yielded/iter_set_yielded are the executor's erase
//     and set of the yielded key; check's walk uses the oracle's own slot 4;
//     new_map's seed is not sent: Go's hash seed cannot be fixed).
//   - clear is translated to the runtime's mapclear (what Go 1.21-1.23
//     compile clear(m) to; Go 1.19 has no clear). Its contents, len, B and
//     header afterwards are gomap's; with live iterators it differs (Go 1.24's
//     clearSeq is missing, see the oracle's README), so every live iterator
//     ends first (ends_iterators) and the executor counts it.
//   - compact, copy_compare, iter_copy, iter_move, move_map are skipped: Go
//     has no such thing.
// After every reply the adapter keeps the runtime header it reported (B,
// count, growing): size() is the runtime's count, and the lockstep driver
// compares B with gomap's.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/engine_adapter.hpp"
#include "gomap_harness/targets.hpp"

namespace gomap_harness {

// The Go process failed (died, refused a line, answered nonsense): a tool
// failure, not a finding. Not a std::exception, so that the executor, which
// turns engine exceptions into findings, lets it through to the driver.
struct GoProcessFailed {
  std::string what;
};

// A number in a reply of the Go oracle. A malformed one is the oracle's
// failure (GoProcessFailed, a tool failure), never an exception the executor
// would report as gomap's.
inline std::uint64_t reply_number(std::string_view s, int base = 10) {
  try {
    std::size_t used = 0;
    const std::uint64_t v = std::stoull(std::string(s), &used, base);
    if (used == s.size()) return v;
  } catch (const std::exception&) {
  }
  throw GoProcessFailed{"gomap-go-oracle replied a malformed number '" + std::string(s) + "'"};
}

// One gomap-go-oracle process, spoken to one line at a time.
class GoProcess {
 public:
  static constexpr unsigned kSlots = 5;      // the oracle's iterator slots: 0..3 for programs, 4 spare
  explicit GoProcess(const std::string& path) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw GoProcessFailed{"pipe: " + std::string(std::strerror(errno))};
    pid_ = fork();
    if (pid_ < 0) throw GoProcessFailed{"fork: " + std::string(std::strerror(errno))};
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]), close(in[1]), close(out[0]), close(out[1]);
      execl(path.c_str(), path.c_str(), static_cast<char*>(nullptr));
      std::fprintf(stderr, "cannot run %s: %s\n", path.c_str(), std::strerror(errno));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    std::signal(SIGPIPE, SIG_IGN);  // a dead oracle is a failed write, reported, not a silent exit
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    if (!to_ || !from_) throw GoProcessFailed{"fdopen failed"};
  }
  GoProcess(const GoProcess&) = delete;
  GoProcess& operator=(const GoProcess&) = delete;
  ~GoProcess() {
    if (to_) std::fclose(to_);
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }

  // Sends one op line and returns the reply's fields (`ok <op> ...`), or
  // throws GoProcessFailed for an `error` reply or a dead process.
  const std::vector<std::pair<std::string, std::string>>& call(const std::string& line) {
    ++round_trips;
    if (std::fputs(line.c_str(), to_) < 0 || std::fputc('\n', to_) < 0 || std::fflush(to_) != 0)
      throw GoProcessFailed{"gomap-go-oracle went away (writing '" + line + "')"};
    std::string reply;
    for (int c; (c = std::fgetc(from_)) != '\n';) {
      if (c == EOF) throw GoProcessFailed{"gomap-go-oracle went away (no reply to '" + line + "')"};
      reply.push_back(static_cast<char>(c));
    }
    if (reply.rfind("ok ", 0) != 0) throw GoProcessFailed{"gomap-go-oracle refused '" + line + "': " + reply};
    fields_.clear();
    std::size_t at = 3;
    while (at < reply.size()) {
      std::size_t end = reply.find(' ', at);
      if (end == std::string::npos) end = reply.size();
      const std::string tok = reply.substr(at, end - at);
      const auto eq = tok.find('=');
      if (eq != std::string::npos) fields_.emplace_back(tok.substr(0, eq), tok.substr(eq + 1));
      at = end + 1;
    }
    B = static_cast<unsigned>(number("B"));
    count = number("count");
    growing = number("growing") != 0;
    return fields_;
  }
  const std::string& field(std::string_view name) const {
    for (const auto& [k, v] : fields_)
      if (k == name) return v;
    throw GoProcessFailed{"gomap-go-oracle's reply lacks " + std::string(name)};
  }
  std::uint64_t number(std::string_view name) const { return reply_number(field(name)); }

  // Iterator slots held by live cursors.
  int acquire_slot() {
    for (unsigned i = 0; i < kSlots; ++i)
      if (!(held_ & (1u << i))) {
        held_ |= 1u << i;
        return static_cast<int>(i);
      }
    throw GoProcessFailed{"more live iterators than gomap-go-oracle has slots"};
  }
  void release_slot(int i) {
    if (i >= 0) held_ &= ~(1u << i);
  }

  // The runtime header of the last reply.
  unsigned B = 0;
  std::size_t count = 0;
  bool growing = false;
  std::size_t round_trips = 0;

  // The process the adapters of this thread talk to (set by the driver).
  static GoProcess*& current() {
    thread_local GoProcess* p = nullptr;
    return p;
  }

 private:
  pid_t pid_ = -1;
  std::FILE* to_ = nullptr;
  std::FILE* from_ = nullptr;
  std::vector<std::pair<std::string, std::string>> fields_;
  unsigned held_ = 0;
};

// Key tokens of the oracle's key types (its README's table), both ways.
namespace go_keys {
inline std::string hex(const void* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) s += digits[b[i] >> 4], s += digits[b[i] & 15];
  return s;
}
inline std::string unhex(std::string_view s) {
  std::string out;
  auto v = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<char>(v(s[i]) * 16 + v(s[i + 1])));
  return out;
}
inline std::string f64(double d) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(d)));
  return buf;
}
inline double parse_f64(std::string_view s) {
  return std::bit_cast<double>(reply_number(s, 16));
}
inline std::string str(const std::string& s) { return s.empty() ? "-" : hex(s.data(), s.size()); }
inline std::string parse_str(std::string_view s) { return s == "-" ? std::string() : unhex(s); }

template <class K>
struct Codec;
template <>
struct Codec<std::uint64_t> {
  static constexpr const char* type = "u64";
  static std::string enc(std::uint64_t k) { return std::to_string(k); }
  static std::uint64_t dec(const std::string& s) { return reply_number(s); }
};
template <>
struct Codec<double> {
  static constexpr const char* type = "f64";
  static std::string enc(double k) { return f64(k); }
  static double dec(const std::string& s) { return parse_f64(s); }
};
template <>
struct Codec<std::string> {
  static constexpr const char* type = "string";
  static std::string enc(const std::string& k) { return str(k); }
  static std::string dec(const std::string& s) { return parse_str(s); }
};
template <>
struct Codec<BigKey> {
  static constexpr const char* type = "bigkey";
  static std::string enc(const BigKey& k) { return hex(&k, sizeof k); }
  static BigKey dec(const std::string& s) {
    BigKey k;
    const std::string b = unhex(s);
    if (b.size() != sizeof k) throw GoProcessFailed{"a bigkey token of " + std::to_string(b.size()) + " bytes"};
    std::memcpy(&k, b.data(), sizeof k);
    return k;
  }
};
template <>
struct Codec<DoubleLabel> {
  static constexpr const char* type = "struct";
  static std::string enc(const DoubleLabel& k) { return f64(k.x) + ":" + str(k.label); }
  static DoubleLabel dec(const std::string& s) {
    const auto colon = s.find(':');
    if (colon == std::string::npos) throw GoProcessFailed{"a struct key token without ':'"};
    return {parse_f64(std::string_view(s).substr(0, colon)), parse_str(std::string_view(s).substr(colon + 1))};
  }
};
}  // namespace go_keys

template <class T>
class GoAdapter {
 public:
  using Key = typename T::Key;
  using Codec = go_keys::Codec<Key>;
  static constexpr IterRules rules = IterRules::Go;
  static constexpr std::string_view engine = "Go 1.19 (gomap-go-oracle)";
  static constexpr OpSupport support(OpKind k) {
    switch (k) {
      case OpKind::Compact:
      case OpKind::CopyCompare:
      case OpKind::IterCopy:
      case OpKind::IterMove:
      case OpKind::MoveMap: return OpSupport::Skip;
      case OpKind::Clear: return OpSupport::Translate;
      default: return OpSupport::Run;
    }
  }
  // mapclear leaves removed entries visible to an iterator paused in an
  // overflow bucket (no clearSeq in Go 1.19): no iterator lives across it.
  static constexpr bool ends_iterators(OpKind k) { return k == OpKind::Clear; }

  // A cursor owns one of the process's iterator slots while it lives.
  struct Cursor {
    GoProcess* p = nullptr;
    int slot = -1;
    bool finished = false;
    Key key{};
    std::uint64_t value = 0;
    Cursor() = default;
    Cursor(GoProcess* proc, int s) : p(proc), slot(s) {}
    Cursor(Cursor&& o) noexcept : p(o.p), slot(std::exchange(o.slot, -1)), finished(o.finished), key(std::move(o.key)), value(o.value) {}
    Cursor& operator=(Cursor&&) = delete;
    ~Cursor() {
      if (p) p->release_slot(slot);
    }
  };

  GoAdapter(std::uint64_t hint, std::uint8_t /*seed: Go's cannot be fixed*/, unsigned /*domain*/) : p_(GoProcess::current()) {
    if (!p_) throw GoProcessFailed{"no gomap-go-oracle process for this thread"};
    p_->call(std::string("keytype ") + Codec::type);
    p_->call("new " + std::to_string(hint));
  }
  GoAdapter(const GoAdapter&) = delete;
  GoAdapter& operator=(const GoAdapter&) = delete;

  void set(const Key& k, std::uint64_t v) { p_->call("set " + Codec::enc(k) + " " + std::to_string(v)); }
  void incr(const Key& k) { p_->call("incr " + Codec::enc(k)); }
  std::optional<std::uint64_t> get(const Key& k) const {
    p_->call("get " + Codec::enc(k));
    if (p_->number("found") == 0) return std::nullopt;
    return p_->number("value");
  }
  bool erase(const Key& k) {
    p_->call("erase " + Codec::enc(k));
    return p_->number("erased") != 0;
  }
  void clear() { p_->call("clear mapclear"); }
  std::size_t size() const { return p_->count; }  // the runtime's count after the last op
  template <class F>
  void for_each(F&& f) const {
    Cursor c(p_, p_->acquire_slot());
    step(c, "iter_start");
    for (; !c.finished; step(c, "iter_next")) f(c.key, c.value);
  }
  Cursor begin() {
    Cursor c(p_, p_->acquire_slot());
    step(c, "iter_start");
    return c;
  }
  void next(Cursor& c) { step(c, "iter_next"); }
  bool done(const Cursor& c) const { return c.finished; }
  const Key& key(const Cursor& c) const { return c.key; }
  std::uint64_t value(const Cursor& c) const { return c.value; }

 private:
  void step(Cursor& c, const char* op) const {
    p_->call(std::string(op) + " " + std::to_string(c.slot));
    if (p_->number("yielded") == 0) {
      c.finished = true;
      return;
    }
    c.key = Codec::dec(p_->field("key"));
    c.value = p_->number("value");
  }
  GoProcess* p_;
};

}  // namespace gomap_harness
