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
//   ops      <op byte> <operands...>       low 6 bits: kind (kKindTable, built
//                                          from kOps), top 2: iterator slot;
//                                          operands as kOps says (Operand)
// Text form: one directive or op per line, '#' starts a comment:
//   target map_u64 / domain 1 / seed 7 / hint 0 / deep 1
//   <op name> <operands...>                kOps's names, operands in Operand order
#pragma once

#include <array>
#include <iterator>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gomap_harness {

// The ops, in the order of their rows in kOps below (which is also the order
// in which they fill the byte table). New ops go at the end.
enum class OpKind : std::uint8_t {
  Set,               // m[k] = v
  MoveMap,           // move the map into a non-empty map and back: its live iterators end
  IterCopy,          // iterator j = a copy of iterator i (same position, independent from then on)
  Get,               // v, ok := m[k]
  IterMove,          // iterator j = std::move(iterator i); i is left finished
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
};
inline constexpr unsigned kMaxIterators = 4;

// An op's operands, in the order both forms write them: the iterator slot
// (in the op byte's top 2 bits in the binary form), key code (u16 LE),
// value code (u8), destination iterator slot (u8), hint code and seed (u8 each).
enum Operand : std::uint8_t { kIter = 1, kKey = 2, kValue = 4, kDest = 8, kHintSeed = 16 };

// One row per op: everything else about an op derives from it — the byte
// table (kKindTable), the text names, the operand checks of both forms, the
// RapidCheck weights (rcgen::OpMix), the per-op coverage counters
// (fuzz_target.hpp) and the fuzzing dictionaries (`gomap-replay --dict`).
struct OpInfo {
  OpKind kind;
  std::string_view name;    // the text form's name
  std::uint8_t operands;    // Operand bits
  std::uint8_t share_any;   // slots of the byte table's first half (32 slots)
  std::uint8_t share_cheap; // slots of its second half (32 slots, no whole-map op)
  std::uint8_t rc_weight;   // default weight in RapidCheck's programs (rcgen::OpMix)
  bool whole_map;           // acts on or walks every entry: dear, so kept out of the second half
};

// Shares: the cheap, state-changing ops get most of the byte space; the
// whole-map ops (which would otherwise dominate the fuzzer's time) only a
// slot each of the first half.
inline constexpr OpInfo kOps[] = {
    // kind                      name                  operands         any cheap rc  whole_map
    {OpKind::Set,              "set",                kKey | kValue,     5,  7,   6, false},
    {OpKind::MoveMap,          "move_map",           0,                 1,  0,   1, true},
    {OpKind::IterCopy,         "iter_copy",          kIter | kDest,     0,  1,   1, false},
    {OpKind::Get,              "get",                kKey,              3,  3,   3, false},
    {OpKind::IterMove,         "iter_move",          kIter | kDest,     0,  1,   1, false},
    {OpKind::Erase,            "erase",              kKey,              4,  6,   4, false},
    {OpKind::Incr,             "incr",               kKey,              2,  2,   2, false},
    {OpKind::Clear,            "clear",              0,                 1,  0,   1, true},
    {OpKind::Len,              "len",                0,                 1,  0,   1, false},
    {OpKind::Compact,          "compact",            0,                 1,  0,   1, true},
    {OpKind::CopyCompare,      "copy_compare",       0,                 1,  0,   1, true},
    {OpKind::IterStart,        "iter_start",         kIter,             2,  2,   2, false},
    {OpKind::IterNext,         "iter_next",          kIter,             5,  7,   5, false},
    {OpKind::IterEraseYielded, "iter_erase_yielded", kIter,             2,  2,   2, false},
    {OpKind::IterSetYielded,   "iter_set_yielded",   kIter | kValue,    1,  1,   1, false},
    {OpKind::IterStop,         "iter_stop",          kIter,             1,  0,   1, false},
    {OpKind::NewMap,           "new_map",            kHintSeed,         1,  0,   1, false},
    {OpKind::Check,            "check",              0,                 1,  0,   1, true},
};
inline constexpr std::size_t kOpKinds = std::size(kOps);

// The byte table: the low 6 bits of an op byte index it. Its first half
// holds each op's share_any slots and its second half each op's share_cheap
// slots, both in row order; the first slot of a kind is what the encoder writes.
inline constexpr std::size_t kKindTableSize = 64;
inline constexpr std::size_t kKindTableHalf = kKindTableSize / 2;
inline constexpr std::array<OpKind, kKindTableSize> kKindTable = [] {
  std::array<OpKind, kKindTableSize> t{};
  std::size_t any = 0, cheap = kKindTableHalf;
  for (const OpInfo& op : kOps) {
    for (unsigned i = 0; i < op.share_any; ++i) t[any++] = op.kind;
    for (unsigned i = 0; i < op.share_cheap; ++i) t[cheap++] = op.kind;
  }
  return t;
}();

constexpr const OpInfo& op_info(OpKind kind) { return kOps[static_cast<std::size_t>(kind)]; }
constexpr const char* op_name(OpKind kind) { return op_info(kind).name.data(); }
constexpr bool op_has_iter(OpKind kind) { return op_info(kind).operands & kIter; }
constexpr bool op_has_key(OpKind kind) { return op_info(kind).operands & kKey; }
constexpr bool op_has_value(OpKind kind) { return op_info(kind).operands & kValue; }
constexpr bool op_has_dest(OpKind kind) { return op_info(kind).operands & kDest; }  // a second iterator slot
constexpr bool op_has_hint_seed(OpKind kind) { return op_info(kind).operands & kHintSeed; }
// The op byte the encoder writes for `kind` (iterator slot 0).
constexpr std::uint8_t first_op_byte(OpKind kind) {
  for (std::size_t b = 0; b < kKindTableSize; ++b)
    if (kKindTable[b] == kind) return static_cast<std::uint8_t>(b);
  return 0xff;
}

namespace detail {
constexpr bool op_table_is_consistent() {
  std::size_t any = 0, cheap = 0;
  for (std::size_t i = 0; i < kOpKinds; ++i) {
    const OpInfo& op = kOps[i];
    if (static_cast<std::size_t>(op.kind) != i) return false;             // rows in OpKind order
    if (op.share_any + op.share_cheap == 0) return false;                 // every op has a byte
    if (op.whole_map && op.share_cheap != 0) return false;                // the second half stays cheap
    if ((op.operands & kDest) && !(op.operands & kIter)) return false;   // a destination needs a source
    if (op.name.empty() || op.name.data()[op.name.size()] != '\0') return false;  // op_name() returns a C string
    any += op.share_any;
    cheap += op.share_cheap;
  }
  return any == kKindTableHalf && cheap == kKindTableHalf;
}
}  // namespace detail
static_assert(detail::op_table_is_consistent(),
              "kOps: rows in OpKind order, each op with a byte, no whole-map op in the second half, "
              "and the shares of each half summing to 32");
static_assert(kMaxIterators == 4, "the op byte's top 2 bits hold the iterator slot");

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

std::optional<OpKind> op_from_name(std::string_view name);

// The fuzz targets ignore longer inputs (their .options ask libFuzzer for
// at most a few hundred bytes), and the standalone replay binaries refuse
// them: a program this long already runs for seconds.
inline constexpr std::size_t kMaxFuzzInputBytes = 64 * 1024;
// The first four bytes of a binary program with a header (map targets and
// concurrent_sched alike); the fifth is the target's id.
inline constexpr char kBinaryMagic[4] = {'G', 'M', 'A', 'P'};

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

// A libFuzzer dictionary (-dict=) for a target: every op byte (each
// iterator slot for iterator ops), a few op sequences, and `key_codes`, the
// target's key codes worth a token (name, code). `gomap-replay --dict`
// prints it and corpus/build.sh writes corpus/<target>.dict from it.
std::string fuzz_dictionary(std::string_view target,
                            const std::vector<std::pair<std::string_view, std::uint16_t>>& key_codes);

// The libFuzzer options file (corpus/<target>.options, read by ci/ and
// ClusterFuzzLite) of a target whose inputs are at most `max_len` bytes.
// `gomap-replay --options` prints it and corpus/build.sh writes it.
inline constexpr unsigned kFuzzTimeoutSeconds = 10;
inline constexpr unsigned kFuzzRssLimitMb = 2048;
std::string fuzz_options(std::string_view target, std::size_t max_len);

// How the replay tool tells the forms apart: a text program starts with a
// comment, a directive or an op and names its target on a `target` line.
// Anything else is binary; a file that looks like text but does not parse
// (a control byte, invalid UTF-8, a bad line) is an error, never binary.
bool looks_like_text(const std::uint8_t* data, std::size_t size);

}  // namespace gomap_harness
