// gomap_harness/rc_generators.hpp — RapidCheck generators of programs in the
// one operation language (program.hpp). props/ runs what they generate
// through the one executor; nothing here defines an op a second time.
//
// Keys shrink toward small codes and programs toward fewer ops, so a failing
// case shrinks to a short story. OpMix weights the ops, so that a property
// can stress one area (iteration, clear, compact) without a new generator.
#pragma once

#include <rapidcheck.h>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <ostream>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gomap_harness/program.hpp"

namespace gomap_harness {
// How RapidCheck prints a (shrunk) counterexample: the text form.
inline void showValue(const Program& p, std::ostream& os) { os << "\n" << to_text(p); }
}  // namespace gomap_harness

namespace gomap_harness::rcgen {

// Weights of the ops, indexed by OpKind; the defaults are kOps's rc_weight.
struct OpMix {
  std::array<std::size_t, kOpKinds> weight = [] {
    std::array<std::size_t, kOpKinds> w{};
    for (const OpInfo& op : kOps) w[static_cast<std::size_t>(op.kind)] = op.rc_weight;
    return w;
  }();
  std::size_t& operator[](OpKind k) { return weight[static_cast<std::size_t>(k)]; }
  std::size_t operator[](OpKind k) const { return weight[static_cast<std::size_t>(k)]; }

  // No iterator ops (every op with an iterator operand).
  static OpMix no_iteration() {
    OpMix m;
    for (const OpInfo& op : kOps)
      if (op.operands & kIter) m[op.kind] = 0;
    return m;
  }
  // The defaults with some weights changed.
  static OpMix with(std::initializer_list<std::pair<OpKind, std::size_t>> changes) {
    OpMix m;
    for (const auto& [kind, w] : changes) m[kind] = w;
    return m;
  }
  // The delete-while-ranging idiom: writes that evacuate while iterators read.
  static OpMix erase_while_iterating() {
    return with({{OpKind::Get, 1}, {OpKind::Erase, 2}, {OpKind::IterStart, 2}, {OpKind::IterNext, 10},
                 {OpKind::IterEraseYielded, 8}, {OpKind::IterSetYielded, 2}});
  }
  static OpMix iteration_heavy() {
    return with({{OpKind::IterStart, 4}, {OpKind::IterNext, 10}, {OpKind::IterEraseYielded, 4}, {OpKind::IterSetYielded, 2}});
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

// An op of `kind` with generated operands (those kOps says it takes).
inline rc::Gen<Op> op_of(OpKind kind) {
  const std::uint8_t has = op_info(kind).operands;
  auto maybe = [](bool present, rc::Gen<std::uint8_t> g) { return present ? g : rc::gen::just<std::uint8_t>(0); };
  return rc::gen::map(
      rc::gen::tuple((has & kKey) ? key_code() : rc::gen::just<std::uint16_t>(0), maybe(has & kValue, value_code()),
                     maybe(has & kIter, iter_slot()), maybe(has & kDest, iter_slot()),
                     maybe(has & kHintSeed, rc::gen::inRange<std::uint8_t>(0, kHintCodes)),
                     maybe(has & kHintSeed, rc::gen::arbitrary<std::uint8_t>())),
      [kind](const std::tuple<std::uint16_t, std::uint8_t, std::uint8_t, std::uint8_t, std::uint8_t, std::uint8_t>& t) {
        Op o;
        o.kind = kind;
        std::tie(o.key, o.value, o.iter, o.dest, o.hint, o.seed) = t;
        return o;
      });
}

inline rc::Gen<Op> op(const OpMix& m = {}) {
  std::vector<std::pair<std::size_t, rc::Gen<Op>>> choices;
  for (const OpInfo& info : kOps)
    if (m[info.kind]) choices.emplace_back(m[info.kind], op_of(info.kind));
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

// A step of a program: usually one op, sometimes a burst of iter_next on one
// iterator. Draining an iterator after the map changed under it is where
// iteration bugs show, and independent ops almost never line up 20 advances
// of the same iterator.
inline rc::Gen<std::vector<Op>> step(const OpMix& m) {
  auto one = rc::gen::map(op(m), [](const Op& o) { return std::vector<Op>{o}; });
  if (m[OpKind::IterNext] == 0) return one;
  auto burst = rc::gen::map(rc::gen::pair(iter_slot(), rc::gen::inRange<unsigned>(2, 48)),
                            [](const std::pair<std::uint8_t, unsigned>& in) {
                              Op o;
                              o.kind = OpKind::IterNext;
                              o.iter = in.first;
                              return std::vector<Op>(in.second, o);
                            });
  return rc::gen::weightedOneOf<std::vector<Op>>({{12, one}, {1, burst}});
}

// A whole program for `target`; `domains` is the target's domain count.
inline rc::Gen<Program> program(std::string target, unsigned domains, const OpMix& m = {}) {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::inRange<unsigned>(0, domains), rc::gen::arbitrary<std::uint8_t>(),
                     rc::gen::weightedOneOf<std::uint8_t>({{4, rc::gen::just<std::uint8_t>(0)},
                                                           {1, rc::gen::inRange<std::uint8_t>(0, kHintCodes)}}),
                     rc::gen::container<std::vector<std::vector<Op>>>(step(m))),
      [target](const std::tuple<unsigned, std::uint8_t, std::uint8_t, std::vector<std::vector<Op>>>& t) {
        Program p;
        p.target = target;
        p.config.domain = static_cast<std::uint8_t>(std::get<0>(t));
        p.config.seed = std::get<1>(t);
        p.config.hint = std::get<2>(t);
        for (const auto& s : std::get<3>(t)) p.ops.insert(p.ops.end(), s.begin(), s.end());
        return p;
      });
}

// A program that first fills the map to just below one of Go's growth
// thresholds (13, 26 or 52 entries for B = 1, 2, 3) and then runs random ops
// of `m`: iterators started while a growth is in progress are rare in
// uniformly random programs, and this is where growth and iteration meet.
inline rc::Gen<Program> program_near_growth(std::string target, unsigned domains, const OpMix& m = OpMix::iteration_heavy()) {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::element<unsigned>(12u, 13u, 25u, 26u, 51u, 52u), rc::gen::element<unsigned>(1u, 7u),
                     program(std::move(target), domains, m)),
      [](const std::tuple<unsigned, unsigned, Program>& fsp) {
        Program p = std::get<2>(fsp);
        const unsigned stride = std::get<1>(fsp);  // 1 walks every code (NaNs included), 7 spreads out
        std::vector<Op> fill;
        for (unsigned i = 0; i < std::get<0>(fsp); ++i) {
          Op o;
          o.kind = OpKind::Set;
          o.key = static_cast<std::uint16_t>(i * stride);
          o.value = static_cast<std::uint8_t>(i + 1);
          fill.push_back(o);
        }
        p.config.hint = 0;
        p.ops.insert(p.ops.begin(), fill.begin(), fill.end());
        return p;
      });
}

// Clear in the middle of an iteration: fill n keys, start an iterator,
// advance it k times (so it may stand in any bucket of a chain, overflow
// buckets included), clear, then random ops: the shape of
// corpus/regressions/map_u64/go_issue_59411_clear_mid_growth_in_range.txt.
inline rc::Gen<Program> program_clear_mid_iteration(std::string target, unsigned domains) {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::inRange<unsigned>(1, 64), rc::gen::inRange<unsigned>(0, 64),
                     program(std::move(target), domains, OpMix::iteration_heavy())),
      [](const std::tuple<unsigned, unsigned, Program>& t) {
        Program p = std::get<2>(t);
        std::vector<Op> head;
        for (unsigned i = 0; i < std::get<0>(t); ++i) {
          Op o;
          o.kind = OpKind::Set;
          o.key = static_cast<std::uint16_t>(i);
          o.value = static_cast<std::uint8_t>(i + 1);
          head.push_back(o);
        }
        Op start;
        start.kind = OpKind::IterStart;
        head.push_back(start);
        Op next;
        next.kind = OpKind::IterNext;
        head.insert(head.end(), std::get<1>(t), next);
        Op clear;
        clear.kind = OpKind::Clear;
        head.push_back(clear);
        head.insert(head.end(), 4, next);
        p.ops.insert(p.ops.begin(), head.begin(), head.end());
        return p;
      });
}

// Churn: rounds of inserting fresh keys and erasing most of them again. The
// erased slots leave overflow buckets behind while the count stays low,
// which is what starts a same-size growth; a random tail follows.
inline rc::Gen<Program> program_churn(std::string target, unsigned domains) {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::inRange<unsigned>(2, 12), rc::gen::inRange<unsigned>(8, 48),
                     rc::gen::inRange<unsigned>(0, 4), program(std::move(target), domains)),
      [](const std::tuple<unsigned, unsigned, unsigned, Program>& t) {
        const unsigned rounds = std::get<0>(t), per_round = std::get<1>(t), kept = std::get<2>(t);
        Program p = std::get<3>(t);
        std::vector<Op> head;
        std::uint16_t next_key = 0;
        for (unsigned r = 0; r < rounds; ++r) {
          const std::uint16_t first = next_key;
          for (unsigned i = 0; i < per_round; ++i) {
            Op o;
            o.kind = OpKind::Set;
            o.key = next_key++;
            o.value = static_cast<std::uint8_t>(r + 1);
            head.push_back(o);
          }
          for (std::uint16_t k = first; k + kept < next_key; ++k) {
            Op o;
            o.kind = OpKind::Erase;
            o.key = k;
            head.push_back(o);
          }
        }
        p.ops.insert(p.ops.begin(), head.begin(), head.end());
        return p;
      });
}

}  // namespace gomap_harness::rcgen
