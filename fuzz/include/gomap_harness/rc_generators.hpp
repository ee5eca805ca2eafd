// gomap_harness/rc_generators.hpp — RapidCheck generators of programs in the
// one operation language (program.hpp). props/ runs what they generate
// through the one executor; nothing here defines an op a second time.
//
// Keys shrink toward small codes and programs toward fewer ops, so a failing
// case shrinks to a short story. OpMix weights the ops, so that a property
// can stress one area (iteration, clear, compact) without a new generator.
#pragma once

#include <rapidcheck.h>

#include <cstddef>
#include <ostream>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gomap_harness/program.hpp"

namespace gomap_harness {
// How RapidCheck prints a (shrunk) counterexample: the text form.
inline void showValue(const Program& p, std::ostream& os) { os << "\n" << to_text(p); }
}  // namespace gomap_harness

namespace gomap_harness::rcgen {

struct OpMix {
  std::size_t set = 6, get = 3, erase = 4, incr = 2, clear = 1, len = 1, compact = 1, copy_compare = 1;
  std::size_t iter_start = 2, iter_next = 5, iter_erase_yielded = 2, iter_set_yielded = 1, iter_stop = 1;
  std::size_t new_map = 1, check = 1;

  static OpMix no_iteration() {
    OpMix m;
    m.iter_start = m.iter_next = m.iter_erase_yielded = m.iter_set_yielded = m.iter_stop = 0;
    return m;
  }
  static OpMix iteration_heavy() {
    OpMix m;
    m.iter_start = 4;
    m.iter_next = 10;
    m.iter_erase_yielded = 4;
    m.iter_set_yielded = 2;
    return m;
  }
};

// Mostly small codes, which collide in every domain; now and then any code.
inline rc::Gen<std::uint16_t> key_code() {
  return rc::gen::weightedOneOf<std::uint16_t>({
      {9, rc::gen::inRange<std::uint16_t>(0, 64)},
      {1, rc::gen::arbitrary<std::uint16_t>()},
  });
}
inline rc::Gen<std::uint8_t> value_code() { return rc::gen::inRange<std::uint8_t>(0, 255); }
inline rc::Gen<std::uint8_t> iter_slot() { return rc::gen::inRange<std::uint8_t>(0, kMaxIterators); }

inline rc::Gen<Op> op_of(OpKind kind) {
  switch (kind) {
    case OpKind::Set:
      return rc::gen::map(rc::gen::pair(key_code(), value_code()), [](const std::pair<std::uint16_t, std::uint8_t>& kv) {
        Op o;
        o.kind = OpKind::Set;
        o.key = kv.first;
        o.value = kv.second;
        return o;
      });
    case OpKind::Get:
    case OpKind::Erase:
    case OpKind::Incr:
      return rc::gen::map(key_code(), [kind](std::uint16_t k) {
        Op o;
        o.kind = kind;
        o.key = k;
        return o;
      });
    case OpKind::IterSetYielded:
      return rc::gen::map(rc::gen::pair(iter_slot(), value_code()), [](const std::pair<std::uint8_t, std::uint8_t>& iv) {
        Op o;
        o.kind = OpKind::IterSetYielded;
        o.iter = iv.first;
        o.value = iv.second;
        return o;
      });
    case OpKind::IterStart:
    case OpKind::IterNext:
    case OpKind::IterEraseYielded:
    case OpKind::IterStop:
      return rc::gen::map(iter_slot(), [kind](std::uint8_t i) {
        Op o;
        o.kind = kind;
        o.iter = i;
        return o;
      });
    case OpKind::NewMap:
      return rc::gen::map(rc::gen::pair(rc::gen::inRange<std::uint8_t>(0, kHintCodes), rc::gen::arbitrary<std::uint8_t>()),
                          [](const std::pair<std::uint8_t, std::uint8_t>& hs) {
                            Op o;
                            o.kind = OpKind::NewMap;
                            o.hint = hs.first;
                            o.seed = hs.second;
                            return o;
                          });
    default: {
      Op o;
      o.kind = kind;
      return rc::gen::just(o);
    }
  }
}

inline rc::Gen<Op> op(const OpMix& m = {}) {
  std::vector<std::pair<std::size_t, rc::Gen<Op>>> choices;
  auto add = [&](std::size_t w, OpKind k) {
    if (w) choices.emplace_back(w, op_of(k));
  };
  add(m.set, OpKind::Set);
  add(m.get, OpKind::Get);
  add(m.erase, OpKind::Erase);
  add(m.incr, OpKind::Incr);
  add(m.clear, OpKind::Clear);
  add(m.len, OpKind::Len);
  add(m.compact, OpKind::Compact);
  add(m.copy_compare, OpKind::CopyCompare);
  add(m.iter_start, OpKind::IterStart);
  add(m.iter_next, OpKind::IterNext);
  add(m.iter_erase_yielded, OpKind::IterEraseYielded);
  add(m.iter_set_yielded, OpKind::IterSetYielded);
  add(m.iter_stop, OpKind::IterStop);
  add(m.new_map, OpKind::NewMap);
  add(m.check, OpKind::Check);
  // weightedOneOf takes an initializer_list; build the same choice by hand.
  std::size_t total = 0;
  for (const auto& c : choices) total += c.first;
  return rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, total), [choices](std::size_t pick) {
    for (const auto& c : choices) {
      if (pick < c.first) return c.second;
      pick -= c.first;
    }
    return choices.back().second;
  });
}

// A whole program for `target`; `domains` is the target's domain count.
inline rc::Gen<Program> program(std::string target, unsigned domains, const OpMix& m = {}) {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::inRange<unsigned>(0, domains), rc::gen::arbitrary<std::uint8_t>(),
                     rc::gen::weightedOneOf<std::uint8_t>({{4, rc::gen::just<std::uint8_t>(0)},
                                                           {1, rc::gen::inRange<std::uint8_t>(0, kHintCodes)}}),
                     rc::gen::container<std::vector<Op>>(op(m))),
      [target](const std::tuple<unsigned, std::uint8_t, std::uint8_t, std::vector<Op>>& t) {
        Program p;
        p.target = target;
        p.config.domain = static_cast<std::uint8_t>(std::get<0>(t));
        p.config.seed = std::get<1>(t);
        p.config.hint = std::get<2>(t);
        p.ops = std::get<3>(t);
        return p;
      });
}

}  // namespace gomap_harness::rcgen
