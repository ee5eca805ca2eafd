// The binary and text forms of the operation language (see program.hpp).
#include "gomap_harness/program.hpp"

#include "gomap_harness/targets.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <sstream>

namespace gomap_harness {
namespace {

constexpr std::uint64_t kHints[kHintCodes] = {
    0, 1, 7, 8, 9, 13, 14, 26, 27, 52, 53, 100, 200, 400,
    std::uint64_t(1) << 62, std::numeric_limits<std::uint64_t>::max(),
};


}  // namespace

std::optional<std::string_view> target_name(std::uint8_t id) {
  if (id >= kTargetNames.size()) return std::nullopt;
  return kTargetNames[id];
}

std::optional<std::uint8_t> target_id(std::string_view name) {
  for (std::size_t i = 0; i < kTargetNames.size(); ++i)
    if (kTargetNames[i] == name) return static_cast<std::uint8_t>(i);
  return std::nullopt;
}

std::uint64_t hint_from_code(std::uint8_t code) { return kHints[code % kHintCodes]; }
std::optional<std::uint8_t> code_from_hint(std::uint64_t hint) {
  for (std::size_t i = 0; i < kHintCodes; ++i)
    if (kHints[i] == hint) return static_cast<std::uint8_t>(i);
  return std::nullopt;
}

std::optional<OpKind> op_from_name(std::string_view name) {
  for (const OpInfo& op : kOps)
    if (name == op.name) return op.kind;
  return std::nullopt;
}

std::string target_list() {
  std::string s;
  for (std::string_view t : kTargetNames) s += (s.empty() ? "" : " ") + std::string(t);
  return s;
}

bool has_binary_header(const std::uint8_t* data, std::size_t size, std::string* target) {
  if (size < 5 || std::memcmp(data, kBinaryMagic, 4) != 0 || !target_name(data[4])) return false;
  if (target) *target = std::string(*target_name(data[4]));
  return true;
}

Program decode(const std::uint8_t* data, std::size_t size) {
  Program p;
  std::size_t pos = 0;
  if (has_binary_header(data, size, &p.target)) pos = 5;
  auto byte = [&](std::uint8_t& out) {
    if (pos >= size) return false;
    out = data[pos++];
    return true;
  };
  std::uint8_t b = 0;
  if (byte(b)) {
    // Deep mode (check_invariants() after every op) costs more than the ops
    // it checks, so it takes two set bits: a quarter of fuzzer inputs.
    p.config.domain = b & 0x3f;
    p.config.deep = (b & 0xc0) == 0xc0;
  }
  if (byte(b)) p.config.seed = b;
  if (byte(b)) p.config.hint = b % kHintCodes;
  p.ops.reserve(size - std::min(pos, size));  // at most one op a byte: no regrowth
  while (pos < size) {
    const std::uint8_t opbyte = data[pos++];
    Op op;
    op.kind = kKindTable[opbyte % kKindTableSize];
    if (op_has_iter(op.kind)) op.iter = (opbyte >> 6) & (kMaxIterators - 1);
    bool complete = true;
    if (op_has_key(op.kind)) {
      std::uint8_t lo = 0, hi = 0;
      complete = byte(lo) && byte(hi);
      op.key = static_cast<std::uint16_t>(lo | (hi << 8));
    }
    if (complete && op_has_value(op.kind)) complete = byte(op.value);
    if (complete && op_has_dest(op.kind)) {
      complete = byte(op.dest);
      op.dest &= kMaxIterators - 1;
    }
    if (complete && op_has_hint_seed(op.kind)) {
      complete = byte(op.hint) && byte(op.seed);
      op.hint %= kHintCodes;
    }
    if (!complete) break;  // a truncated last op is dropped
    p.ops.push_back(op);
  }
  return p;
}

std::vector<std::uint8_t> encode(const Program& p, bool with_header) {
  std::vector<std::uint8_t> out;
  if (with_header) {
    if (auto id = target_id(p.target)) {
      out.insert(out.end(), kBinaryMagic, kBinaryMagic + 4);
      out.push_back(*id);
    }
  }
  out.push_back(static_cast<std::uint8_t>((p.config.domain & 0x3f) | (p.config.deep ? 0xc0 : 0)));
  out.push_back(p.config.seed);
  out.push_back(p.config.hint % kHintCodes);
  for (const Op& op : p.ops) {
    std::uint8_t b = first_op_byte(op.kind);
    if (op_has_iter(op.kind)) b |= static_cast<std::uint8_t>((op.iter & (kMaxIterators - 1)) << 6);
    out.push_back(b);
    if (op_has_key(op.kind)) {
      out.push_back(static_cast<std::uint8_t>(op.key & 0xff));
      out.push_back(static_cast<std::uint8_t>(op.key >> 8));
    }
    if (op_has_value(op.kind)) out.push_back(op.value);
    if (op_has_dest(op.kind)) out.push_back(op.dest & (kMaxIterators - 1));
    if (op_has_hint_seed(op.kind)) {
      out.push_back(op.hint % kHintCodes);
      out.push_back(op.seed);
    }
  }
  return out;
}

std::string op_to_text(const Op& op) {
  std::string s = op_name(op.kind);
  if (op_has_iter(op.kind)) s += " " + std::to_string(op.iter);
  if (op_has_key(op.kind)) s += " " + std::to_string(op.key);
  if (op_has_value(op.kind)) s += " " + std::to_string(op.value);
  if (op_has_dest(op.kind)) s += " " + std::to_string(op.dest);
  if (op_has_hint_seed(op.kind)) s += " " + std::to_string(hint_from_code(op.hint)) + " " + std::to_string(op.seed);
  return s;
}

std::string to_text(const Program& p) {
  std::ostringstream o;
  o << "# gomap operation program (text form; see fuzz/README.md)\n";
  if (!p.target.empty()) o << "target " << p.target << "\n";
  o << "domain " << unsigned(p.config.domain) << "\n";
  o << "seed " << unsigned(p.config.seed) << "\n";
  o << "hint " << hint_from_code(p.config.hint) << "\n";
  o << "deep " << (p.config.deep ? 1 : 0) << "\n";
  for (const Op& op : p.ops) o << op_to_text(op) << "\n";
  return o.str();
}

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// Why `line` is not text (a control byte or invalid UTF-8), or nullptr.
const char* invalid_text(std::string_view line) {
  for (std::size_t i = 0; i < line.size();) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return "control byte (not a text program)";
      ++i;
      continue;
    }
    // A UTF-8 lead byte and its continuation bytes; no overlong forms,
    // surrogates or code points past U+10FFFF.
    const std::size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > line.size()) return "invalid UTF-8 (not a text program)";
    std::uint32_t cp = c & (0xff >> (n + 1));
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(line[i + k]);
      if ((cc & 0xc0) != 0x80) return "invalid UTF-8 (not a text program)";
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return "invalid UTF-8 (not a text program)";
    i += n;
  }
  return nullptr;
}

std::uint64_t parse_number(std::string_view w, std::uint64_t max, std::size_t line_no, const char* what) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
  if (ec != std::errc() || ptr != w.data() + w.size() || v > max) {
    throw ParseError("line " + std::to_string(line_no) + ": bad " + what + " '" + std::string(w) + "' (0.." +
                     std::to_string(max) + ")");
  }
  return v;
}

}  // namespace

Program parse_text(std::string_view text) {
  Program p;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_no;
    if (const char* why = invalid_text(line)) throw ParseError("line " + std::to_string(line_no) + ": " + why);
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    const auto w = split_words(line);
    if (w.empty()) {
      if (end == text.size()) break;
      continue;
    }
    auto want = [&](std::size_t n) {
      if (w.size() != n + 1) {
        throw ParseError("line " + std::to_string(line_no) + ": '" + std::string(w[0]) + "' takes " +
                         std::to_string(n) + " operand(s), got " + std::to_string(w.size() - 1));
      }
    };
    const std::string_view head = w[0];
    if (head == "target") {
      want(1);
      if (!target_id(w[1])) throw ParseError("line " + std::to_string(line_no) + ": unknown target '" + std::string(w[1]) + "'");
      p.target = std::string(w[1]);
    } else if (head == "domain") {
      want(1);
      p.config.domain = static_cast<std::uint8_t>(parse_number(w[1], 63, line_no, "domain"));
    } else if (head == "seed") {
      want(1);
      p.config.seed = static_cast<std::uint8_t>(parse_number(w[1], 255, line_no, "seed"));
    } else if (head == "deep") {
      want(1);
      p.config.deep = parse_number(w[1], 1, line_no, "deep flag") != 0;
    } else if (head == "hint") {
      want(1);
      const auto code = code_from_hint(parse_number(w[1], std::numeric_limits<std::uint64_t>::max(), line_no, "hint"));
      if (!code) throw ParseError("line " + std::to_string(line_no) + ": hint " + std::string(w[1]) + " is not in the hint table");
      p.config.hint = *code;
    } else if (auto kind = op_from_name(head)) {
      Op op;
      op.kind = *kind;
      std::size_t n = (op_has_iter(*kind) ? 1 : 0) + (op_has_key(*kind) ? 1 : 0) + (op_has_value(*kind) ? 1 : 0) +
                      (op_has_dest(*kind) ? 1 : 0) + (op_has_hint_seed(*kind) ? 2 : 0);
      want(n);
      std::size_t a = 1;
      if (op_has_iter(*kind)) op.iter = static_cast<std::uint8_t>(parse_number(w[a++], kMaxIterators - 1, line_no, "iterator"));
      if (op_has_key(*kind)) op.key = static_cast<std::uint16_t>(parse_number(w[a++], 65535, line_no, "key"));
      if (op_has_value(*kind)) op.value = static_cast<std::uint8_t>(parse_number(w[a++], 255, line_no, "value"));
      if (op_has_dest(*kind)) op.dest = static_cast<std::uint8_t>(parse_number(w[a++], kMaxIterators - 1, line_no, "iterator"));
      if (op_has_hint_seed(*kind)) {
        const auto code = code_from_hint(parse_number(w[a++], std::numeric_limits<std::uint64_t>::max(), line_no, "hint"));
        if (!code) throw ParseError("line " + std::to_string(line_no) + ": hint is not in the hint table");
        op.hint = *code;
        op.seed = static_cast<std::uint8_t>(parse_number(w[a++], 255, line_no, "seed"));
      }
      p.ops.push_back(op);
    } else {
      throw ParseError("line " + std::to_string(line_no) + ": unknown directive or op '" + std::string(head) + "'");
    }
    if (end == text.size()) break;
  }
  return p;
}

std::string gtest_case(const Program& p, std::string_view name, std::string_view origin) {
  std::string id = std::string(p.target.empty() ? "program" : p.target) + "_";
  for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  std::ostringstream o;
  o << "// Regression from " << origin << " (add to a test file linked with gomap_harness)\n"
    << "TEST(Regression, " << id << ") {\n"
    << "  const char* program = R\"gomap(\n"
    << to_text(p) << ")gomap\";\n"
    << "  const gomap_harness::RunResult r = gomap_harness::run_text_program(program);\n"
    << "  EXPECT_TRUE(r.ok) << (r.failure ? gomap_harness::describe_failure(*r.failure) : \"\");\n"
    << "}\n";
  return o.str();
}

namespace {

std::string dict_token(std::string_view name, const std::vector<std::uint8_t>& bytes) {
  static const char* const hex = "0123456789abcdef";
  std::string s = std::string(name) + "=\"";
  for (std::uint8_t b : bytes) s += std::string("\\x") + hex[b >> 4] + hex[b & 15];
  return s + "\"\n";
}

// Op sequences worth a token, in the text form: a start-iterate-clear-
// iterate sequence, a grow-under-iterator pair, and delete-while-ranging.
constexpr std::pair<std::string_view, std::string_view> kDictSequences[] = {
    {"seq_iter_clear", "iter_start 0\niter_next 0\nclear\niter_next 0"},
    {"seq_set_next", "set 1 1\niter_next 0"},
    {"seq_next_erase", "iter_next 0\niter_erase_yielded 0\niter_next 0\niter_erase_yielded 0"},
};

}  // namespace

std::string fuzz_dictionary(std::string_view target,
                            const std::vector<std::pair<std::string_view, std::uint16_t>>& key_codes) {
  std::string d = "# libFuzzer dictionary of " + std::string(target) +
                  ", generated from the op table (kOps, fuzz/include/gomap_harness/program.hpp)\n"
                  "# by `gomap-replay --dict " + std::string(target) +
                  "`; corpus/build.sh writes it. Do not edit: a test compares it.\n"
                  "# Op bytes: the low 6 bits pick the op, the top 2 the iterator slot.\n";
  for (const OpInfo& op : kOps) {
    const std::uint8_t b = first_op_byte(op.kind);
    if (!(op.operands & kIter)) {
      d += dict_token("op_" + std::string(op.name), {b});
      continue;
    }
    for (unsigned i = 0; i < kMaxIterators; ++i) {
      const auto with_slot = static_cast<std::uint8_t>(b | (i << 6));
      std::string name = "op_" + std::string(op.name) + "_" + std::to_string(i);
      if (op.operands & kDest) {
        const unsigned j = (i + 1) % kMaxIterators;
        d += dict_token(name + "_" + std::to_string(j), {with_slot, static_cast<std::uint8_t>(j)});
      } else {
        d += dict_token(name, {with_slot});
      }
    }
  }
  d += "# Op sequences.\n";
  for (const auto& [name, text] : kDictSequences) {
    std::vector<std::uint8_t> bytes = encode(parse_text(text), false);
    bytes.erase(bytes.begin(), bytes.begin() + 3);  // the configuration bytes
    d += dict_token(name, bytes);
  }
  if (!key_codes.empty()) d += "# Key codes (u16 little endian) of this target's special keys.\n";
  for (const auto& [name, code] : key_codes)
    d += dict_token(name, {static_cast<std::uint8_t>(code & 0xff), static_cast<std::uint8_t>(code >> 8)});
  return d;
}

std::string fuzz_options(std::string_view target, std::size_t max_len) {
  const std::string t(target);
  return "[libfuzzer]\nmax_len = " + std::to_string(max_len) + "\ndict = " + t + ".dict\ntimeout = " +
         std::to_string(kFuzzTimeoutSeconds) + "\nrss_limit_mb = " + std::to_string(kFuzzRssLimitMb) + "\n";
}

bool looks_like_text(const std::uint8_t* data, std::size_t size) {
  // Decided by shape, not by the bytes allowed: a text program may hold any
  // UTF-8 in its comments (an em dash once made a regression replay as 115
  // random binary ops), and parse_text() rejects what is not valid text, so a
  // file that looks like a program is never decoded as binary.
  std::string_view s(reinterpret_cast<const char*>(data), size);
  // A text program names its target (to_text() always writes it): without
  // that line, printable bytes are more likely a fuzzer input that happens to
  // be printable, and must replay as the binary program it is.
  bool names_target = false;
  for (std::size_t pos = 0; pos < s.size() && !names_target;) {
    std::size_t end = s.find('\n', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view line = s.substr(pos, end - pos);
    const std::size_t b = line.find_first_not_of(" \t\r");
    if (b != std::string_view::npos && line.substr(b, 7) == "target ") names_target = true;
    pos = end + 1;
  }
  if (!names_target) return false;
  // First word must be a comment, a directive or an op name.
  const std::size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return false;
  if (s[first] == '#') return true;
  const std::size_t stop = s.find_first_of(" \t\r\n", first);
  const std::string_view word = s.substr(first, stop == std::string_view::npos ? std::string_view::npos : stop - first);
  return word == "target" || word == "domain" || word == "seed" || word == "hint" || word == "deep" ||
         op_from_name(word).has_value();
}

}  // namespace gomap_harness
