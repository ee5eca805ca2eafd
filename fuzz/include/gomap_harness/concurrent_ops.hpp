// gomap_harness/concurrent_ops.hpp — the operations of the concurrent maps
// (gomap::SyncMap, gomap::ShardedMap), defined once.
//
// Why these are not in program.hpp. program.hpp is gomap::Map's language:
// set, get, erase, incr, clear, len, iterator objects, new_map, ... The
// concurrent maps add operations gomap::Map has no counterpart for —
// load_or_store, swap, compare_and_swap, compare_and_delete, load_and_delete
// — and replace iterator objects by a callback range whose callback may call
// back into the map. Those are defined here, once, and used by the concurrent
// fuzz target, the concurrent stress tests and the linearizability checker
// (linearizability.hpp records and checks exactly these kinds).
//
// There is no second byte or text form: a concurrent input gives each thread
// bytes that gomap_harness::decode() turns into an ordinary Program, and
// to_concurrent() maps each of its Ops to a ConcOp. The concurrent-only
// operations ride on operand bits the map language leaves free for these maps
// (values are not taken from the program: every write stores a fresh value
// unique in the run, which the checker's range rules rely on):
//   set K V          V % 4: 0, 1 store; 2 swap; 3 load_or_store
//   get K            load
//   erase K          K >> 14: 0, 1 erase; 2 load_and_delete;
//                    3 compare_and_delete(K, the last value this thread saw for K)
//   incr K           compare_and_swap(K, the last value this thread saw for K, fresh)
//                    (Go's read-modify-write idiom on a sync.Map)
//   clear            clear
//   len              len (ShardedMap::size; a plain range on SyncMap, which has no len)
//   iter_start, iter_next    range
//   iter_erase_yielded       range whose callback erases every other yielded key
//   iter_set_yielded         range whose callback stores into every yielded key
//   iter_stop                range whose callback stops after the first key
//   compact, copy_compare, new_map, check   yield the CPU (no map operation)
// Key codes select a key modulo the run's key count (key & 0x3fff for erase).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "gomap_harness/program.hpp"

namespace gomap_harness {

enum class ConcOpKind : std::uint8_t {
  Load,
  Store,
  LoadOrStore,
  LoadAndDelete,
  Erase,
  Swap,
  CompareAndSwap,
  CompareAndDelete,
  Clear,
  Len,
  Range,       // fn returns true
  RangeErase,  // fn erases every other yielded key
  RangeStore,  // fn stores a fresh value into every yielded key
  RangeStop,   // fn returns false after the first key
  Yield,       // std::this_thread::yield(); not a map operation
};
inline constexpr std::size_t kConcOpKinds = 15;

struct ConcOp {
  ConcOpKind kind = ConcOpKind::Yield;
  std::uint16_t key = 0;  // key code (point operations)
  friend bool operator==(const ConcOp&, const ConcOp&) = default;
};

inline bool conc_is_range(ConcOpKind k) {
  return k == ConcOpKind::Range || k == ConcOpKind::RangeErase || k == ConcOpKind::RangeStore ||
         k == ConcOpKind::RangeStop;
}
// Point operations: one key, checked for linearizability per key.
inline bool conc_is_point(ConcOpKind k) {
  return k != ConcOpKind::Clear && k != ConcOpKind::Len && !conc_is_range(k) && k != ConcOpKind::Yield;
}

inline std::string_view conc_op_name(ConcOpKind k) {
  constexpr std::string_view names[kConcOpKinds] = {
      "load",  "store", "load_or_store", "load_and_delete", "erase",       "swap",        "compare_and_swap",
      "compare_and_delete", "clear", "len", "range", "range_erase", "range_store", "range_stop", "yield"};
  return names[static_cast<std::size_t>(k)];
}

// The mapping described above.
inline ConcOp to_concurrent(const Op& op) {
  ConcOp c;
  c.key = op.key;
  switch (op.kind) {
    case OpKind::Set:
      c.kind = (op.value & 3) == 2 ? ConcOpKind::Swap : (op.value & 3) == 3 ? ConcOpKind::LoadOrStore : ConcOpKind::Store;
      break;
    case OpKind::Get: c.kind = ConcOpKind::Load; break;
    case OpKind::Erase:
      c.kind = (op.key >> 14) == 2 ? ConcOpKind::LoadAndDelete
               : (op.key >> 14) == 3 ? ConcOpKind::CompareAndDelete
                                     : ConcOpKind::Erase;
      c.key = op.key & 0x3fff;
      break;
    case OpKind::Incr: c.kind = ConcOpKind::CompareAndSwap; break;
    case OpKind::Clear: c.kind = ConcOpKind::Clear; break;
    case OpKind::Len: c.kind = ConcOpKind::Len; break;
    case OpKind::IterStart:
    case OpKind::IterNext: c.kind = ConcOpKind::Range; break;
    case OpKind::IterEraseYielded: c.kind = ConcOpKind::RangeErase; break;
    case OpKind::IterSetYielded: c.kind = ConcOpKind::RangeStore; break;
    case OpKind::IterStop: c.kind = ConcOpKind::RangeStop; break;
    default: c.kind = ConcOpKind::Yield; break;
  }
  if (!conc_is_point(c.kind)) c.key = 0;
  return c;
}

}  // namespace gomap_harness
