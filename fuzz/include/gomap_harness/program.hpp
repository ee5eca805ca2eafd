// gomap_harness/program.hpp — the operation language, defined once.
//
// A Program is a target name, a small configuration (key domain, engine seed,
// constructor hint, deep-check mode) and a list of Ops. Every consumer speaks
// it: the libFuzzer byte decoder, the text form used for traces and
// hand-written regressions, the RapidCheck generator (props/), and the one
// executor (executor.hpp) that runs a program on gomap::Map and the oracle.
//
// Keys and values are codes, not values: a key code (0..65535) becomes a key
// of the target's type through the target's key domain (targets.hpp), so the
// same program shape drives u64, string, double and big keys, and the domain
// decides how much the keys collide.
//
// Binary form (what libFuzzer mutates). Every byte string decodes; nothing is
// rejected and a truncated last op is dropped:
//   [optional header "GMAP" <target id>]   written by the encoder, used by replay
//   config   <domain | 0xc0 if deep> <seed> <hint code>
//   ops      <op byte> <operands...>       low 6 bits: kind (program.cpp's
//                                          table), top 2: iterator slot;
//                                          operands: key u16 LE, value u8,
//                                          new_map: hint code, seed;
//                                          iter_copy/iter_move: dest slot
// Text form: one directive or op per line, '#' starts a comment:
//   target map_u64 / domain 1 / seed 7 / hint 0 / deep 1
//   set <key> <value>, get <key>, erase <key>, incr <key>, clear, len, compact,
//   copy_compare, iter_start <i>, iter_next <i>, iter_erase_yielded <i>,
//   iter_set_yielded <i> <value>, iter_stop <i>, new_map <hint> <seed>, check,
//   iter_copy <i> <j>, iter_move <i> <j>, move_map
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gomap_harness {

enum class OpKind : std::uint8_t {
  Set,               // m[k] = v
  Get,               // v, ok := m[k]
  Erase,             // delete(m, k)
  Incr,              // m[k] += 1 (operator[])
  Clear,             // clear(m)
  Len,               // len(m)
  Compact,           // m.compact() (extension)
  CopyCompare,       // copy the map, compare it with the oracle, mutate the copy
  IterStart,         // start (or restart) iterator i
  IterNext,          // advance iterator i
  IterEraseYielded,  // delete(m, the key iterator i yielded last)
  IterSetYielded,    // m[the key iterator i yielded last] = v
  IterStop,          // drop iterator i
  NewMap,            // m = make(map, hint) with a new seed
  Check,             // deep invariant check and full content comparison
  IterCopy,          // iterator j = a copy of iterator i (same position, independent from then on)
  IterMove,          // iterator j = std::move(iterator i); i is left finished
  MoveMap,           // move the map into a non-empty map and back: its live iterators end
};
inline constexpr std::size_t kOpKinds = 18;
inline constexpr unsigned kMaxIterators = 4;

struct Op {
  OpKind kind = OpKind::Len;
  std::uint16_t key = 0;   // key code (Set, Get, Erase, Incr)
  std::uint8_t value = 0;  // value code (Set, IterSetYielded)
  std::uint8_t iter = 0;   // iterator slot 0..3 (Iter*)
  std::uint8_t dest = 0;   // destination iterator slot 0..3 (IterCopy, IterMove)
  std::uint8_t hint = 0;   // hint code (NewMap), see hint_from_code
  std::uint8_t seed = 0;   // engine seed (NewMap)
  friend bool operator==(const Op&, const Op&) = default;
};

struct Config {
  std::uint8_t domain = 0;  // key domain 0..63, reduced modulo the target's domain count
  bool deep = false;        // check_invariants() after every op
  std::uint8_t seed = 0;    // engine seed of the first map
  std::uint8_t hint = 0;    // hint code of the first map
  friend bool operator==(const Config&, const Config&) = default;
};

struct Program {
  std::string target;  // may be empty when unknown (raw fuzzer input)
  Config config;
  std::vector<Op> ops;
  friend bool operator==(const Program&, const Program&) = default;
};

// The fuzz targets' names and binary ids come from the registry in
// targets.hpp (AllTargets); these look them up.
// "map_u64 map_string ..." for messages.
std::string target_list();
std::optional<std::uint8_t> target_id(std::string_view name);
std::optional<std::string_view> target_name(std::uint8_t id);

// Hints: a table, so that the binary form stays small and the absurd hints of
// Go's TestIgnoreBogusMapHint are reachable.
inline constexpr std::size_t kHintCodes = 16;
std::uint64_t hint_from_code(std::uint8_t code);
std::optional<std::uint8_t> code_from_hint(std::uint64_t hint);

const char* op_name(OpKind kind);
std::optional<OpKind> op_from_name(std::string_view name);
bool op_has_key(OpKind kind);
bool op_has_value(OpKind kind);
bool op_has_iter(OpKind kind);
bool op_has_dest(OpKind kind);  // a second iterator slot (IterCopy, IterMove)

// Binary form. decode() accepts every byte string. A "GMAP" header, if present
// and naming a known target, sets Program::target and is skipped.
Program decode(const std::uint8_t* data, std::size_t size);
std::vector<std::uint8_t> encode(const Program& p, bool with_header = true);
// True if the bytes start with the binary header; fills the target name.
bool has_binary_header(const std::uint8_t* data, std::size_t size, std::string* target = nullptr);

// Text form. parse_text() throws ParseError with a one-line message naming the
// line on any malformed line; to_text() round-trips through it.
class ParseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
Program parse_text(std::string_view text);
std::string to_text(const Program& p);
std::string op_to_text(const Op& op);
// A ready-to-paste GoogleTest case that replays `p` (which must name its
// target) through run_text_program(); `name` becomes the test's name.
std::string gtest_case(const Program& p, std::string_view name, std::string_view origin);

// Heuristic used by the replay tool: text programs are printable, start with
// a directive, an op or a comment, and name their target on a `target` line.
bool looks_like_text(const std::uint8_t* data, std::size_t size);

}  // namespace gomap_harness
