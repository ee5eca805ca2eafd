// gomap/map.hpp — Go's classic runtime hash map, in C++20.
//
// This is the bucket map the Go runtime used up to Go 1.23 (runtime/map.go),
// with Go 1.24's clearSeq fix, rebuilt with the same layout so that it has the
// same guarantees and the same corner cases. What follows is the design; the
// code below it keeps to it, and check_invariants() is its executable form.
//
// Layout. A map is a header plus an array of 2^B buckets. A bucket holds eight
// entries: eight one-byte "tophash" values first, then the eight keys, then
// the eight values, then a pointer to an overflow bucket. The low B bits of a
// key's hash pick the bucket; the top eight bits, bumped past the reserved
// values below, are stored in the tophash byte so that a lookup compares one
// byte per slot (eight at a time, as a 64-bit word) before it touches a key.
// Keys or values larger than 128 bytes are stored indirectly: the slot holds a
// pointer to a separately allocated object.
//
// Tophash states. 0 emptyRest: this slot and every later slot of the chain
// are empty, so a scan may stop. 1 emptyOne: this slot is empty. 2 evacuatedX
// and 3 evacuatedY: the entry moved to the low or high half of the new array.
// 4 evacuatedEmpty: empty, and the bucket was evacuated. 5.. a filled slot.
// Erase marks emptyOne and, when the slot is followed only by emptyRest, walks
// backwards turning the trailing emptyOnes into emptyRest, crossing back into
// earlier buckets of the chain. Insert reuses the first empty slot of the
// chain, so a chain is always "filled and emptyOne slots, then emptyRest".
//
// Growth. A write that adds a key makes the map grow when the new count would
// exceed 6.5 entries per bucket (count > 8 && count > 13 * 2^B / 2), or when
// there are as many overflow buckets as buckets (noverflow >= 2^min(B,15)); the
// latter grows to the same size, which only compacts long chains left behind
// by erases. Growth allocates the new array and keeps the old one as
// "oldbuckets"; nothing moves yet. Each later write evacuates the old bucket it
// is about to touch, plus the lowest not yet evacuated one (nevacuate), so the
// cost is spread over writes. Evacuating a bucket moves each entry to bucket i
// (X) or i + 2^oldB (Y) of the new array, chosen by one more hash bit, and
// leaves evacuatedX/Y marks behind. Lookups read the old bucket while it is not
// yet evacuated. No growth starts while another is in progress.
//
// Iteration. An iterator snapshots the bucket array and B, and starts at a
// random bucket and a random slot offset (both drawn from the map's seeded
// generator). If a growth is in progress and the iterator's B is the map's B,
// it reads the old bucket that feeds the bucket it is visiting while that old
// bucket is not evacuated, skipping entries that belong to the other half. An
// entry marked evacuated in the array it reads is looked up again in the
// current map: the lookup yields the current key and value, or nothing if the
// key was erased. An entry read in place is returned directly when it cannot
// have changed under the iterator: the map has not been cleared since the
// iterator started (clearSeq, Go 1.24's fix for Go issue 70189) and the entry
// is not evacuated (or is NaN, which a lookup could never find). NaN keys pick
// their half from the low bit of their tophash while an iterator is live, so
// that an iterator that filters by half sees each NaN exactly once.
//
// Keeping memory alive. Go's iterator relies on the garbage collector to keep
// the arrays it reads alive; C++ has none. Here every bucket array, together
// with its preallocated spare overflow buckets and every overflow bucket
// chained to it, is one reference-counted Table. The map holds a reference to
// its current and old tables; an iterator holds a reference to its snapshot
// table and to the table of the bucket it stands in. A table is freed only
// when the last reference goes, so growth finishing, clear, and compaction
// never free memory an iterator may still read. Evacuation while an iterator
// may still read the old bucket (Go's oldIterator flag) copies keys and values
// instead of moving them, so the old slot stays readable for the re-lookup;
// without live iterators it moves them. (Go keys this on its oldIterator flag;
// we count live iterators, which also covers an iterator that outlives two
// same-size growths — a case where Go's flag has already been dropped.)
//
// Clearing and replacing under an iterator. Go's mapclear marks every slot
// of both arrays emptyRest, so an iterator standing in either sees nothing
// that was cleared. Here clear() reuses the bucket array in place when no
// iterator holds it; when one does, it swaps in a fresh array and marks the
// arrays it drops (current and old) as emptied, and iterators read an
// emptied array as all emptyRest. An iterator reading the old bucket of a
// doubling growth yields only the entries bound for the half it is
// visiting; for an evacuated entry it takes the half from the evacuatedX/Y
// mark, never from a new hash of the key, because the seed changes when the
// map is cleared or empties. An iterator follows the map object it started
// on: when that object's contents are replaced wholesale (moved from, move-
// or copy-assigned to, swapped), its live iterators end, since the tables
// they read belong to another object now.
//
// Keys. +0.0 and -0.0 are one key; assigning to an existing float key
// overwrites the stored key too, so its sign follows the last write. NaN is
// never equal to itself: each insert adds an entry with a random hash that no
// lookup or erase can find; iteration yields it and clear() removes it.
//
// Determinism. All randomness — the hash seed, its re-randomisation when the
// map empties or is cleared, iteration starts, NaN hashes, the sampled
// overflow counter of huge maps — comes from one splitmix64 generator per map,
// seeded by gomap::Seed. Same seed and same operations give the same
// behaviour, bit for bit.
//
// Misuse detection. Like Go, the map is not safe for concurrent writes; a
// writing flag, kept with relaxed atomics so that correct programs stay clean
// under ThreadSanitizer, makes unsynchronised use abort with Go's messages
// ("fatal error: concurrent map writes" and its read and iteration siblings).
// Concurrent readers, iteration included, are allowed, as in Go.
//
// References. find(), operator[] and the references an iterator yields are
// valid until the next write to the map, as with any C++ container. In
// particular `for (auto&& [k, v] : m) m.erase(k);` is fine (erase does not use
// the key after destroying it) but k must be copied first if the body uses it
// after erasing it.
#pragma once

#include <algorithm>
#include <bit>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <unistd.h>

#include "gomap/hash.hpp"

namespace gomap {

struct Seed {
  std::uint64_t value = 0;
};

struct Stats {
  std::size_t count = 0;             // live entries (len(m))
  unsigned B = 0;                    // log2 of the bucket count
  std::size_t buckets = 0;           // 2^B
  std::size_t overflow_buckets = 0;  // overflow buckets in use, current and old arrays
  std::size_t noverflow = 0;         // Go's noverflow: overflow buckets counted toward same-size growth
  bool growing = false;              // an evacuation is in progress
  bool same_size_grow = false;       // ... and it is a same-size growth
  std::size_t nevacuate = 0;         // old buckets below this index are evacuated
  std::size_t bytes = 0;             // memory held by the map (tables, spares, indirect objects)
  std::uint64_t clear_seq = 0;       // number of clear() calls that removed something
  std::size_t live_iterators = 0;    // iterators that have not finished
  std::uint64_t growths = 0;         // growths started (doubling or same-size) since construction
  std::uint64_t growths_done = 0;    // growths whose evacuation completed (clear drops one instead)
};

class InvariantError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

struct MapTestAccess;  // test-only backdoor, defined in gomap/testing.hpp

// Canaries. Building with -DGOMAP_CANARY=<name> (CMake) plants one known bug,
// so that we can prove the fuzz targets and properties find that class of
// bug. They never appear in a normal build. Names (see fuzz/README.md):
//   no-emptyrest-walk      erase leaves trailing emptyOne slots
//   evac-skips-overflow    evacuation drops the overflow buckets of a chain
//   iter-no-relookup       iterators return evacuated entries without a re-lookup
//   iter-ignores-clearseq  iterators forget Go 1.24's clearSeq check
//   growth-off-by-one      the load-factor trigger fires one entry early
//   erase-leaks-value      erase never destroys the value
//   nan-evac-wrong-half    NaN keys pick their half from the hash under iterators
//   no-key-update          assigning to +0.0 keeps the old key's sign
//   clear-in-place-shared  clear() empties an array an iterator still reads
//   evac-moves-under-iterator  evacuation moves keys an old iterator still needs
//   filter-drops-hits      the lookup filter tests the wrong bit
//   no-same-size-growth    too many overflow buckets never trigger a growth
//   grow-work-skips-nevacuate  a write evacuates only the bucket it touches

namespace detail {

[[noreturn]] inline void fatal(const char* msg) noexcept {
  std::fprintf(stderr, "fatal error: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

inline std::uint64_t splitmix_mix(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A seed for maps constructed without one: unpredictable across processes,
// distinct across maps.
inline std::uint64_t fresh_seed() {
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (std::uint64_t(rd()) << 32) ^ rd();
  }();
  state += 0x9e3779b97f4a7c15ull;
  return splitmix_mix(state);
}

constexpr std::uint64_t kByteOnes = 0x0101010101010101ull;
constexpr std::uint64_t kByteHighs = 0x8080808080808080ull;

// One bit (the high bit of the byte) per byte of `w` that is zero. Bits above
// the lowest may be false positives (borrow propagation); callers either take
// only the lowest bit or re-check the byte.
inline std::uint64_t zero_bytes(std::uint64_t w) noexcept { return (w - kByteOnes) & ~w & kByteHighs; }
inline std::uint64_t bytes_equal(std::uint64_t w, std::uint8_t b) noexcept { return zero_bytes(w ^ (kByteOnes * b)); }
inline unsigned byte_index(std::uint64_t bits) noexcept { return static_cast<unsigned>(std::countr_zero(bits)) >> 3; }

template <class H, class K>
concept SeededHash = requires(const H& h, const K& k, std::uint64_t s) {
  { h(k, s) } -> std::convertible_to<std::uint64_t>;
};

}  // namespace detail

template <class K, class V, class Hash = gomap::Hash<K>, class Eq = gomap::Equal<K>>
class Map {
  friend struct gomap::MapTestAccess;

  // ---- constants (Go: bucketCnt, loadFactorNum/Den, maxKeySize, tophash states)
  static constexpr unsigned kBucketSlots = 8;
  static constexpr std::uint8_t kEmptyRest = 0;
  static constexpr std::uint8_t kEmptyOne = 1;
  static constexpr std::uint8_t kEvacuatedX = 2;
  static constexpr std::uint8_t kEvacuatedY = 3;
  static constexpr std::uint8_t kEvacuatedEmpty = 4;
  static constexpr std::uint8_t kMinTopHash = 5;
  static constexpr std::size_t kMaxInlineSize = 128;
  static constexpr std::size_t kNoCheck = std::numeric_limits<std::size_t>::max();

  // Header flags (Go: iterator, oldIterator, hashWriting, sameSizeGrow).
  static constexpr std::uint8_t kIterator = 1;
  static constexpr std::uint8_t kOldIterator = 2;
  static constexpr std::uint8_t kHashWriting = 4;
  static constexpr std::uint8_t kSameSizeGrow = 8;

  static constexpr bool kIndirectKey = sizeof(K) > kMaxInlineSize;
  static constexpr bool kIndirectValue = sizeof(V) > kMaxInlineSize;
  static constexpr bool kReflexive = KeyTraits<K>::reflexive;
  static constexpr bool kNeedsKeyUpdate = KeyTraits<K>::needs_key_update;

  using KeySlot = std::conditional_t<kIndirectKey, K*, K>;
  using ValueSlot = std::conditional_t<kIndirectValue, V*, V>;
  // Indirect slots hold owning pointers, so they are never trivial.
  static constexpr bool kTrivialSlots = !kIndirectKey && !kIndirectValue && std::is_trivially_destructible_v<K> &&
                                        std::is_trivially_destructible_v<V>;

  // A bucket, as in Go: tophash[8], keys[8], values[8], overflow pointer.
  // Slots are raw storage; a key and value are constructed in a slot exactly
  // while its tophash says filled or evacuatedX/Y (see Table::destroy_entries).
  struct Bucket {
    std::uint8_t tophash[kBucketSlots];
    alignas(KeySlot) unsigned char keys[kBucketSlots * sizeof(KeySlot)];
    alignas(ValueSlot) unsigned char values[kBucketSlots * sizeof(ValueSlot)];
    Bucket* overflow;
  };

  static std::uint64_t tophash_word(const Bucket* b) noexcept {
    std::uint64_t w;
    std::memcpy(&w, b->tophash, sizeof w);
    return w;
  }
  static bool is_empty(std::uint8_t top) noexcept { return top <= kEmptyOne; }
  static bool evacuated(const Bucket* b) noexcept {
    const std::uint8_t h = b->tophash[0];
    return h > kEmptyOne && h < kMinTopHash;
  }
  static std::uint8_t tophash(std::uint64_t hash) noexcept {
    std::uint8_t top = static_cast<std::uint8_t>(hash >> 56);
    if (top < kMinTopHash) top += kMinTopHash;
    return top;
  }

  static KeySlot* key_slot(Bucket* b, unsigned i) noexcept {
    return std::launder(reinterpret_cast<KeySlot*>(b->keys) + i);
  }
  static ValueSlot* value_slot(Bucket* b, unsigned i) noexcept {
    return std::launder(reinterpret_cast<ValueSlot*>(b->values) + i);
  }
  static K& key_at(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectKey) return **key_slot(b, i);
    else return *key_slot(b, i);
  }
  static V& value_at(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectValue) return **value_slot(b, i);
    else return *value_slot(b, i);
  }

  template <class... A>
  static void construct_key(Bucket* b, unsigned i, A&&... a) {
    if constexpr (kIndirectKey) ::new (static_cast<void*>(key_slot(b, i))) K*(new K(std::forward<A>(a)...));
    else ::new (static_cast<void*>(key_slot(b, i))) K(std::forward<A>(a)...);
  }
  template <class... A>
  static void construct_value(Bucket* b, unsigned i, A&&... a) {
    if constexpr (kIndirectValue) ::new (static_cast<void*>(value_slot(b, i))) V*(new V(std::forward<A>(a)...));
    else ::new (static_cast<void*>(value_slot(b, i))) V(std::forward<A>(a)...);
  }
  static void destroy_key(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectKey) delete *key_slot(b, i);
    else std::destroy_at(key_slot(b, i));
  }
  static void destroy_value(Bucket* b, unsigned i) noexcept {
    if constexpr (kIndirectValue) delete *value_slot(b, i);
    else std::destroy_at(value_slot(b, i));
  }

  static Bucket* allocate_buckets(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(Bucket)) throw std::bad_alloc();
    void* p;
    if constexpr (alignof(Bucket) <= alignof(std::max_align_t)) {
      // calloc: large arrays come back as untouched zero pages.
      p = std::calloc(n, sizeof(Bucket));
    } else {
      const std::size_t bytes = (n * sizeof(Bucket) + alignof(Bucket) - 1) / alignof(Bucket) * alignof(Bucket);
      p = std::aligned_alloc(alignof(Bucket), bytes);
      if (p) std::memset(p, 0, bytes);
    }
    if (!p) throw std::bad_alloc();
    return static_cast<Bucket*>(p);
  }

  // A bucket array with its spare and chained overflow buckets, shared by the
  // map and by iterators (see "Keeping memory alive" above).
  struct Table {
    std::atomic<std::uint32_t> refs{1};
    std::uint8_t B = 0;
    std::size_t nbuckets = 0;
    std::size_t nspare = 0;       // preallocated overflow buckets after the array (Go: nextOverflow)
    std::size_t spares_used = 0;
    Bucket* array = nullptr;      // nbuckets + nspare buckets
    std::vector<Bucket*> extra;   // overflow buckets allocated one by one
    // Lookup filter, one 16-bit word per bucket, kept apart from the buckets
    // so that it stays in cache: bit (tophash & 15) is set for every entry
    // placed in the bucket's chain since the chain was last empty. A clear
    // bit proves a lookup misses without reading the bucket (a DRAM access
    // in a big map). It is a superset: erase leaves bits set until its chain
    // empties. Go has no such filter; it changes no result.
    std::uint16_t* filter = nullptr;
    // Set by clear() on the arrays it drops while an iterator still holds
    // them: the iterator then reads every slot as empty, as Go's mapclear
    // marks every slot of h.buckets and h.oldbuckets emptyRest. The contents
    // stay intact (and are destroyed with the table), so nothing an iterator
    // could still reference is freed early.
    std::atomic<bool> emptied_by_clear{false};

    explicit Table(std::uint8_t b, std::size_t extra_spares = 0) : B(b), nbuckets(std::size_t(1) << b) {
      // Go preallocates 2^(B-4) overflow buckets for B >= 4.
      nspare = (b >= 4 ? (std::size_t(1) << (b - 4)) : 0) + extra_spares;
      array = allocate_buckets(nbuckets + nspare);
      filter = static_cast<std::uint16_t*>(std::calloc(nbuckets, sizeof(std::uint16_t)));
      if (filter == nullptr) {
        std::free(array);
        throw std::bad_alloc();
      }
    }
    void note(std::size_t x, std::uint8_t top) noexcept { filter[x] |= static_cast<std::uint16_t>(1u << (top & 15)); }
    bool may_hold(std::size_t x, std::uint8_t top) const noexcept { return (filter[x] >> (top & 15)) & 1u; }
    Table(const Table&) = delete;
    Table& operator=(const Table&) = delete;
    ~Table() {
      destroy_entries();
      for (Bucket* o : extra) std::free(o);
      std::free(array);
      std::free(filter);
    }

    Bucket* bucket(std::size_t i) const noexcept { return array + i; }

    Bucket* take_overflow() {
      if (spares_used < nspare) return array + nbuckets + spares_used++;
      extra.push_back(nullptr);  // grows geometrically; if it throws, nothing was allocated
      try {
        extra.back() = allocate_buckets(1);
      } catch (...) {
        extra.pop_back();
        throw;
      }
      return extra.back();
    }
    std::size_t overflow_in_use() const noexcept { return spares_used + extra.size(); }
    std::size_t bytes() const noexcept {
      return sizeof(Table) + (nbuckets + nspare + extra.size()) * sizeof(Bucket) + extra.capacity() * sizeof(Bucket*) +
             nbuckets * sizeof(std::uint16_t);
    }

    template <class F>
    void for_each_bucket(F&& f) const {
      for (std::size_t i = 0; i < nbuckets + spares_used; ++i) f(array + i);
      for (Bucket* o : extra) f(o);
    }

    // Filled and evacuatedX/Y slots hold constructed objects: evacuation
    // leaves a moved-from or copied key and value behind (see evacuate()).
    void destroy_entries() noexcept {
      if constexpr (!kTrivialSlots) {
        for_each_bucket([](Bucket* b) {
          for (unsigned i = 0; i < kBucketSlots; ++i) {
            const std::uint8_t top = b->tophash[i];
            if (top >= kMinTopHash || top == kEvacuatedX || top == kEvacuatedY) {
              destroy_key(b, i);
              destroy_value(b, i);
            }
          }
        });
      }
    }

    // Go's makeBucketArray(dirtyalloc): empty the same array in place.
    void reset() noexcept {
      destroy_entries();
      for (Bucket* o : extra) std::free(o);
      extra.clear();
      std::memset(static_cast<void*>(array), 0, (nbuckets + nspare) * sizeof(Bucket));
      std::memset(filter, 0, nbuckets * sizeof(std::uint16_t));
      spares_used = 0;
    }
  };

  static Table* retain(Table* t) noexcept {
    if (t) t->refs.fetch_add(1, std::memory_order_relaxed);
    return t;
  }
  static void release(Table* t) noexcept {
    if (t && t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete t;
  }

 public:
  using key_type = K;
  using mapped_type = V;
  using size_type = std::size_t;
  using hasher = Hash;
  using key_equal = Eq;

  template <bool Const>
  class BasicIterator;
  using Iterator = BasicIterator<false>;
  using ConstIterator = BasicIterator<true>;
  using iterator = Iterator;
  using const_iterator = ConstIterator;

  // ---- construction (Go: makemap)
  Map() : Map(0, Seed{detail::fresh_seed()}) {}
  explicit Map(std::size_t hint) : Map(hint, Seed{detail::fresh_seed()}) {}
  Map(std::size_t hint, Seed seed) : Map(hint, seed, Hash{}, Eq{}) {}
  // With hash and equality functor instances (for stateful hashes).
  Map(std::size_t hint, Seed seed, Hash hash, Eq eq = Eq{}) : rng_(seed.value), hash_(std::move(hash)), eq_(std::move(eq)) {
    hash0_ = next_random();
    // Go ignores hints whose bucket array could not be allocated (TestIgnoreBogusMapHint).
    constexpr std::size_t kMaxAlloc = std::size_t(1) << 48;
    if (hint > kMaxAlloc / sizeof(Bucket)) hint = 0;
    std::uint8_t b = b_for_hint(hint);
    // Nor do we ask for an array larger than the machine's memory: sanitizer
    // allocators abort on such requests instead of failing them.
    if (b > 0 && ((std::size_t(1) << b) + (std::size_t(1) << (b >= 4 ? b - 4 : 0))) > max_hinted_array_bytes() / sizeof(Bucket)) b = 0;
    if (b > 0) {
      try {
        buckets_ = new Table(b);
        B_ = b;
      } catch (const std::bad_alloc&) {
        buckets_ = nullptr;  // an absurd hint is ignored, not fatal
        B_ = 0;
      }
    }
  }

  Map(const Map& other)
      : B_(0), hash0_(other.hash0_), rng_(other.rng_.load(std::memory_order_relaxed)), hash_(other.hash_), eq_(other.eq_) {
    const std::uint8_t b = b_for_hint(other.count_);
    if (other.count_ == 0) return;
    buckets_ = new Table(b);
    B_ = b;
    try {
      other.for_each_entry([&](const K& k, const V& v) { place_new_entry(hash_of(k), k, v); });
    } catch (...) {
      release(buckets_);  // destroys what was copied so far
      throw;
    }
  }
  Map(Map&& other) noexcept { swap(other); }
  Map& operator=(const Map& other) {
    if (this != &other) {
      Map copy(other);
      swap(copy);
    }
    return *this;
  }
  Map& operator=(Map&& other) noexcept {
    if (this != &other) {
      Map taken(std::move(other));
      swap(taken);
    }
    return *this;
  }
  ~Map() {
    release(buckets_);
    release(oldbuckets_);
  }

  void swap(Map& o) noexcept {
    using std::swap;
    swap(count_, o.count_);
    const std::uint8_t f = flags_.load(std::memory_order_relaxed);
    flags_.store(o.flags_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    o.flags_.store(f, std::memory_order_relaxed);
    swap(B_, o.B_);
    swap(noverflow_, o.noverflow_);
    swap(hash0_, o.hash0_);
    swap(buckets_, o.buckets_);
    swap(oldbuckets_, o.oldbuckets_);
    swap(nevacuate_, o.nevacuate_);
    swap(clear_seq_, o.clear_seq_);
    swap(growths_, o.growths_);
    swap(growths_done_, o.growths_done_);
    const std::uint64_t r = rng_.load(std::memory_order_relaxed);
    rng_.store(o.rng_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    o.rng_.store(r, std::memory_order_relaxed);
    // live_iterators_ stays: an iterator belongs to the map object it was
    // started on, and unregisters from that object. Each object's contents
    // were just replaced wholesale, so its live iterators end (see
    // "Clearing and replacing under an iterator" at the top of this file): the
    // tables they read now belong to the other object.
    ++contents_epoch_;
    ++o.contents_epoch_;
    swap(hash_, o.hash_);
    swap(eq_, o.eq_);
  }

  // ---- size
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }

  // ---- lookup (Go: mapaccess1/2)
  V* find(const K& key) { return const_cast<V*>(std::as_const(*this).find(key)); }
  const V* find(const K& key) const {
    if (count_ == 0) return nullptr;
    check_not_writing_for_read();
    if constexpr (!kReflexive) {
      if (!eq_(key, key)) return nullptr;  // NaN is never found
    }
    const auto [b, i] = find_slot(key, seeded_hash(key));
    return b ? &value_at(b, i) : nullptr;
  }
  bool contains(const K& key) const { return find(key) != nullptr; }

  // ---- assignment (Go: mapassign)
  void insert_or_assign(const K& key, V value) {
    assign(
        key, [&](Bucket* b, unsigned i) { construct_value(b, i, std::move(value)); },
        [&](V& existing) { existing = std::move(value); });
  }

  // Go's m[k] op= x: a missing key starts from a value-initialised V.
  V& operator[](const K& key) {
    return assign(
        key, [](Bucket* b, unsigned i) { construct_value(b, i); }, [](V&) {});
  }

  // ---- delete (Go: mapdelete)
  bool erase(const K& key) {
    if (count_ == 0) return false;
    const std::uint64_t hash = hash_of(key);
    WriteGuard guard(*this);
    const std::size_t bucket = hash & bucket_mask(B_);
    if (growing()) grow_work(bucket);
    Bucket* const first = buckets_->bucket(bucket);
    prefetch_bucket(first);
    const std::uint8_t top = tophash(hash);
    if (!buckets_->may_hold(bucket, top)) return false;
    for (Bucket* b = first; b != nullptr; b = b->overflow) {
      const std::uint64_t word = tophash_word(b);
      for (std::uint64_t m = detail::bytes_equal(word, top); m != 0; m &= m - 1) {
        const unsigned i = detail::byte_index(m);
        if (b->tophash[i] != top || !eq_(key, key_at(b, i))) continue;
        // `key` may be this very slot's key (erase while ranging): it is not
        // used after this point.
        destroy_key(b, i);
#if !defined(GOMAP_CANARY_ERASE_LEAKS_VALUE)
        destroy_value(b, i);
#endif
        b->tophash[i] = kEmptyOne;
        mark_trailing_empty_rest(first, b, i);
        if (first->tophash[0] == kEmptyRest) buckets_->filter[bucket] = 0;  // the whole chain is empty
        --count_;
        // Go issue 25237: a map that empties gets a fresh seed, so an attacker
        // who learned the old one cannot keep building collisions.
        if (count_ == 0) hash0_ = next_random();
        return true;
      }
      if (detail::zero_bytes(word) != 0) break;  // an emptyRest slot ends the chain
    }
    return false;
  }

  // ---- clear (Go 1.21 clear(m), with Go 1.24's clearSeq)
  void clear() {
    if (count_ == 0) return;
    WriteGuard guard(*this);
    // B is kept: clear never shrinks. The array is reused in place unless an
    // iterator still reads it; then the iterator keeps the old one, marked
    // emptied. Allocate first, so that a failed allocation changes nothing.
    Table* const fresh = buckets_->refs.load(std::memory_order_acquire) == 1 ? nullptr : new Table(B_);
    flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
    if (oldbuckets_ != nullptr) oldbuckets_->emptied_by_clear.store(true, std::memory_order_relaxed);
    release(std::exchange(oldbuckets_, nullptr));
    nevacuate_ = 0;
    noverflow_ = 0;
    count_ = 0;
    ++clear_seq_;
    hash0_ = next_random();
#if defined(GOMAP_CANARY_CLEAR_IN_PLACE_SHARED)
    if (true) {
      if (fresh) delete fresh;
#else
    if (fresh == nullptr) {
#endif
      buckets_->reset();
    } else {
      buckets_->emptied_by_clear.store(true, std::memory_order_relaxed);
      release(std::exchange(buckets_, fresh));
    }
  }

  // ---- compact (an extension: Go never shrinks a map)
  // Rebuilds into the smallest B that holds size() entries without growing,
  // finishing any growth and dropping every overflow chain it can. While an
  // iterator is live it does nothing, so that iteration keeps Go's guarantees.
  void compact() {
    if (live_iterators_.load(std::memory_order_acquire) != 0) return;
    WriteGuard guard(*this);
    const std::uint8_t b = b_for_hint(count_);
    if (!growing() && b == B_ && (buckets_ == nullptr || buckets_->overflow_in_use() == 0)) return;  // already minimal
    if (count_ == 0) {
      release(buckets_);
      release(oldbuckets_);
      buckets_ = oldbuckets_ = nullptr;
      B_ = 0;
      nevacuate_ = 0;
      noverflow_ = 0;
      flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
      return;
    }
    // Plan first, so that everything that can fail happens before the map
    // changes: every entry's hash (NaN draws its random hash once, here),
    // and an array with exactly the overflow buckets the placement needs.
    const std::size_t mask = bucket_mask(b);
    std::vector<std::uint64_t> hashes;
    hashes.reserve(count_);
    for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* src, unsigned i) { hashes.push_back(hash_of(key_at(src, i))); });
    std::vector<std::uint32_t> per_bucket(mask + 1);
    for (std::uint64_t h : hashes) ++per_bucket[h & mask];
    std::size_t overflow_needed = 0;
    for (std::uint32_t c : per_bucket) overflow_needed += c > kBucketSlots ? (c - 1) / kBucketSlots : 0;
    Table* fresh = new Table(b, overflow_needed);
    std::vector<std::pair<Bucket*, unsigned>> placed;  // for rollback, in visiting order
    placed.reserve(hashes.size());
    std::uint16_t overflow_taken = 0;
    std::size_t n = 0;
    try {
      for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* src, unsigned i) {
        const std::uint64_t hash = hashes[n++];
        Bucket* d = fresh->bucket(hash & mask);
        unsigned j = 0;
        for (;;) {
          const std::uint64_t empties = detail::zero_bytes(tophash_word(d) & ~detail::kByteOnes);
          if (empties != 0) {
            j = detail::byte_index(empties);
            break;
          }
          if (d->overflow == nullptr) {
            d->overflow = fresh->take_overflow();  // a reserved spare: never allocates
            ++overflow_taken;
          }
          d = d->overflow;
        }
        transfer(src, i, d, j, /*keep_old=*/false);  // moves when that cannot throw, else copies
        d->tophash[j] = tophash(hash);
        fresh->note(hash & mask, d->tophash[j]);
        placed.emplace_back(d, j);
      });
    } catch (...) {
      // Give moved entries back, then drop the new array with its copies.
      std::size_t m = 0;
      for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* src, unsigned i) {
        if (m < placed.size()) untransfer(placed[m].first, placed[m].second, src, i);
        ++m;
      });
      release(fresh);
      throw;
    }
    release(buckets_);
    release(oldbuckets_);
    buckets_ = fresh;
    oldbuckets_ = nullptr;
    B_ = b;
    nevacuate_ = 0;
    noverflow_ = overflow_taken;
    flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
  }

  // ---- iteration (Go: mapiterinit/mapiternext)
  Iterator begin() { return Iterator(this); }
  ConstIterator begin() const { return ConstIterator(this); }
  ConstIterator cbegin() const { return ConstIterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }
  std::default_sentinel_t cend() const noexcept { return {}; }

  // Explicit Go-style range: `for (auto&& [k, v] : m.range())`, or a callback
  // `m.range([](const K& k, V& v) { ...; return true; })` that stops on false.
  struct RangeView {
    Map* m;
    Iterator begin() const { return m->begin(); }
    std::default_sentinel_t end() const noexcept { return {}; }
  };
  RangeView range() noexcept { return RangeView{this}; }
  template <class F>
  void range(F&& fn) {
    for (auto it = begin(); it != end(); ++it) {
      if constexpr (std::is_convertible_v<std::invoke_result_t<F&, const K&, V&>, bool>) {
        if (!fn(it.key(), it.value())) return;
      } else {
        fn(it.key(), it.value());
      }
    }
  }

  // ---- introspection
  Stats stats() const {
    Stats s;
    s.count = count_;
    s.B = B_;
    s.buckets = std::size_t(1) << B_;
    s.growing = growing();
    s.same_size_grow = growing() && same_size_grow();
    s.nevacuate = nevacuate_;
    s.noverflow = noverflow_;
    s.clear_seq = clear_seq_;
    s.live_iterators = live_iterators_.load(std::memory_order_relaxed);
    s.growths = growths_;
    s.growths_done = growths_done_;
    s.bytes = sizeof(Map);
    for (const Table* t : {buckets_, oldbuckets_}) {
      if (!t) continue;
      s.overflow_buckets += t->overflow_in_use();
      s.bytes += t->bytes();
    }
    if constexpr (kIndirectKey) s.bytes += count_ * sizeof(K);
    if constexpr (kIndirectValue) s.bytes += count_ * sizeof(V);
    return s;
  }

  // Verifies every structural invariant; throws InvariantError naming the
  // first one broken and where.
  void check_invariants() const;

  template <bool Const>
  class BasicIterator {
    friend class Map;
    friend struct gomap::MapTestAccess;
    using MapPtr = std::conditional_t<Const, const Map*, Map*>;
    using ValueRef = std::conditional_t<Const, const V&, V&>;

   public:
    using value_type = std::pair<const K, V>;
    using reference = std::pair<const K&, ValueRef>;
    using difference_type = std::ptrdiff_t;

    BasicIterator() = default;
    BasicIterator(const BasicIterator& o) { copy_from(o); }
    BasicIterator(BasicIterator&& o) noexcept { steal(o); }
    BasicIterator& operator=(const BasicIterator& o) {
      if (this != &o) {
        finish();
        copy_from(o);
      }
      return *this;
    }
    BasicIterator& operator=(BasicIterator&& o) noexcept {
      if (this != &o) {
        finish();
        steal(o);
      }
      return *this;
    }
    ~BasicIterator() { finish(); }

    const K& key() const noexcept { return *key_; }
    ValueRef value() const noexcept { return *value_; }
    reference operator*() const noexcept { return reference(*key_, *value_); }
    BasicIterator& operator++() {
      next();
      return *this;
    }
    bool done() const noexcept { return key_ == nullptr; }
    explicit operator bool() const noexcept { return key_ != nullptr; }
    friend bool operator==(const BasicIterator& it, std::default_sentinel_t) noexcept { return it.key_ == nullptr; }

   private:
    explicit BasicIterator(MapPtr h) {
      if (h->count_ == 0) return;  // an empty map yields nothing, even if filled during the loop
      h_ = h;
      h->live_iterators_.fetch_add(1, std::memory_order_relaxed);
      clear_seq_ = h->clear_seq_;
      contents_epoch_ = h->contents_epoch_;
      B_ = h->B_;
      snapshot_ = retain(h->buckets_);
      const std::uint64_t r = h->next_random();
      start_bucket_ = r & bucket_mask(B_);
      offset_ = static_cast<std::uint8_t>((r >> B_) & (kBucketSlots - 1));
      bucket_ = start_bucket_;
      if ((h->flags_.load(std::memory_order_relaxed) & (kIterator | kOldIterator)) != (kIterator | kOldIterator)) {
        h->flags_.fetch_or(kIterator | kOldIterator, std::memory_order_relaxed);
      }
      next();
    }

    void copy_from(const BasicIterator& o) {
      h_ = o.h_;
      if (h_) h_->live_iterators_.fetch_add(1, std::memory_order_relaxed);
      snapshot_ = retain(o.snapshot_);
      current_ = retain(o.current_);
      bptr_ = o.bptr_;
      key_ = o.key_;
      value_ = o.value_;
      start_bucket_ = o.start_bucket_;
      bucket_ = o.bucket_;
      check_bucket_ = o.check_bucket_;
      clear_seq_ = o.clear_seq_;
      contents_epoch_ = o.contents_epoch_;
      B_ = o.B_;
      offset_ = o.offset_;
      i_ = o.i_;
      wrapped_ = o.wrapped_;
    }
    void steal(BasicIterator& o) noexcept {
      h_ = std::exchange(o.h_, nullptr);
      snapshot_ = std::exchange(o.snapshot_, nullptr);
      current_ = std::exchange(o.current_, nullptr);
      bptr_ = o.bptr_;
      key_ = std::exchange(o.key_, nullptr);
      value_ = o.value_;
      start_bucket_ = o.start_bucket_;
      bucket_ = o.bucket_;
      check_bucket_ = o.check_bucket_;
      clear_seq_ = o.clear_seq_;
      contents_epoch_ = o.contents_epoch_;
      B_ = o.B_;
      offset_ = o.offset_;
      i_ = o.i_;
      wrapped_ = o.wrapped_;
    }
    void finish() noexcept {
      key_ = nullptr;
      value_ = nullptr;
      bptr_ = nullptr;
      release(std::exchange(current_, nullptr));
      release(std::exchange(snapshot_, nullptr));
      if (h_) std::exchange(h_, nullptr)->live_iterators_.fetch_sub(1, std::memory_order_release);
    }
    void stand_in(Table* t) noexcept {
      if (current_ != t) {
        release(current_);
        current_ = retain(t);
      }
    }

    void next() {
      if (!h_) return;
      MapPtr h = h_;
      if (h->flags_.load(std::memory_order_relaxed) & kHashWriting) {
        detail::fatal("concurrent map iteration and map write");
      }
      if (contents_epoch_ != h->contents_epoch_) {
        finish();  // the map object was moved from, assigned to or swapped
        return;
      }
      std::size_t bucket = bucket_;
      Bucket* b = bptr_;
      unsigned i = i_;
      std::size_t check_bucket = check_bucket_;
      for (;;) {
        if (b == nullptr) {
          if (bucket == start_bucket_ && wrapped_) {
            finish();
            return;
          }
          if (h->growing() && B_ == h->B_) {
            // Started during this growth and it is not done: the old bucket
            // feeding `bucket` holds its entries until it is evacuated.
            const std::size_t oldbucket = bucket & h->old_bucket_mask();
            b = h->oldbuckets_->bucket(oldbucket);
            if (!evacuated(b)) {
              // A same-size growth feeds each bucket from one old bucket
              // whole; a doubling one splits it between two halves. Decided
              // here, once: the map may stop growing while we stand in it.
              check_bucket = h->same_size_grow() ? kNoCheck : bucket;
              stand_in(h->oldbuckets_);
            } else {
              b = snapshot_->bucket(bucket);
              check_bucket = kNoCheck;
              stand_in(snapshot_);
            }
          } else {
            b = snapshot_->bucket(bucket);
            check_bucket = kNoCheck;
            stand_in(snapshot_);
          }
          ++bucket;
          if (bucket == (std::size_t(1) << B_)) {
            bucket = 0;
            wrapped_ = true;
          }
          i = 0;
        }
        if (current_->emptied_by_clear.load(std::memory_order_relaxed)) {
          b = nullptr;  // Go's mapclear left every slot of this chain emptyRest
          continue;
        }
        for (; i < kBucketSlots; ++i) {
          const unsigned offi = (i + offset_) & (kBucketSlots - 1);
          const std::uint8_t top = b->tophash[offi];
          if (is_empty(top) || top == kEvacuatedEmpty) continue;
          if constexpr (kIndirectKey) {
            // Moved away by a map this iterator no longer follows (the map
            // it started on was moved from): nothing left to yield here.
            if (*key_slot(b, offi) == nullptr) continue;
          }
          K& k = key_at(b, offi);
          const bool reflexive = kReflexive || h->eq_(k, k);
          if (check_bucket != kNoCheck) {
            // Only the entries of this old bucket that go to `bucket`'s half
            // (its high bit, as the old bucket fixes the lower ones). An
            // evacuated entry's mark records where it went: hashing its key
            // again could disagree, as the seed changes when the map
            // empties. A live entry was placed under the current seed (an
            // emptied map holds none, and a cleared table is not read); a
            // NaN goes by its tophash's low bit, as evacuate() sends it.
            std::size_t high;
            if (top == kEvacuatedX || top == kEvacuatedY) {
              high = top - kEvacuatedX;
            } else if (reflexive) {
              high = (h->seeded_hash(k) >> (B_ - 1)) & 1;
            } else {
              high = top & 1;
            }
            if (high != (check_bucket >> (B_ - 1))) continue;
          }
#if defined(GOMAP_CANARY_ITER_NO_RELOOKUP)
          if (clear_seq_ == h->clear_seq_) {
#elif defined(GOMAP_CANARY_ITER_IGNORES_CLEARSEQ)
          if ((top != kEvacuatedX && top != kEvacuatedY) || !reflexive) {
#else
          if (clear_seq_ == h->clear_seq_ && ((top != kEvacuatedX && top != kEvacuatedY) || !reflexive)) {
#endif
            key_ = &k;
            value_ = &value_at(b, offi);
          } else {
            // Moved, or the map was cleared: only the current map knows
            // whether the key is still there and what its value is.
            const auto [rb, ri] = h->access_k(k);
            if (rb == nullptr) continue;
            key_ = &key_at(rb, ri);
            value_ = &value_at(rb, ri);
          }
          bucket_ = bucket;
          bptr_ = b;
          i_ = i + 1;
          check_bucket_ = check_bucket;
          return;
        }
        b = b->overflow;
        i = 0;
      }
    }

    MapPtr h_ = nullptr;
    Table* snapshot_ = nullptr;  // Go: it.buckets
    Table* current_ = nullptr;   // the table bptr_ lies in
    Bucket* bptr_ = nullptr;
    const K* key_ = nullptr;
    std::conditional_t<Const, const V*, V*> value_ = nullptr;
    std::size_t start_bucket_ = 0;
    std::size_t bucket_ = 0;
    std::size_t check_bucket_ = kNoCheck;
    std::uint64_t clear_seq_ = 0;
    std::uint64_t contents_epoch_ = 0;
    std::uint8_t B_ = 0;
    std::uint8_t offset_ = 0;
    std::uint8_t i_ = 0;
    bool wrapped_ = false;
  };

 private:
  // Sets Go's hashWriting around a write and checks it is still set at the
  // end; unwinding from a throwing key or value constructor clears it too.
  class WriteGuard {
   public:
    explicit WriteGuard(Map& m) : m_(m) {
      const std::uint8_t f = m_.flags_.load(std::memory_order_relaxed);
      if (f & kHashWriting) detail::fatal("concurrent map writes");
      m_.flags_.store(f ^ kHashWriting, std::memory_order_relaxed);
    }
    ~WriteGuard() {
      const std::uint8_t f = m_.flags_.load(std::memory_order_relaxed);
      if (!(f & kHashWriting)) detail::fatal("concurrent map writes");
      m_.flags_.store(f & ~kHashWriting, std::memory_order_relaxed);
    }
    WriteGuard(const WriteGuard&) = delete;
    WriteGuard& operator=(const WriteGuard&) = delete;

   private:
    Map& m_;
  };

  static std::size_t bucket_mask(std::uint8_t b) noexcept { return (std::size_t(1) << b) - 1; }
  // Go's overLoadFactor: more than 6.5 entries per bucket on average.
  static bool over_load_factor(std::size_t count, std::uint8_t b) noexcept {
    if (count <= kBucketSlots) return false;
    if (b >= 63) return false;
#if defined(GOMAP_CANARY_GROWTH_OFF_BY_ONE)
    return count >= 13 * ((std::size_t(1) << b) / 2);
#else
    return count > 13 * ((std::size_t(1) << b) / 2);
#endif
  }
  static bool too_many_overflow_buckets(std::uint16_t noverflow, std::uint8_t b) noexcept {
#if defined(GOMAP_CANARY_NO_SAME_SIZE_GROWTH)
    if (b < 64) return false;
#endif
    const unsigned shift = b < 15 ? b : 15;
    return noverflow >= (std::uint32_t(1) << shift);
  }
  static std::size_t max_hinted_array_bytes() noexcept {
    static const std::size_t limit = [] {
      constexpr std::size_t kCap = std::size_t(1) << 40;
      const long pages = ::sysconf(_SC_PHYS_PAGES);
      const long page_size = ::sysconf(_SC_PAGE_SIZE);
      if (pages <= 0 || page_size <= 0) return kCap;
      return std::min(kCap, static_cast<std::size_t>(pages) * static_cast<std::size_t>(page_size));
    }();
    return limit;
  }
  static std::uint8_t b_for_hint(std::size_t hint) noexcept {
    std::uint8_t b = 0;
    while (over_load_factor(hint, b)) ++b;
    return b;
  }

  bool growing() const noexcept { return oldbuckets_ != nullptr; }
  bool same_size_grow() const noexcept { return (flags_.load(std::memory_order_relaxed) & kSameSizeGrow) != 0; }
  std::size_t old_bucket_count() const noexcept {
    return same_size_grow() ? (std::size_t(1) << B_) : (std::size_t(1) << (B_ - 1));
  }
  std::size_t old_bucket_mask() const noexcept { return old_bucket_count() - 1; }

  std::uint64_t next_random() const noexcept {
    return detail::splitmix_mix(rng_.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed) +
                                0x9e3779b97f4a7c15ull);
  }

  std::uint64_t seeded_hash(const K& k) const {
    if constexpr (detail::SeededHash<Hash, K>) {
      return static_cast<std::uint64_t>(hash_(k, hash0_));
    } else {
      return detail::hash_word(static_cast<std::uint64_t>(hash_(k)), hash0_);
    }
  }
  // Go's hasher: NaN (any non-reflexive key) hashes to a fresh random value.
  std::uint64_t hash_of(const K& k) const {
    if constexpr (!kReflexive) {
      if (!eq_(k, k)) return next_random();
    }
    return seeded_hash(k);
  }

  void check_not_writing_for_read() const noexcept {
    if (flags_.load(std::memory_order_relaxed) & kHashWriting) detail::fatal("concurrent map read and map write");
  }

  // The chain a lookup of `hash` must search: the old one while it is not evacuated.
  struct Home {
    const Table* table;
    std::size_t index;
  };
  Home lookup_home(std::uint64_t hash) const noexcept {
    std::size_t m = bucket_mask(B_);
    Home h{buckets_, hash & m};
    if (oldbuckets_ != nullptr) {
      if (!same_size_grow()) m >>= 1;
      if (!evacuated(oldbuckets_->bucket(hash & m))) h = Home{oldbuckets_, hash & m};
    }
    return h;
  }

  // A bucket spans several cache lines (tophash and the first keys, the
  // rest of the keys, the values): ask for all of them at once, so that the
  // misses overlap instead of following each other.
  static void prefetch_bucket(const Bucket* b) noexcept {
    const char* p = reinterpret_cast<const char*>(b);
    for (std::size_t off = 0; off < sizeof(Bucket); off += 64) __builtin_prefetch(p + off);
  }

  std::pair<Bucket*, unsigned> find_slot(const K& key, std::uint64_t hash) const {
    const std::uint8_t top = tophash(hash);
    const Home home = lookup_home(hash);
    Bucket* first = home.table->bucket(home.index);
    // Start fetching the bucket before consulting the filter: a hit then
    // waits for one memory access, not for the filter and then the bucket.
    prefetch_bucket(first);
#if !defined(GOMAP_CANARY_FILTER_DROPS_HITS)
    if (!home.table->may_hold(home.index, top)) return {nullptr, 0};
#else
    if (!home.table->may_hold(home.index, static_cast<std::uint8_t>(top + 1))) return {nullptr, 0};
#endif
    for (Bucket* b = first; b != nullptr; b = b->overflow) {
      const std::uint64_t word = tophash_word(b);
      for (std::uint64_t m = detail::bytes_equal(word, top); m != 0; m &= m - 1) {
        const unsigned i = detail::byte_index(m);
        if (b->tophash[i] == top && eq_(key, key_at(b, i))) return {b, i};
      }
      if (detail::zero_bytes(word) != 0) break;
    }
    return {nullptr, 0};
  }

  // Go's mapaccessK, used by iterators to re-look-up a moved key.
  std::pair<Bucket*, unsigned> access_k(const K& key) const {
    if (count_ == 0) return {nullptr, 0};
    if constexpr (!kReflexive) {
      if (!eq_(key, key)) return {nullptr, 0};
    }
    return find_slot(key, seeded_hash(key));
  }

  template <class MakeValue, class OnFound>
  V& assign(const K& key, MakeValue&& make_value, OnFound&& on_found) {
    const std::uint64_t hash = hash_of(key);  // before the flag: a throwing hash is not a write
    WriteGuard guard(*this);
    if (buckets_ == nullptr) buckets_ = new Table(B_);
    const std::uint8_t top = tophash(hash);
    for (;;) {
      const std::size_t bucket = hash & bucket_mask(B_);
      Bucket* b = buckets_->bucket(bucket);
      prefetch_bucket(b);
      if (growing()) {
        // The old bucket this write evacuates, and where its entries go:
        // start all these memory accesses at once.
        const std::size_t ob = bucket & old_bucket_mask();
        const Bucket* old = oldbuckets_->bucket(ob);
        prefetch_bucket(old);
        if (!same_size_grow()) {
          // `bucket` is one of the old bucket's two destinations; the other:
          const std::size_t other = bucket == ob ? ob + old_bucket_count() : ob;
          __builtin_prefetch(buckets_->bucket(other), 1);
        }
        grow_work(bucket);
      }
      Bucket* insert_b = nullptr;
      unsigned insert_i = 0;
      for (;;) {
        const std::uint64_t word = tophash_word(b);
        for (std::uint64_t m = detail::bytes_equal(word, top); m != 0; m &= m - 1) {
          const unsigned i = detail::byte_index(m);
          if (b->tophash[i] != top || !eq_(key, key_at(b, i))) continue;
#if !defined(GOMAP_CANARY_NO_KEY_UPDATE)
          // A key type that cannot be assigned keeps the key first stored.
          if constexpr (kNeedsKeyUpdate && std::is_copy_assignable_v<K>) key_at(b, i) = key;
#endif
          V& v = value_at(b, i);
          on_found(v);
          return v;
        }
        if (insert_b == nullptr) {
          // The first empty (emptyOne or emptyRest) slot of the chain.
          const std::uint64_t empties = detail::zero_bytes(word & ~detail::kByteOnes);
          if (empties != 0) {
            insert_b = b;
            insert_i = detail::byte_index(empties);
          }
        }
        if (detail::zero_bytes(word) != 0 || b->overflow == nullptr) break;
        b = b->overflow;
      }
      if (!growing() && (over_load_factor(count_ + 1, B_) || too_many_overflow_buckets(noverflow_, B_))) {
        hash_grow();
        continue;  // growing invalidates the scan above
      }
      if (insert_b == nullptr) {
        insert_b = new_overflow(b);
        insert_i = 0;
      }
      construct_key(insert_b, insert_i, key);
      try {
        make_value(insert_b, insert_i);
      } catch (...) {
        destroy_key(insert_b, insert_i);
        throw;
      }
      insert_b->tophash[insert_i] = top;
      buckets_->note(bucket, top);
      ++count_;
      return value_at(insert_b, insert_i);
    }
  }

  // After slot i of `b` became emptyOne: if nothing but emptyRest follows it,
  // it and the emptyOnes before it become emptyRest, walking back across the
  // chain that starts at `first`.
  void mark_trailing_empty_rest(Bucket* first, Bucket* b, unsigned i) noexcept {
#if defined(GOMAP_CANARY_NO_EMPTYREST_WALK)
    if (first) return;
#endif
    if (i == kBucketSlots - 1) {
      if (b->overflow != nullptr && b->overflow->tophash[0] != kEmptyRest) return;
    } else if (b->tophash[i + 1] != kEmptyRest) {
      return;
    }
    for (;;) {
      b->tophash[i] = kEmptyRest;
      if (i == 0) {
        if (b == first) break;
        Bucket* c = b;
        for (b = first; b->overflow != c; b = b->overflow) {
        }
        i = kBucketSlots - 1;
      } else {
        --i;
      }
      if (b->tophash[i] != kEmptyOne) break;
    }
  }

  // Go's hashGrow: allocate, then let writes evacuate incrementally.
  void hash_grow() {
    std::uint8_t bigger = 1;
    std::uint8_t f = flags_.load(std::memory_order_relaxed);
    if (!over_load_factor(count_ + 1, B_)) bigger = 0;
    Table* fresh = new Table(static_cast<std::uint8_t>(B_ + bigger));
    if (bigger == 0) f |= kSameSizeGrow;
    // Iterators live now become iterators of the old array. With none live,
    // evacuation may move instead of copy.
    const std::uint8_t had_iterator = f & kIterator;
    f &= static_cast<std::uint8_t>(~(kIterator | kOldIterator));
    if (had_iterator && live_iterators_.load(std::memory_order_acquire) != 0) f |= kOldIterator;
    flags_.store(f, std::memory_order_relaxed);
    B_ = static_cast<std::uint8_t>(B_ + bigger);
    oldbuckets_ = buckets_;
    buckets_ = fresh;
    nevacuate_ = 0;
    noverflow_ = 0;
    ++growths_;
  }

  void grow_work(std::size_t bucket) {
    evacuate(bucket & old_bucket_mask());
#if !defined(GOMAP_CANARY_GROW_WORK_SKIPS_NEVACUATE)
    if (growing()) evacuate(nevacuate_);
#endif
  }

  void evacuate(std::size_t oldbucket) {
    Bucket* b = oldbuckets_->bucket(oldbucket);
    const std::size_t newbit = old_bucket_count();
    if (!evacuated(b)) {
      struct Destination {
        Bucket* b;
        unsigned i;
      } xy[2] = {{buckets_->bucket(oldbucket), 0}, {nullptr, 0}};
      const bool same_size = same_size_grow();
      if (!same_size) xy[1].b = buckets_->bucket(oldbucket + newbit);
      const std::uint8_t f = flags_.load(std::memory_order_relaxed);
      // A live iterator may still read this bucket's keys (to re-look them
      // up) and hold references to its values: keep them. Go decides this
      // with its oldIterator flag, which hashGrow hands over one growth at a
      // time; an iterator that outlives two same-size growths then reads the
      // second old array unprotected. Counting live iterators has no such gap.
#if defined(GOMAP_CANARY_EVAC_MOVES_UNDER_ITERATOR)
      const bool keep_old = false;
#else
      const bool keep_old = (f & kOldIterator) != 0 || live_iterators_.load(std::memory_order_relaxed) != 0;
#endif
      // Two phases, so that a throwing copy (or a failed overflow
      // allocation) leaves the map as it was: first fill the destinations
      // and remember each old slot's mark, then write the marks.
      std::uint8_t marks_inline[4 * kBucketSlots];
      std::vector<std::uint8_t> marks_heap;
      std::uint8_t* marks = marks_inline;
      std::size_t chain_slots = 0;
      for (Bucket* c = b; c != nullptr; c = c->overflow) chain_slots += kBucketSlots;
      if (chain_slots > sizeof marks_inline) {
        marks_heap.resize(chain_slots);
        marks = marks_heap.data();
      }
      std::size_t n = 0;
      try {
        for (Bucket* c = b; c != nullptr; c = c->overflow) {
          for (unsigned i = 0; i < kBucketSlots; ++i, ++n) {
            std::uint8_t top = c->tophash[i];
            if (is_empty(top)) {
              marks[n] = kEvacuatedEmpty;
              continue;
            }
#if defined(GOMAP_CANARY_EVAC_SKIPS_OVERFLOW)
            if (c != b) {  // marked moved, never moved: the entry is lost
              marks[n] = kEvacuatedX;
              --count_;
              continue;
            }
#endif
            K& k = key_at(c, i);
            unsigned use_y = 0;
            if (!same_size) {
              const std::uint64_t hash = hash_of(k);
#if defined(GOMAP_CANARY_NAN_EVAC_WRONG_HALF)
              if (false) {
#else
              if ((f & kIterator) && !kReflexive && !eq_(k, k)) {
#endif
                // NaN: an iterator filters this bucket by tophash's low bit,
                // so the half must follow it; the new tophash is fresh.
                use_y = top & 1;
                top = tophash(hash);
              } else {
                use_y = (hash & newbit) != 0 ? 1 : 0;
              }
            }
            Destination& d = xy[use_y];
            if (d.i == kBucketSlots) {
              d.b = d.b->overflow != nullptr ? d.b->overflow : new_overflow(d.b);
              d.i = 0;
            }
            transfer(c, i, d.b, d.i, keep_old);
            d.b->tophash[d.i] = top;
            buckets_->note(use_y ? oldbucket + newbit : oldbucket, top);
            ++d.i;
            marks[n] = static_cast<std::uint8_t>(kEvacuatedX + use_y);
          }
        }
      } catch (...) {
        // Give moved entries back to their old slots (in chain order, each
        // half's destinations are filled in the same order), then empty the
        // destinations: they were empty before, since nothing lands in a new
        // bucket before its old bucket is evacuated.
        Bucket* back[2] = {buckets_->bucket(oldbucket), same_size ? nullptr : buckets_->bucket(oldbucket + newbit)};
        unsigned back_i[2] = {0, 0};
        std::size_t m = 0;
        for (Bucket* c = b; c != nullptr && m < n; c = c->overflow) {
          for (unsigned i = 0; i < kBucketSlots && m < n; ++i, ++m) {
            if (marks[m] != kEvacuatedX && marks[m] != kEvacuatedY) continue;
            const unsigned y = marks[m] - kEvacuatedX;
            if (back_i[y] == kBucketSlots) {
              back[y] = back[y]->overflow;
              back_i[y] = 0;
            }
            if (!keep_old) untransfer(back[y], back_i[y], c, i);
            ++back_i[y];
          }
        }
        for (unsigned y = 0; y < 2; ++y) {
          if (y == 1 && same_size) break;
          for (Bucket* c = buckets_->bucket(y == 0 ? oldbucket : oldbucket + newbit); c != nullptr; c = c->overflow) {
            for (unsigned i = 0; i < kBucketSlots; ++i) {
              if (c->tophash[i] >= kMinTopHash) {
                destroy_key(c, i);
                destroy_value(c, i);
              }
              c->tophash[i] = kEmptyRest;
            }
          }
        }
        throw;
      }
      n = 0;
      for (Bucket* c = b; c != nullptr; c = c->overflow) {
        for (unsigned i = 0; i < kBucketSlots; ++i) c->tophash[i] = marks[n++];
      }
    }
    if (oldbucket == nevacuate_) advance_evacuation_mark(newbit);
  }

  // Move (or, with old iterators live, copy) an entry to its new slot. The
  // old slot keeps a constructed key and value either way — moved-from or an
  // intact copy — and the old table destroys them when it is freed. Moves
  // happen only where they cannot throw (std::move_if_noexcept); if the value
  // cannot be placed, the key goes back and the destination is left empty.
  static void transfer(Bucket* from, unsigned i, Bucket* to, unsigned j, bool keep_old) {
    if constexpr (kIndirectKey) {
      if (keep_old) {
        construct_key(to, j, key_at(from, i));
      } else {
        ::new (static_cast<void*>(key_slot(to, j))) K*(std::exchange(*key_slot(from, i), nullptr));
      }
    } else if (keep_old) {
      construct_key(to, j, key_at(from, i));
    } else {
      construct_key(to, j, std::move_if_noexcept(key_at(from, i)));
    }
    try {
      if constexpr (std::is_copy_constructible_v<V>) {
        if (keep_old) {
          construct_value(to, j, value_at(from, i));
          return;
        }
      }
      if constexpr (kIndirectValue) {
        ::new (static_cast<void*>(value_slot(to, j))) V*(std::exchange(*value_slot(from, i), nullptr));
      } else {
        construct_value(to, j, std::move_if_noexcept(value_at(from, i)));
      }
    } catch (...) {
      if (!keep_old) give_key_back(to, j, from, i);
      destroy_key(to, j);
      throw;
    }
  }

  static void give_key_back(Bucket* to, unsigned j, Bucket* from, unsigned i) noexcept {
    if constexpr (kIndirectKey) {
      *key_slot(from, i) = std::exchange(*key_slot(to, j), nullptr);
    } else if constexpr (std::is_nothrow_move_assignable_v<K>) {
      key_at(from, i) = std::move(key_at(to, j));
    }
  }

  // Undoes a moving transfer() (rollback of a failed evacuation): the old
  // slot still holds a moved-from key and value, so assign the entry back.
  static void untransfer(Bucket* to, unsigned j, Bucket* from, unsigned i) noexcept {
    give_key_back(to, j, from, i);
    if constexpr (kIndirectValue) {
      *value_slot(from, i) = std::exchange(*value_slot(to, j), nullptr);
    } else if constexpr (std::is_nothrow_move_assignable_v<V>) {
      value_at(from, i) = std::move(value_at(to, j));
    }
  }

  void advance_evacuation_mark(std::size_t newbit) {
    ++nevacuate_;
    // Skip buckets evacuated out of order, but bound the work per write.
    const std::size_t stop = std::min(nevacuate_ + 1024, newbit);
    while (nevacuate_ != stop && evacuated(oldbuckets_->bucket(nevacuate_))) ++nevacuate_;
    if (nevacuate_ == newbit) {
      ++growths_done_;
      release(oldbuckets_);  // iterators that still read it hold their own reference
      oldbuckets_ = nullptr;
      flags_.store(flags_.load(std::memory_order_relaxed) & ~kSameSizeGrow, std::memory_order_relaxed);
    }
  }

  Bucket* new_overflow(Bucket* b) {
    Bucket* ovf = buckets_->take_overflow();
    // Go counts overflow buckets exactly for small maps and samples for big
    // ones, to keep the counter in 16 bits.
    if (B_ < 16) {
      ++noverflow_;
    } else {
      const std::uint32_t mask = (std::uint32_t(1) << (B_ - 15)) - 1;
      if ((static_cast<std::uint32_t>(next_random()) & mask) == 0) ++noverflow_;
    }
    b->overflow = ovf;
    return ovf;
  }

  // Appends an entry known to be absent to its bucket's chain, without growth
  // (copy and compact size the table first).
  template <class KA, class VA>
  void place_new_entry(std::uint64_t hash, KA&& key, VA&& value) {
    Bucket* b = buckets_->bucket(hash & bucket_mask(B_));
    for (;;) {
      const std::uint64_t empties = detail::zero_bytes(tophash_word(b) & ~detail::kByteOnes);
      if (empties != 0) {
        const unsigned i = detail::byte_index(empties);
        construct_key(b, i, std::forward<KA>(key));
        try {
          construct_value(b, i, std::forward<VA>(value));
        } catch (...) {
          destroy_key(b, i);
          throw;
        }
        b->tophash[i] = tophash(hash);
        buckets_->note(hash & bucket_mask(B_), b->tophash[i]);
        ++count_;
        return;
      }
      if (b->overflow == nullptr) {
        new_overflow(b);
      }
      b = b->overflow;
    }
  }

  // Visits every live slot: the new array's, plus the old array's buckets
  // that are not yet evacuated.
  template <class F>
  static void for_each_live_slot(Table* current, Table* old, F&& f) {
    for (Table* t : {old, current}) {
      if (!t) continue;
      for (std::size_t x = 0; x < t->nbuckets; ++x) {
        Bucket* first = t->bucket(x);
        if (evacuated(first)) continue;
        for (Bucket* b = first; b != nullptr; b = b->overflow) {
          for (unsigned i = 0; i < kBucketSlots; ++i) {
            if (b->tophash[i] >= kMinTopHash) f(b, i);
          }
        }
      }
    }
  }

  template <class F>
  void for_each_entry(F&& f) const {
    for_each_live_slot(buckets_, oldbuckets_, [&](Bucket* b, unsigned i) { f(std::as_const(key_at(b, i)), std::as_const(value_at(b, i))); });
  }

  std::size_t count_ = 0;
  mutable std::atomic<std::uint8_t> flags_{0};
  std::uint8_t B_ = 0;
  std::uint16_t noverflow_ = 0;
  std::uint64_t hash0_ = 0;
  Table* buckets_ = nullptr;
  Table* oldbuckets_ = nullptr;
  std::size_t nevacuate_ = 0;
  std::uint64_t clear_seq_ = 0;
  std::uint64_t contents_epoch_ = 0;  // bumped by swap (and so by move and copy assignment); not swapped
  std::uint64_t growths_ = 0;
  std::uint64_t growths_done_ = 0;
  mutable std::atomic<std::uint64_t> rng_{0};
  mutable std::atomic<std::uint32_t> live_iterators_{0};
  [[no_unique_address]] Hash hash_{};
  [[no_unique_address]] Eq eq_{};
};


// The executable form of the rules in the essay at the top of this file. Each
// check names the invariant it enforces; the first violation found throws.
template <class K, class V, class Hash, class Eq>
void Map<K, V, Hash, Eq>::check_invariants() const {
  auto fail = [](const char* invariant, const std::string& where, const std::string& detail) {
    throw InvariantError(std::string("gomap invariant '") + invariant + "' violated at " + where + ": " + detail);
  };
  auto at = [](const char* table, std::size_t bucket, std::size_t chain, int slot) {
    std::string w = std::string(table) + " bucket " + std::to_string(bucket);
    if (chain != 0) w += " overflow#" + std::to_string(chain);
    if (slot >= 0) w += " slot " + std::to_string(slot);
    return w;
  };

  const std::uint8_t flags = flags_.load(std::memory_order_relaxed);
  if (flags & kHashWriting) fail("no-write-in-progress", "header", "hashWriting flag is set");
  if (buckets_ == nullptr) {
    if (count_ != 0) fail("count-matches-slots", "header", "no bucket array but count=" + std::to_string(count_));
    if (oldbuckets_ != nullptr) fail("growth-has-new-array", "header", "oldbuckets without buckets");
    return;
  }
  if (buckets_->B != B_ || buckets_->nbuckets != (std::size_t(1) << B_)) {
    fail("array-size-is-2^B", "header",
         "B=" + std::to_string(B_) + " but array has " + std::to_string(buckets_->nbuckets));
  }
  const bool grow = growing();
  const bool same_size = (flags & kSameSizeGrow) != 0;
  if (!grow && same_size) fail("same-size-flag-only-while-growing", "header", "sameSizeGrow set without oldbuckets");
  std::size_t old_count = 0;
  if (grow) {
    if (!same_size && B_ == 0) fail("old-array-is-half", "header", "doubling growth at B=0");
    old_count = same_size ? (std::size_t(1) << B_) : (std::size_t(1) << (B_ - 1));
    if (oldbuckets_->nbuckets != old_count) {
      fail("old-array-is-half", "header",
           "oldbuckets has " + std::to_string(oldbuckets_->nbuckets) + " buckets, expected " +
               std::to_string(old_count));
    }
    if (nevacuate_ >= old_count) fail("nevacuate-in-range", "header", "nevacuate=" + std::to_string(nevacuate_));
  }

  std::size_t filled = 0;
  // One chain: the emptyRest rule, key placement, tophash, duplicates.
  auto check_chain = [&](const char* table, const Table* t, Bucket* first, std::size_t x, std::size_t mask) {
    if (tophash_word(first) == 0 && first->overflow == nullptr) return;  // all emptyRest: nothing to check
    bool seen_rest = false;
    std::uint8_t last_non_rest = kEmptyRest;
    std::size_t last_chain = 0;
    int last_slot = -1;
    std::size_t chain = 0;
    for (Bucket* b = first; b != nullptr; b = b->overflow, ++chain) {
      for (unsigned i = 0; i < kBucketSlots; ++i) {
        const std::uint8_t top = b->tophash[i];
        if (top > kEmptyOne && top < kMinTopHash) {
          fail("evacuation-marks-only-in-evacuated-old-buckets", at(table, x, chain, int(i)),
               "tophash=" + std::to_string(top));
        }
        if (top == kEmptyRest) {
          seen_rest = true;
          continue;
        }
        if (seen_rest) {
          fail("nothing-after-emptyRest", at(table, x, chain, int(i)),
               "tophash=" + std::to_string(top) + " follows an emptyRest slot");
        }
        last_non_rest = top;
        last_chain = chain;
        last_slot = int(i);
        if (top == kEmptyOne) continue;
        ++filled;
        if (!t->may_hold(x, top)) {
          fail("filter-covers-chain", at(table, x, chain, int(i)),
               "lookup filter lacks bit " + std::to_string(top & 15) + " of tophash " + std::to_string(top));
        }
        const K& k = key_at(b, i);
        if (!kReflexive && !eq_(k, k)) continue;  // NaN: random hash, no home bucket
        const std::uint64_t hash = seeded_hash(k);
        if ((hash & mask) != x) {
          fail("key-in-its-hash-bucket", at(table, x, chain, int(i)),
               "key hashes to bucket " + std::to_string(hash & mask));
        }
        if (tophash(hash) != top) {
          fail("tophash-matches-hash", at(table, x, chain, int(i)),
               "stored " + std::to_string(top) + ", hash gives " + std::to_string(tophash(hash)));
        }
        std::size_t chain2 = 0;
        bool before = true;  // only compare with earlier slots: each pair once
        for (Bucket* b2 = first; b2 != nullptr && before; b2 = b2->overflow, ++chain2) {
          for (unsigned j = 0; j < kBucketSlots; ++j) {
            if (b2 == b && j == i) {
              before = false;
              break;
            }
            if (b2->tophash[j] == top && eq_(k, key_at(b2, j))) {
              fail("no-duplicate-keys", at(table, x, chain, int(i)), "same key as " + at(table, x, chain2, int(j)));
            }
          }
        }
      }
    }
    if (last_non_rest == kEmptyOne) {
      fail("no-trailing-emptyOne", at(table, x, last_chain, last_slot),
           "the last slot before the emptyRest run is emptyOne (erase skipped the backward walk)");
    }
  };

  const std::size_t mask = bucket_mask(B_);
  for (std::size_t x = 0; x < buckets_->nbuckets; ++x) {
    Bucket* first = buckets_->bucket(x);
    if (grow && (tophash_word(first) != 0 || first->overflow != nullptr)) {
      Bucket* feeder = oldbuckets_->bucket(x & (old_count - 1));
      if (!evacuated(feeder)) {
        for (Bucket* b = first; b != nullptr; b = b->overflow) {
          if (tophash_word(b) != 0) {
            fail("new-bucket-empty-until-evacuated", at("new", x, 0, -1),
                 "old bucket " + std::to_string(x & (old_count - 1)) + " is not evacuated yet");
          }
        }
      }
    }
    check_chain("new", buckets_, first, x, mask);
  }
  if (grow) {
    for (std::size_t y = 0; y < old_count; ++y) {
      Bucket* first = oldbuckets_->bucket(y);
      if (evacuated(first)) {
        std::size_t chain = 0;
        for (Bucket* b = first; b != nullptr; b = b->overflow, ++chain) {
          for (unsigned i = 0; i < kBucketSlots; ++i) {
            const std::uint8_t top = b->tophash[i];
            if (top < kEvacuatedX || top > kEvacuatedEmpty) {
              fail("evacuation-covers-whole-chain", at("old", y, chain, int(i)), "tophash=" + std::to_string(top));
            }
            if (same_size && top == kEvacuatedY) {
              fail("same-size-growth-uses-X-only", at("old", y, chain, int(i)), "evacuatedY");
            }
          }
        }
        continue;
      }
      if (y < nevacuate_) {
        fail("evacuated-below-nevacuate", at("old", y, 0, -1), "nevacuate=" + std::to_string(nevacuate_));
      }
      check_chain("old", oldbuckets_, first, y, old_count - 1);
    }
  }
  if (filled != count_) {
    fail("count-matches-slots", "header",
         "count=" + std::to_string(count_) + " but " + std::to_string(filled) + " filled slots");
  }
  // Growth keeps the load at most 6.5 per bucket, except for the keys added
  // while a growth was already running (no growth starts during another, Go
  // issue 69110): at most one per old bucket, since each write evacuates one.
  const std::size_t load_bound = std::max<std::size_t>(kBucketSlots, 13 * ((std::size_t(1) << B_) / 2));
  if (count_ > load_bound + (std::size_t(1) << B_)) {
    fail("load-factor-bound", "header",
         "count=" + std::to_string(count_) + " exceeds " + std::to_string(load_bound) + " + 2^B for B=" +
             std::to_string(B_));
  }
  if (B_ < 16 && buckets_->overflow_in_use() < 0xffff && noverflow_ != buckets_->overflow_in_use()) {
    fail("noverflow-counts-overflow-buckets", "header",
         "noverflow=" + std::to_string(noverflow_) + " but " + std::to_string(buckets_->overflow_in_use()) +
             " overflow buckets in use");
  }
}

}  // namespace gomap
