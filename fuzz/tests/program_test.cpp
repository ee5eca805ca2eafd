// The operation language: binary and text round trips, decoder robustness,
// parse errors, and the text/binary heuristic.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gomap_harness/program.hpp"
#include "gomap_harness/targets.hpp"

namespace gh = gomap_harness;

namespace {

// A random op with its fields normalised as decode() normalises them: only the
// fields the kind uses are set, each within its range.
gh::Op random_op(std::mt19937_64& rng) {
  gh::Op op;
  op.kind = static_cast<gh::OpKind>(rng() % gh::kOpKinds);
  if (gh::op_has_iter(op.kind)) op.iter = static_cast<std::uint8_t>(rng() % gh::kMaxIterators);
  if (gh::op_has_key(op.kind)) op.key = static_cast<std::uint16_t>(rng() % 65536);
  if (gh::op_has_value(op.kind)) op.value = static_cast<std::uint8_t>(rng() % 256);
  if (gh::op_has_dest(op.kind)) op.dest = static_cast<std::uint8_t>(rng() % gh::kMaxIterators);
  if (op.kind == gh::OpKind::NewMap) {
    op.hint = static_cast<std::uint8_t>(rng() % gh::kHintCodes);
    op.seed = static_cast<std::uint8_t>(rng() % 256);
  }
  return op;
}

gh::Program random_program(std::mt19937_64& rng, bool with_target) {
  gh::Program p;
  if (with_target) p.target = std::string(gh::kTargetNames[rng() % gh::kTargetNames.size()]);
  p.config.domain = static_cast<std::uint8_t>(rng() % 64);
  p.config.deep = rng() % 2;
  p.config.seed = static_cast<std::uint8_t>(rng() % 256);
  p.config.hint = static_cast<std::uint8_t>(rng() % gh::kHintCodes);
  const std::size_t n = rng() % 60;
  for (std::size_t i = 0; i < n; ++i) p.ops.push_back(random_op(rng));
  return p;
}

gh::Program decode_vec(const std::vector<std::uint8_t>& b) { return gh::decode(b.data(), b.size()); }

bool text_is_text(const std::string& s) {
  return gh::looks_like_text(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Expects parse_text(text) to throw ParseError whose message starts with "line N:".
void expect_parse_error(const std::string& text, std::size_t line, const std::string& what_contains = "") {
  SCOPED_TRACE(text);
  try {
    (void)gh::parse_text(text);
    ADD_FAILURE() << "no ParseError";
  } catch (const gh::ParseError& e) {
    const std::string msg = e.what();
    const std::string prefix = "line " + std::to_string(line) + ":";
    EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "message: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    if (!what_contains.empty()) EXPECT_NE(msg.find(what_contains), std::string::npos) << "message: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

}  // namespace

TEST(ProgramRoundTrip, EveryOpKindIsCovered) {
  std::mt19937_64 rng(1);
  std::vector<bool> seen(gh::kOpKinds, false);
  for (int i = 0; i < 1000; ++i) seen[static_cast<std::size_t>(random_op(rng).kind)] = true;
  for (std::size_t k = 0; k < gh::kOpKinds; ++k) EXPECT_TRUE(seen[k]) << gh::op_name(static_cast<gh::OpKind>(k));
}

TEST(ProgramRoundTrip, BinaryWithHeader) {
  std::mt19937_64 rng(0x5eed);
  for (int i = 0; i < 2000; ++i) {
    const gh::Program p = random_program(rng, true);
    const auto bytes = gh::encode(p, true);
    std::string t;
    ASSERT_TRUE(gh::has_binary_header(bytes.data(), bytes.size(), &t));
    EXPECT_EQ(t, p.target);
    ASSERT_EQ(decode_vec(bytes), p) << gh::to_text(p);
  }
}

TEST(ProgramRoundTrip, BinaryWithoutHeader) {
  std::mt19937_64 rng(0x5eed + 1);
  for (int i = 0; i < 2000; ++i) {
    gh::Program p = random_program(rng, true);
    const auto bytes = gh::encode(p, false);
    EXPECT_FALSE(bytes.size() >= 4 && bytes[0] == 'G' && bytes[1] == 'M' && bytes[2] == 'A' && bytes[3] == 'P' &&
                 bytes.size() >= 5 && bytes[4] < gh::kTargetNames.size());
    p.target.clear();  // the target is not in headerless bytes
    ASSERT_EQ(decode_vec(bytes), p) << gh::to_text(p);
  }
}

TEST(ProgramRoundTrip, Text) {
  std::mt19937_64 rng(0x7e47);
  for (int i = 0; i < 2000; ++i) {
    const gh::Program p = random_program(rng, i % 3 != 0);  // some without a target line
    const std::string text = gh::to_text(p);
    ASSERT_EQ(gh::parse_text(text), p) << text;
  }
}

TEST(ProgramRoundTrip, TextToBinaryToText) {
  std::mt19937_64 rng(0xb1b1);
  for (int i = 0; i < 1000; ++i) {
    const std::string text = gh::to_text(random_program(rng, true));
    const auto bytes = gh::encode(gh::parse_text(text), true);
    ASSERT_EQ(gh::to_text(decode_vec(bytes)), text);
  }
}

TEST(ProgramRoundTrip, EmptyProgram) {
  gh::Program p;
  p.target = "map_string";
  EXPECT_EQ(decode_vec(gh::encode(p, true)), p);
  EXPECT_EQ(gh::parse_text(gh::to_text(p)), p);
  EXPECT_EQ(gh::parse_text(""), gh::Program{});
}

TEST(ProgramDecode, RandomBytesNeverThrowAndAreCanonical) {
  std::mt19937_64 rng(0xdec0de);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> bytes(rng() % 301);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
    if (i % 4 == 0 && bytes.size() >= 5) {  // exercise the header path too
      bytes[0] = 'G', bytes[1] = 'M', bytes[2] = 'A', bytes[3] = 'P';
      bytes[4] = static_cast<std::uint8_t>(rng() % 7);  // 5 and 6 are not targets
    }
    gh::Program p;
    ASSERT_NO_THROW(p = gh::decode(bytes.data(), bytes.size()));
    EXPECT_LE(p.config.domain, 63);
    EXPECT_LT(p.config.hint, gh::kHintCodes);
    for (const gh::Op& op : p.ops) {
      EXPECT_LT(op.iter, gh::kMaxIterators);
      EXPECT_LT(op.hint, gh::kHintCodes);
    }
    // Re-encoding is canonical: it decodes to the same program, with or without the header.
    ASSERT_EQ(decode_vec(gh::encode(p, true)), p);
    gh::Program headerless = p;
    headerless.target.clear();
    ASSERT_EQ(decode_vec(gh::encode(p, false)), headerless);
    // And the text form holds every decoded program.
    ASSERT_NO_THROW(EXPECT_EQ(gh::parse_text(gh::to_text(p)), p));
  }
}

TEST(ProgramDecode, TruncatedLastOpIsDropped) {
  // config: domain 5, seed 7, hint code 3; then set(0x1234, 9), get(0x0002), then a set cut after its key's low byte.
  const std::vector<std::uint8_t> full = {5, 7, 3, 0, 0x34, 0x12, 9, 6, 0x02, 0x00, 0, 0x11};
  const gh::Program p = decode_vec(full);
  EXPECT_EQ(p.config.domain, 5);
  EXPECT_EQ(p.config.seed, 7);
  EXPECT_EQ(p.config.hint, 3);
  EXPECT_FALSE(p.config.deep);
  ASSERT_EQ(p.ops.size(), 2u);
  EXPECT_EQ(p.ops[0].kind, gh::OpKind::Set);
  EXPECT_EQ(p.ops[0].key, 0x1234);
  EXPECT_EQ(p.ops[0].value, 9);
  EXPECT_EQ(p.ops[1].kind, gh::OpKind::Get);
  EXPECT_EQ(p.ops[1].key, 2);
  // Every prefix decodes; the op count only drops with the partial op.
  const std::size_t expected_ops[] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
  for (std::size_t n = 0; n <= full.size(); ++n) {
    EXPECT_EQ(gh::decode(full.data(), n).ops.size(), expected_ops[n]) << "prefix " << n;
  }
  // A new_map missing its seed byte is dropped too; a bare clear is complete.
  const std::vector<std::uint8_t> nm = {0, 0, 0, 15, 30, 4};
  const gh::Program q = decode_vec(nm);
  ASSERT_EQ(q.ops.size(), 1u);
  EXPECT_EQ(q.ops[0].kind, gh::OpKind::Clear);
  // The deep bit takes both top bits.
  EXPECT_TRUE(gh::decode(std::vector<std::uint8_t>{0xc1}.data(), 1).config.deep);
  EXPECT_FALSE(gh::decode(std::vector<std::uint8_t>{0x81}.data(), 1).config.deep);
  EXPECT_FALSE(gh::decode(std::vector<std::uint8_t>{0x41}.data(), 1).config.deep);
}

TEST(ProgramParseText, ErrorsNameTheLine) {
  const std::string head = "# comment\ntarget map_u64\n";  // lines 1-2
  expect_parse_error(head + "frobnicate 1\n", 3, "frobnicate");
  expect_parse_error(head + "set 1\n", 3, "set");
  expect_parse_error(head + "set 1 2 3\n", 3);
  expect_parse_error(head + "get\n", 3);
  expect_parse_error(head + "clear 1\n", 3);
  expect_parse_error(head + "iter_set_yielded 0\n", 3);
  expect_parse_error(head + "new_map 0\n", 3);
  expect_parse_error(head + "set 65536 1\n", 3, "key");
  expect_parse_error(head + "set -1 1\n", 3, "key");
  expect_parse_error(head + "set 1x 1\n", 3, "key");
  expect_parse_error(head + "set 1 256\n", 3, "value");
  expect_parse_error(head + "iter_next 4\n", 3, "iterator");
  expect_parse_error(head + "iter_set_yielded 0 300\n", 3, "value");
  expect_parse_error(head + "domain 64\n", 3, "domain");
  expect_parse_error(head + "seed 256\n", 3, "seed");
  expect_parse_error(head + "deep 2\n", 3);
  expect_parse_error(head + "hint 5\n", 3, "hint");
  expect_parse_error(head + "new_map 5 1\n", 3, "hint");
  expect_parse_error(head + "new_map 18446744073709551616 1\n", 3, "hint");
  expect_parse_error("target map_nope\n", 1, "map_nope");
  expect_parse_error("set 1 1\n\n# gap\nlen\ntarget map_u65\n", 5, "map_u65");
  // Blank lines and comments count; a last line without '\n' counts too.
  expect_parse_error("\n\n\n\nset 1 1\nbogus", 6, "bogus");
  expect_parse_error("set 1 1\r\nlen\r\nset 70000 1\r\n", 3, "key");
}

TEST(ProgramParseText, AcceptsCommentsAndWhitespace) {
  const gh::Program p = gh::parse_text(
      "  # leading comment\n\ttarget   map_double # trailing\n domain 2\r\nhint 18446744073709551615\n"
      "new_map 4611686018427387904 9\niter_set_yielded 3 200\n\n");
  EXPECT_EQ(p.target, "map_double");
  EXPECT_EQ(p.config.domain, 2);
  EXPECT_EQ(gh::hint_from_code(p.config.hint), ~std::uint64_t(0));
  ASSERT_EQ(p.ops.size(), 2u);
  EXPECT_EQ(p.ops[0].kind, gh::OpKind::NewMap);
  EXPECT_EQ(gh::hint_from_code(p.ops[0].hint), std::uint64_t(1) << 62);
  EXPECT_EQ(p.ops[0].seed, 9);
  EXPECT_EQ(p.ops[1].iter, 3);
  EXPECT_EQ(p.ops[1].value, 200);
}

TEST(ProgramLooksLikeText, TextYesBinaryNo) {
  std::mt19937_64 rng(0x1007);
  for (int i = 0; i < 1000; ++i) {
    gh::Program p = random_program(rng, true);
    EXPECT_TRUE(text_is_text(gh::to_text(p)));
    if (p.ops.empty()) p.ops.push_back(random_op(rng));
    const auto bytes = gh::encode(p, true);
    EXPECT_FALSE(gh::looks_like_text(bytes.data(), bytes.size())) << gh::to_text(p);
  }
  // A text program names its target; printable bytes without one are a
  // fuzzer input that happens to be printable, and replay as binary.
  EXPECT_TRUE(text_is_text("# a regression\ntarget map_u64\nset 1 2\n"));
  EXPECT_TRUE(text_is_text("\n  target map_u64\n"));
  // Comments may hold any UTF-8 (an em dash, an accent), whatever the file's name.
  EXPECT_TRUE(text_is_text("# caf\xc3\xa9 \xe2\x80\x94 a regression\ntarget map_u64\nset 1 1\n"));
  EXPECT_FALSE(text_is_text("set 1 2\n"));
  EXPECT_FALSE(text_is_text("# just a comment"));
  EXPECT_FALSE(text_is_text("#a\t5"));
  EXPECT_FALSE(text_is_text(""));
  EXPECT_FALSE(text_is_text("   \n\n"));
  EXPECT_FALSE(text_is_text("hello world\n"));
  EXPECT_FALSE(text_is_text("GMAP"));
}

// The dictionary's key tokens name what they are in domain 0.
TEST(OpTable, DictionaryKeyCodesAreTheKeysTheyName) {
  auto check = [](auto key_of, auto is_nan, auto x_of) {
    return [=](std::string_view name, std::uint16_t code) {
      const auto k = key_of(code);
      const double x = x_of(k);
      if (name.find("nan") != std::string_view::npos) EXPECT_TRUE(is_nan(k)) << name;
      else if (name.find("negzero") != std::string_view::npos) EXPECT_TRUE(x == 0.0 && std::signbit(x)) << name;
      else if (name.find("zero") != std::string_view::npos) EXPECT_TRUE(x == 0.0 && !std::signbit(x)) << name;
      else if (name.find("inf") != std::string_view::npos) EXPECT_TRUE(std::isinf(x)) << name;
      else ADD_FAILURE() << "unchecked dictionary key " << name;
    };
  };
  auto on_double = check([](std::uint16_t c) { return gh::DoubleTarget::key(c, 0); }, gh::DoubleTarget::is_nan,
                         [](double x) { return x; });
  for (const auto& [name, code] : gh::DoubleTarget::dict_keys) on_double(name, code);
  auto on_struct = check([](std::uint16_t c) { return gh::StructTarget::key(c, 0); }, gh::StructTarget::is_nan,
                         [](const gh::DoubleLabel& k) { return k.x; });
  for (const auto& [name, code] : gh::StructTarget::dict_keys) on_struct(name, code);
}

// The byte table derived from kOps: each op's shares, no whole-map op in
// the second half, and every kind reachable from its first byte.
// The binary format is a contract with every saved crash file and seed: the
// op a byte decodes to must never change. This is the table as shipped; a
// change to kOps' shares that moves any slot fails here.
TEST(OpTable, ByteTableIsTheShippedOne) {
  using K = gh::OpKind;
  constexpr K kShipped[gh::kKindTableSize] = {
      K::Set, K::Set, K::Set, K::Set, K::Set, K::MoveMap, K::Get, K::Get,
      K::Get, K::Erase, K::Erase, K::Erase, K::Erase, K::Incr, K::Incr, K::Clear,
      K::Len, K::Compact, K::CopyCompare, K::IterStart, K::IterStart, K::IterNext, K::IterNext, K::IterNext,
      K::IterNext, K::IterNext, K::IterEraseYielded, K::IterEraseYielded, K::IterSetYielded, K::IterStop, K::NewMap, K::Check,
      K::Set, K::Set, K::Set, K::Set, K::Set, K::Set, K::Set, K::IterCopy,
      K::Get, K::Get, K::Get, K::IterMove, K::Erase, K::Erase, K::Erase, K::Erase,
      K::Erase, K::Erase, K::Incr, K::Incr, K::IterStart, K::IterStart, K::IterNext, K::IterNext,
      K::IterNext, K::IterNext, K::IterNext, K::IterNext, K::IterNext, K::IterEraseYielded, K::IterEraseYielded, K::IterSetYielded,
  };
  for (std::size_t b = 0; b < gh::kKindTableSize; ++b)
    EXPECT_EQ(gh::kKindTable[b], kShipped[b]) << "byte " << b << " decodes to another op than in the shipped format";
}

TEST(OpTable, ByteTableFollowsTheShares) {
  for (const gh::OpInfo& op : gh::kOps) {
    std::size_t any = 0, cheap = 0;
    for (std::size_t b = 0; b < gh::kKindTableSize; ++b)
      if (gh::kKindTable[b] == op.kind) ++(b < gh::kKindTableHalf ? any : cheap);
    EXPECT_EQ(any, op.share_any) << op.name;
    EXPECT_EQ(cheap, op.share_cheap) << op.name;
    EXPECT_EQ(gh::kKindTable[gh::first_op_byte(op.kind)], op.kind) << op.name;
    EXPECT_EQ(gh::op_from_name(op.name), op.kind) << op.name;
  }
}
