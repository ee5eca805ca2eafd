// The linearizability checker (see linearizability.hpp for the design).
#include "gomap_harness/linearizability.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace gomap_harness::lin {
namespace {

constexpr std::uint64_t kForever = std::numeric_limits<std::uint64_t>::max();

// ---- the sequential model of one key --------------------------------------

struct State {
  bool present = false;
  std::uint64_t v = 0;
};

// Applies `o` to `s`. False if `o`'s recorded result is impossible in state
// `s` (a pending operation's result is not checked).
bool step(const State& s, const Operation& o, State& next) {
  next = s;
  const bool free = o.pending;
  const bool matches_load = o.ok == s.present && (!o.ok || o.out == s.v);
  switch (o.kind) {
    case ConcOpKind::Load:
      return free || matches_load;
    case ConcOpKind::Store:
      next = {true, o.arg};
      return true;
    case ConcOpKind::LoadOrStore:
      if (s.present) return free || (o.ok && o.out == s.v);
      next = {true, o.arg};
      return free || (!o.ok && o.out == o.arg);
    case ConcOpKind::LoadAndDelete:
      next = {};
      return free || matches_load;
    case ConcOpKind::Erase:
    case ConcOpKind::Clear:
      next = {};
      return true;
    case ConcOpKind::Swap:
      next = {true, o.arg};
      return free || matches_load;
    case ConcOpKind::CompareAndSwap: {
      const bool hit = s.present && s.v == o.expected;
      if (!free && o.ok != hit) return false;
      if (hit) next = {true, o.arg};
      return true;
    }
    case ConcOpKind::CompareAndDelete: {
      const bool hit = s.present && s.v == o.expected;
      if (!free && o.ok != hit) return false;
      if (hit) next = {};
      return true;
    }
    default:
      return false;  // not a point operation
  }
}

// Operations that never change the state given their recorded result: the
// minimiser may drop them (any linearisation stays one without them).
bool read_only(const Operation& o) {
  if (o.kind == ConcOpKind::Load) return true;
  if (o.pending) return false;
  switch (o.kind) {
    case ConcOpKind::LoadOrStore: return o.ok;
    case ConcOpKind::LoadAndDelete: return !o.ok;
    case ConcOpKind::CompareAndSwap:
    case ConcOpKind::CompareAndDelete: return !o.ok;
    default: return false;
  }
}

// A write nobody else refers to: no other operation returned its value or
// compared against it, and no compare op failed (or is pending) — a failed
// compare might have failed because of this very write. Dropping such a
// write keeps any linearisation valid (the operations that followed it in
// that order see the previous value instead, and none of them depends on
// which one it was), so the minimiser may drop it too.
bool unreferenced_write(const std::vector<Operation>& ops, std::size_t i) {
  const Operation& w = ops[i];
  const bool write = w.kind == ConcOpKind::Store || w.kind == ConcOpKind::Swap ||
                     (w.kind == ConcOpKind::LoadOrStore && (w.pending || !w.ok)) ||
                     (w.kind == ConcOpKind::CompareAndSwap && (w.pending || w.ok));
  if (!write) return false;
  for (std::size_t j = 0; j < ops.size(); ++j) {
    if (j == i) continue;
    const Operation& o = ops[j];
    switch (o.kind) {
      case ConcOpKind::Load:
      case ConcOpKind::LoadAndDelete:
      case ConcOpKind::Swap:
      case ConcOpKind::LoadOrStore:
        if (o.out == w.arg) return false;
        break;
      case ConcOpKind::CompareAndSwap:
      case ConcOpKind::CompareAndDelete:
        if (o.expected == w.arg || o.pending || !o.ok) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

// An erase or clear that every operation able to make the key present
// follows in real time: in any linearisation the key is absent before it
// (every key starts absent), so it changes nothing and may go.
bool leading_removal(const std::vector<Operation>& ops, std::size_t i) {
  const Operation& r = ops[i];
  if (r.kind != ConcOpKind::Erase && r.kind != ConcOpKind::Clear) return false;
  for (std::size_t j = 0; j < ops.size(); ++j) {
    const Operation& o = ops[j];
    const bool may_make_present = o.kind == ConcOpKind::Store || o.kind == ConcOpKind::Swap ||
                                  (o.kind == ConcOpKind::LoadOrStore && (o.pending || !o.ok)) ||
                                  (o.kind == ConcOpKind::CompareAndSwap && (o.pending || o.ok));
    if (j != i && may_make_present && o.invoke <= r.ret) return false;
  }
  return true;
}

std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Lowe's cache: the set of (linearised operations, state) configurations
// already explored. Entries live in one arena (W bitset words, present,
// value); an open-addressing table indexes them. One Memo serves every
// search of a thread (reset() keeps its buffers), so checking a history
// allocates only when it is larger than every history before it.
class Memo {
 public:
  void reset(std::size_t words) {
    w_ = words;
    arena_.clear();
    hashes_.clear();
    count_ = 0;
    size_ = kInitialSlots;
    if (table_.size() < size_) table_.resize(size_);
    std::fill(table_.begin(), table_.begin() + static_cast<std::ptrdiff_t>(size_), 0u);
  }

  // True if the configuration is new (and records it).
  bool insert(const std::uint64_t* bits, const State& s) {
    if ((count_ + 1) * 2 > size_) grow();
    const std::uint64_t h = hash(bits, s);
    std::size_t i = h & (size_ - 1);
    for (;;) {
      const std::uint32_t slot = table_[i];
      if (slot == 0) break;
      if (equal(slot - 1, bits, s)) return false;
      i = (i + 1) & (size_ - 1);
    }
    const std::size_t idx = count_;
    arena_.insert(arena_.end(), bits, bits + w_);
    arena_.push_back(s.present ? 1 : 0);
    arena_.push_back(s.v);
    hashes_.push_back(h);
    table_[i] = static_cast<std::uint32_t>(idx + 1);
    ++count_;
    return true;
  }

 private:
  static constexpr std::size_t kInitialSlots = 64;
  std::size_t stride() const { return w_ + 2; }
  std::uint64_t hash(const std::uint64_t* bits, const State& s) const {
    std::uint64_t h = mix(s.v + (s.present ? 0x9e3779b97f4a7c15ull : 0));
    for (std::size_t i = 0; i < w_; ++i) h = mix(h ^ bits[i]) + i;
    return h;
  }
  bool equal(std::size_t idx, const std::uint64_t* bits, const State& s) const {
    const std::uint64_t* e = arena_.data() + idx * stride();
    return std::memcmp(e, bits, w_ * sizeof(std::uint64_t)) == 0 && e[w_] == (s.present ? 1u : 0u) && e[w_ + 1] == s.v;
  }
  void grow() {
    size_ *= 2;
    if (table_.size() < size_) table_.resize(size_);
    std::fill(table_.begin(), table_.begin() + static_cast<std::ptrdiff_t>(size_), 0u);
    for (std::size_t idx = 0; idx < count_; ++idx) {
      std::size_t i = hashes_[idx] & (size_ - 1);
      while (table_[i] != 0) i = (i + 1) & (size_ - 1);
      table_[i] = static_cast<std::uint32_t>(idx + 1);
    }
  }

  std::size_t w_ = 0;
  std::vector<std::uint64_t> arena_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> table_;  // the first size_ slots are in use
  std::size_t size_ = 0;
  std::size_t count_ = 0;
};

// ---- Wing–Gong search over one key's operations ---------------------------

struct SearchResult {
  Verdict verdict = Verdict::Ok;
  std::uint64_t steps = 0;
};

// The search's working memory, kept per thread across searches (see Memo).
struct SearchScratch {
  struct Ev {
    std::uint64_t t;
    bool ret;
    std::uint32_t op;
  };
  struct Frame {
    std::int32_t call;
    State before;
  };
  std::vector<Ev> evs;
  std::vector<std::int32_t> next, prev, match, ret_node;
  std::vector<std::uint64_t> bits;
  std::vector<Frame> stack;
  Memo memo;
};

SearchScratch& search_scratch() {
  thread_local SearchScratch s;
  return s;
}

// Fills sc.evs with the events of `ops` in time order: a call and a return
// per operation; calls first on equal times (more overlap, never a false
// violation); equal times of the same kind (only pending returns, at
// kForever) in operation order.
void order_events(const Operation* const* ops, std::size_t n, SearchScratch& sc) {
  auto& evs = sc.evs;
  evs.clear();
  for (std::size_t i = 0; i < n; ++i) {
    evs.push_back({ops[i]->invoke, false, static_cast<std::uint32_t>(i)});
    evs.push_back({ops[i]->pending ? kForever : ops[i]->ret, true, static_cast<std::uint32_t>(i)});
  }
  std::sort(evs.begin(), evs.end(), [](const SearchScratch::Ev& a, const SearchScratch::Ev& b) {
    if (a.t != b.t) return a.t < b.t;
    if (a.ret != b.ret) return !a.ret;
    return a.op < b.op;
  });
}

// The Wing–Gong search proper, on the events order_events() left in sc.
SearchResult search_ordered(const Operation* const* ops, std::size_t n, std::uint64_t budget, SearchScratch& sc) {
  SearchResult r;
  const auto& evs = sc.evs;
  // A doubly linked list of the events not yet linearised; node 2n is the
  // head. Every entry is written below before it is read.
  const std::int32_t head = static_cast<std::int32_t>(2 * n);
  auto& next = sc.next;
  auto& prev = sc.prev;
  auto& match = sc.match;
  auto& ret_node = sc.ret_node;
  next.resize(2 * n + 1);
  prev.resize(2 * n + 1);
  match.resize(2 * n);
  ret_node.resize(n);
  for (std::size_t i = 0; i < evs.size(); ++i)
    if (evs[i].ret) ret_node[evs[i].op] = static_cast<std::int32_t>(i);
  for (std::size_t i = 0; i < evs.size(); ++i)
    if (!evs[i].ret) match[i] = ret_node[evs[i].op];
  std::int32_t last = head;
  for (std::int32_t i = 0; i < static_cast<std::int32_t>(evs.size()); ++i) {
    next[last] = i;
    prev[i] = last;
    last = i;
  }
  next[last] = -1;
  prev[head] = -1;
  auto unlink = [&](std::int32_t x) {
    next[prev[x]] = next[x];
    if (next[x] != -1) prev[next[x]] = prev[x];
  };
  auto relink = [&](std::int32_t x) {
    next[prev[x]] = x;
    if (next[x] != -1) prev[next[x]] = x;
  };

  Memo& memo = sc.memo;
  memo.reset((n + 63) / 64);
  auto& bits = sc.bits;
  bits.assign((n + 63) / 64, 0);
  State state;
  auto& stack = sc.stack;
  stack.clear();
  std::int32_t e = next[head];
  while (next[head] != -1) {
    if (++r.steps > budget) {
      r.verdict = Verdict::Unknown;
      return r;
    }
    if (!evs[e].ret) {
      const std::uint32_t op = evs[e].op;
      State after;
      if (step(state, *ops[op], after)) {
        bits[op / 64] |= std::uint64_t(1) << (op % 64);
        if (memo.insert(bits.data(), after)) {
          stack.push_back({e, state});
          state = after;
          unlink(e);
          unlink(match[e]);
          e = next[head];
          continue;
        }
        bits[op / 64] &= ~(std::uint64_t(1) << (op % 64));
      }
      e = next[e];
    } else {
      // An operation returned before anything could be linearised for it
      // here: undo the last choice.
      if (stack.empty()) {
        r.verdict = Verdict::Violation;
        return r;
      }
      const SearchScratch::Frame f = stack.back();
      stack.pop_back();
      state = f.before;
      const std::uint32_t op = evs[f.call].op;
      bits[op / 64] &= ~(std::uint64_t(1) << (op % 64));
      relink(match[f.call]);
      relink(f.call);
      e = next[f.call];
    }
  }
  return r;
}

// `ops`: the n operations of one key (pointers into the history).
SearchResult search(const Operation* const* ops, std::size_t n, std::uint64_t budget) {
  if (n == 0) return {};
  SearchScratch& sc = search_scratch();
  order_events(ops, n, sc);
  return search_ordered(ops, n, budget, sc);
}

// ---- results of searches already done --------------------------------------
//
// The search reads a key's sub-history only through the order of its events
// and, per operation, its kind, whether it is pending, and its recorded
// arguments and results (step()). Ticks matter only through that order. The
// canonical form below is exactly that information (each event's place in
// the order instead of its tick), so two sub-histories with the same form
// give the same search: the same verdict after the same number of steps.
// The scheduled target meets the same forms over and over — the schedules of
// one round-robin program share most of their prefix, so most keys' ops are
// untouched from one schedule to the next, and a fuzzer mutates inputs that
// differ little — and takes the result from here instead of searching again.
// A lookup compares whole forms (never a hash alone), and a result is
// replayed with the caller's budget exactly as the search would have spent
// it, so a cached check is the same check.
class SearchCache {
 public:
  // The form of the events in sc.evs and their operations, into form_.
  void make_form(const Operation* const* ops, std::size_t n, const SearchScratch& sc) {
    form_.clear();
    form_.push_back(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Operation& o = *ops[i];
      form_.push_back(static_cast<std::uint64_t>(o.kind) | std::uint64_t(o.ok) << 8 | std::uint64_t(o.pending) << 9);
      form_.push_back(o.out);
      form_.push_back(o.arg);
      form_.push_back(o.expected);
    }
    for (const auto& ev : sc.evs) form_.push_back(std::uint64_t(ev.op) << 1 | (ev.ret ? 1 : 0));
    hash_ = 0x243f6a8885a308d3ull;
    for (std::uint64_t w : form_) hash_ = mix(hash_ ^ w);
  }

  // The result for form_ under `budget`, if its search was done before.
  bool find(std::uint64_t budget, SearchResult& out) const {
    if (table_.empty()) return false;
    for (std::size_t i = hash_ & (table_.size() - 1);; i = (i + 1) & (table_.size() - 1)) {
      const std::uint32_t slot = table_[i];
      if (slot == 0) return false;
      const Entry& e = entries_[slot - 1];
      if (e.hash == hash_ && e.len == form_.size() &&
          std::equal(form_.begin(), form_.end(), words_.begin() + static_cast<std::ptrdiff_t>(e.begin))) {
        // The search took e.steps steps to its verdict; with a smaller
        // budget it stops as soon as the budget is exceeded.
        if (e.steps <= budget) out = {e.verdict, e.steps};
        else out = {Verdict::Unknown, budget + 1};
        return true;
      }
    }
  }

  // Records the result of the search of form_ (a finished one: Unknown only
  // says the budget of that call ran out).
  void add(const SearchResult& r) {
    if (r.verdict == Verdict::Unknown) return;
    if (words_.size() + form_.size() > kMaxWords) clear();  // bounded memory
    if ((entries_.size() + 1) * 2 > table_.size()) grow();
    entries_.push_back({hash_, words_.size(), form_.size(), r.verdict, r.steps});
    words_.insert(words_.end(), form_.begin(), form_.end());
    place(entries_.size() - 1);
  }

 private:
  struct Entry {
    std::uint64_t hash;
    std::size_t begin, len;  // in words_
    Verdict verdict;
    std::uint64_t steps;
  };
  static constexpr std::size_t kMaxWords = std::size_t(1) << 20;  // 8 MB of forms

  void clear() {
    words_.clear();
    entries_.clear();
    std::fill(table_.begin(), table_.end(), 0u);
  }
  void grow() {
    table_.assign(table_.empty() ? 1024 : table_.size() * 2, 0u);
    for (std::size_t i = 0; i < entries_.size(); ++i) place(i);
  }
  void place(std::size_t idx) {
    std::size_t i = entries_[idx].hash & (table_.size() - 1);
    while (table_[i] != 0) i = (i + 1) & (table_.size() - 1);
    table_[i] = static_cast<std::uint32_t>(idx + 1);
  }

  std::vector<std::uint64_t> form_;
  std::uint64_t hash_ = 0;
  std::vector<std::uint64_t> words_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> table_;
};

// check()'s search of one key: through the cache (one per thread).
SearchResult search_cached(const Operation* const* ops, std::size_t n, std::uint64_t budget) {
  if (n == 0) return {};
  thread_local SearchCache cache;
  SearchScratch& sc = search_scratch();
  order_events(ops, n, sc);
  cache.make_form(ops, n, sc);
  SearchResult r;
  if (cache.find(budget, r)) return r;
  r = search_ordered(ops, n, budget, sc);
  cache.add(r);
  return r;
}

SearchResult search(const std::vector<Operation>& ops, std::uint64_t budget) {
  std::vector<const Operation*> ptrs;
  ptrs.reserve(ops.size());
  for (const Operation& o : ops) ptrs.push_back(&o);
  return search(ptrs.data(), ptrs.size(), budget);
}

// ---- minimisation (sound: see the header) ---------------------------------

std::vector<Operation> cut_at(const std::vector<Operation>& ops, std::uint64_t t) {
  std::vector<Operation> out;
  for (const Operation& o : ops) {
    if (o.invoke > t) continue;
    Operation c = o;
    if (c.ret > t) c.pending = true;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Operation> minimize(const std::vector<Operation>& ops, std::uint64_t& budget) {
  auto violates = [&](const std::vector<Operation>& h) {
    if (budget == 0) return false;
    const SearchResult s = search(h, budget);
    budget -= std::min(budget, s.steps);
    return s.verdict == Verdict::Violation;
  };
  std::vector<std::uint64_t> rets;
  for (const Operation& o : ops) rets.push_back(o.ret);
  std::sort(rets.begin(), rets.end());
  // The earliest cut that still fails (the full history, at rets.back(), does).
  std::size_t lo = 0, hi = rets.size() - 1;
  while (lo < hi) {
    const std::size_t mid = (lo + hi) / 2;
    if (violates(cut_at(ops, rets[mid]))) hi = mid;
    else lo = mid + 1;
  }
  std::vector<Operation> cur = cut_at(ops, rets[hi]);
  if (!violates(cur)) return ops;  // budget ran out: show everything
  // Until nothing more can go (dropping reads can make writes unreferenced).
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < cur.size();) {
      if (!read_only(cur[i]) && !unreferenced_write(cur, i) && !leading_removal(cur, i)) {
        ++i;
        continue;
      }
      std::vector<Operation> trial = cur;
      trial.erase(trial.begin() + static_cast<std::ptrdiff_t>(i));
      if (violates(trial)) {
        cur = std::move(trial);
        changed = true;
      } else {
        ++i;
      }
    }
  }
  return cur;
}

// ---- the weak spec of range and len ----------------------------------------

bool is_weak(ConcOpKind k) { return k == ConcOpKind::Len || conc_is_range(k); }

// The value `o` leaves k holding, if it certainly makes k present.
bool writes_value(const Operation& o, std::uint64_t* v) {
  switch (o.kind) {
    case ConcOpKind::Store:
    case ConcOpKind::Swap: *v = o.arg; return true;
    case ConcOpKind::LoadOrStore:
      if (o.ok) return false;
      *v = o.arg;
      return true;
    case ConcOpKind::CompareAndSwap:
      if (!o.ok) return false;
      *v = o.arg;
      return true;
    default: return false;
  }
}
// Right after `o` took effect, k certainly did not hold v.
bool certainly_not(const Operation& o, std::uint64_t v) {
  switch (o.kind) {
    case ConcOpKind::Load: return !o.ok || o.out != v;
    case ConcOpKind::Store:
    case ConcOpKind::Swap: return o.arg != v;
    case ConcOpKind::LoadOrStore: return o.ok ? o.out != v : o.arg != v;
    case ConcOpKind::LoadAndDelete:
    case ConcOpKind::Erase:
    case ConcOpKind::Clear: return true;
    case ConcOpKind::CompareAndSwap: return o.ok ? o.arg != v : o.expected == v;
    case ConcOpKind::CompareAndDelete: return o.ok || o.expected == v;
    default: return false;
  }
}
// Right after `o` took effect, k was certainly absent.
bool certainly_absent(const Operation& o) {
  switch (o.kind) {
    case ConcOpKind::Load: return !o.ok;
    case ConcOpKind::LoadAndDelete:
    case ConcOpKind::Erase:
    case ConcOpKind::Clear: return true;
    case ConcOpKind::CompareAndDelete: return o.ok;
    default: return false;
  }
}
// `o` may have removed k.
bool may_remove(const Operation& o) {
  switch (o.kind) {
    case ConcOpKind::Erase:
    case ConcOpKind::Clear: return true;
    case ConcOpKind::LoadAndDelete:
    case ConcOpKind::CompareAndDelete: return o.ok;
    default: return false;
  }
}

struct KeyOps {
  std::vector<const Operation*> ops;      // point ops on the key, plus every clear
  std::vector<const Operation*> writers;  // ops that certainly leave a value
};

// (k, v) held at some moment of [a, b].
bool possibly_held(const KeyOps& ko, std::uint64_t v, std::uint64_t a, std::uint64_t b) {
  for (const Operation* w : ko.writers) {
    std::uint64_t wv = 0;
    writes_value(*w, &wv);
    if (wv != v || w->invoke >= b) continue;
    bool killed = false;
    for (const Operation* o : ko.ops) {
      if (o != w && o->invoke > w->ret && o->ret < a && certainly_not(*o, v)) {
        killed = true;
        break;
      }
    }
    if (!killed) return true;
  }
  return false;
}
// k present throughout [a, b].
bool certainly_present(const KeyOps& ko, std::uint64_t a, std::uint64_t b) {
  // The latest-invoked write that returned before a dominates the others.
  const Operation* best = nullptr;
  for (const Operation* w : ko.writers)
    if (w->ret < a && (best == nullptr || w->invoke > best->invoke)) best = w;
  if (best == nullptr) return false;
  for (const Operation* o : ko.ops)
    if (o != best && may_remove(*o) && o->ret >= best->invoke && o->invoke <= b) return false;
  return true;
}
// k present at some moment of [a, b].
bool possibly_present(const KeyOps& ko, std::uint64_t a, std::uint64_t b) {
  const Operation* best = nullptr;  // the candidate with the latest return has the fewest killers
  for (const Operation* w : ko.writers)
    if (w->invoke < b && (best == nullptr || w->ret > best->ret)) best = w;
  if (best == nullptr) return false;
  for (const Operation* o : ko.ops)
    if (o != best && o->invoke > best->ret && o->ret < a && certainly_absent(*o)) return false;
  return true;
}

// The number of distinct keys in a by-key sorted list.
std::size_t keys_with_point_ops(const std::vector<std::pair<std::uint64_t, const Operation*>>& by_key) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < by_key.size(); ++i)
    if (i == 0 || by_key[i].first != by_key[i - 1].first) ++n;
  return n;
}

std::vector<Operation> key_table_ops(const KeyOps& ko, const Operation& extra) {
  std::vector<Operation> v;
  for (const Operation* o : ko.ops) v.push_back(*o);
  v.push_back(extra);
  return v;
}

}  // namespace

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Ok: return "ok";
    case Verdict::Violation: return "violation";
    case Verdict::Unknown: return "unknown";
  }
  return "?";
}

History Recorder::history() const {
  History h;
  h.threads = threads();
  for (const Log& l : logs_) h.ops.insert(h.ops.end(), l.ops.begin(), l.ops.end());
  return h;
}

void Recorder::take_history(History& h) {
  h.threads = threads();
  h.ops.clear();
  for (Log& l : logs_) {
    for (Operation& o : l.ops) h.ops.push_back(std::move(o));
    l.ops.clear();
  }
}

void Recorder::drop_unreturned() {
  for (Log& l : logs_) std::erase_if(l.ops, [](const Operation& o) { return o.ret == 0; });
}

void Recorder::reset(unsigned threads) {
  logs_.resize(threads);
  for (Log& l : logs_) l.ops.clear();
  clock_.reset();
}

std::string format_value(std::uint64_t v) {
  // Fresh values are (thread + 1) << 32 | sequence: print them as t<thread>.<seq>.
  const std::uint64_t hi = v >> 32;
  if (hi >= 1 && hi <= 0xffff) return "t" + std::to_string(hi - 1) + "." + std::to_string(v & 0xffffffffu);
  return std::to_string(v);
}

std::string describe(const Operation& o) {
  std::ostringstream s;
  const std::string k = std::to_string(o.key);
  auto res = [&](const std::string& r) {
    if (o.pending) s << " -> ?";
    else s << " -> " << r;
  };
  switch (o.kind) {
    case ConcOpKind::Load:
      s << "load(" << k << ")";
      res(o.ok ? format_value(o.out) : "absent");
      break;
    case ConcOpKind::Store: s << "store(" << k << ", " << format_value(o.arg) << ")"; break;
    case ConcOpKind::LoadOrStore:
      s << "load_or_store(" << k << ", " << format_value(o.arg) << ")";
      res(o.ok ? "loaded " + format_value(o.out) : "stored");
      break;
    case ConcOpKind::LoadAndDelete:
      s << "load_and_delete(" << k << ")";
      res(o.ok ? format_value(o.out) : "absent");
      break;
    case ConcOpKind::Erase: s << "erase(" << k << ")"; break;
    case ConcOpKind::Swap:
      s << "swap(" << k << ", " << format_value(o.arg) << ")";
      res(o.ok ? "was " + format_value(o.out) : "was absent");
      break;
    case ConcOpKind::CompareAndSwap:
      s << "cas(" << k << ", " << format_value(o.expected) << " -> " << format_value(o.arg) << ")";
      res(o.ok ? "true" : "false");
      break;
    case ConcOpKind::CompareAndDelete:
      s << "cad(" << k << ", " << format_value(o.expected) << ")";
      res(o.ok ? "true" : "false");
      break;
    case ConcOpKind::Clear: s << "clear()"; break;
    case ConcOpKind::Len: s << "len() -> " << o.len; break;
    case ConcOpKind::Range:
    case ConcOpKind::RangeErase:
    case ConcOpKind::RangeStore:
    case ConcOpKind::RangeStop: {
      s << conc_op_name(o.kind) << "() -> {";
      for (std::size_t i = 0; i < o.yielded.size(); ++i)
        s << (i ? " " : "") << o.yielded[i].first << ":" << format_value(o.yielded[i].second);
      s << "}" << (o.ok ? "" : " stopped");
      break;
    }
    case ConcOpKind::Yield: s << "yield"; break;
  }
  return s.str();
}

std::string format_table(const std::vector<Operation>& ops_in, unsigned threads) {
  std::vector<const Operation*> ops;
  for (const Operation& o : ops_in) ops.push_back(&o);
  std::stable_sort(ops.begin(), ops.end(), [](const Operation* a, const Operation* b) { return a->invoke < b->invoke; });
  // Columns for the threads that have operations here (numbered as recorded).
  unsigned nthreads = 0;
  for (const Operation* o : ops) nthreads = std::max(nthreads, o->thread + 1);
  if (ops.empty()) nthreads = threads;
  std::vector<bool> used(nthreads, ops.empty());
  for (const Operation* o : ops) used[o->thread] = true;
  std::vector<std::string> cells(ops.size());
  std::vector<std::size_t> width(nthreads, 0);
  for (unsigned t = 0; t < nthreads; ++t) width[t] = ("thread " + std::to_string(t)).size();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Operation& o = *ops[i];
    const std::string ret = o.pending ? "..." : std::to_string(o.ret);
    cells[i] = "[" + std::to_string(o.invoke) + ".." + ret + "] " + describe(o);
    width[o.thread] = std::max(width[o.thread], cells[i].size());
  }
  std::ostringstream s;
  auto pad = [](const std::string& x, std::size_t w) { return x + std::string(w > x.size() ? w - x.size() : 0, ' '); };
  auto row = [&](auto&& cell, const char* sep) {
    s << "  ";
    bool first = true;
    for (unsigned t = 0; t < nthreads; ++t) {
      if (!used[t]) continue;
      s << (first ? "" : sep) << cell(t);
      first = false;
    }
    s << "\n";
  };
  row([&](unsigned t) { return pad("thread " + std::to_string(t), width[t]); }, " | ");
  row([&](unsigned t) { return std::string(width[t], '-'); }, "-+-");
  for (std::size_t i = 0; i < ops.size(); ++i)
    row([&](unsigned t) { return pad(t == ops[i]->thread ? cells[i] : std::string(), width[t]); }, " | ");
  s << "  ([invoke..return] in global clock ticks; \"...\" = still running at the cut, result not checked)\n";
  return s.str();
}

CheckResult check(const History& h, const CheckOptions& opts) {
  CheckResult res;
  std::uint64_t budget = opts.max_steps;

  // Partition the point operations by key, in ascending key order, each
  // key's operations in history order; clear goes to every key (after the
  // key's own operations). Pointers into the history: nothing is copied
  // unless a key fails (the report's copies carry the key in the clears).
  std::vector<std::pair<std::uint64_t, const Operation*>> by_key;
  std::vector<const Operation*> clears;
  for (const Operation& o : h.ops) {
    if (conc_is_point(o.kind)) {
      by_key.emplace_back(o.key, &o);
      ++res.point_ops;
    } else if (o.kind == ConcOpKind::Clear) {
      clears.push_back(&o);
      ++res.point_ops;
    } else if (is_weak(o.kind)) {
      ++res.weak_ops;
    }
  }
  // By key, then by place in the history (the pointers ascend with it).
  std::sort(by_key.begin(), by_key.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second < b.second;
  });
  res.keys = keys_with_point_ops(by_key);
  std::vector<const Operation*> part;
  for (std::size_t i = 0; i < by_key.size();) {
    const std::uint64_t k = by_key[i].first;
    part.clear();
    for (; i < by_key.size() && by_key[i].first == k; ++i) part.push_back(by_key[i].second);
    part.insert(part.end(), clears.begin(), clears.end());
    const SearchResult s = search_cached(part.data(), part.size(), budget);
    res.steps += s.steps;
    budget -= std::min(budget, s.steps);
    if (s.verdict == Verdict::Unknown) {
      res.verdict = Verdict::Unknown;
      res.report = "linearizability: step budget (" + std::to_string(opts.max_steps) + ") exhausted at key " +
                   std::to_string(k) + " (" + std::to_string(part.size()) + " operations on it)\n";
      return res;
    }
    if (s.verdict == Verdict::Violation) {
      res.verdict = Verdict::Violation;
      std::vector<Operation> ops;
      ops.reserve(part.size());
      for (const Operation* o : part) {
        ops.push_back(*o);
        ops.back().key = k;
      }
      std::uint64_t mbudget = opts.max_steps;
      const std::vector<Operation> shown = opts.minimize ? minimize(ops, mbudget) : ops;
      std::ostringstream r;
      r << "linearizability violation on key " << k << ": no order of its " << ops.size()
        << " operations (clear counted as an erase of this key) explains every result.\n";
      if (shown.size() != ops.size() || opts.minimize)
        r << "Minimised to " << shown.size() << " operation(s) that are already not linearizable:\n";
      r << format_table(shown, h.threads);
      res.report = r.str();
      return res;
    }
  }

  // The weak spec of range and len.
  if (res.weak_ops == 0) return res;
  std::unordered_map<std::uint64_t, KeyOps> keys;
  for (const Operation& o : h.ops) {
    if (!conc_is_point(o.kind)) continue;
    KeyOps& ko = keys[o.key];
    ko.ops.push_back(&o);
    std::uint64_t v;
    if (writes_value(o, &v)) ko.writers.push_back(&o);
  }
  for (auto& [k, ko] : keys) ko.ops.insert(ko.ops.end(), clears.begin(), clears.end());
  const KeyOps no_ops;
  auto ops_of = [&](std::uint64_t k) -> const KeyOps& {
    auto it = keys.find(k);
    return it == keys.end() ? no_ops : it->second;
  };
  auto fail = [&](const Operation& o, const std::string& what, const KeyOps* ko) {
    res.verdict = Verdict::Violation;
    std::ostringstream r;
    r << "weak-spec violation: " << what << "\n  in: thread " << o.thread << " [" << o.invoke << ".." << o.ret << "] "
      << describe(o) << "\n";
    if (ko) r << "Operations on that key, and the offending call:\n" << format_table(key_table_ops(*ko, o), h.threads);
    res.report = r.str();
    return res;
  };
  for (const Operation& o : h.ops) {
    if (!is_weak(o.kind)) continue;
    const std::uint64_t a = o.invoke, b = o.ret;
    if (o.kind == ConcOpKind::Len) {
      std::uint64_t lower = 0, upper = 0;
      for (const auto& [k, ko] : keys) {
        if (certainly_present(ko, a, b)) ++lower;
        if (possibly_present(ko, a, b)) ++upper;
      }
      if (o.len < lower || o.len > upper)
        return fail(o, "len " + std::to_string(o.len) + " is outside [" + std::to_string(lower) + ", " +
                           std::to_string(upper) + "] (keys present throughout, keys present at some moment)",
                    nullptr);
      continue;
    }
    std::set<std::uint64_t> seen;
    for (const auto& [k, v] : o.yielded) {
      if (!seen.insert(k).second) return fail(o, "key " + std::to_string(k) + " yielded twice", &ops_of(k));
      if (!possibly_held(ops_of(k), v, a, b))
        return fail(o,
                    "key " + std::to_string(k) + " yielded with " + format_value(v) +
                        ", which it did not hold at any moment during the range",
                    &ops_of(k));
    }
    if (o.ok) {
      for (const auto& [k, ko] : keys) {
        if (!seen.count(k) && certainly_present(ko, a, b))
          return fail(o, "key " + std::to_string(k) + " was present for the whole range but not yielded", &ko);
      }
    }
  }
  return res;
}

}  // namespace gomap_harness::lin
