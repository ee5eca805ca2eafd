// Prints corpus/make_seeds.py's SAME_SIZE_RECIPES: for each target, a map
// seed and key codes that drive a map made with hint 26 (B = 2) into a
// same-size growth in about 50 writes. Same-size growth starts when a new key
// finds as many overflow buckets as buckets (Go's tooManyOverflowBuckets), so
// the keys are chosen by bucket under that seed: 9 keys of bucket a (one
// overflow bucket) of which 7 are erased again, the same in bucket b, then 17
// keys of bucket c (two more), then one more key. Each recipe is checked by
// running it, with and without two NaN keys, on the engine itself.
//
//   g++ -std=c++20 -O2 -Iengine/include -Iengine/tests -Ifuzz/include corpus/tools/same_size_recipe.cpp -o /tmp/recipe
//   /tmp/recipe [TARGET...]    # paste its output into SAME_SIZE_RECIPES
#include "gomap_harness/targets.hpp"
#include <gomap/map.hpp>
#include "support/map_test_access.hpp"  // engine/tests/support: the tests' backdoor
#include <iostream>
#include <set>
#include <vector>
using namespace gomap_harness;
std::vector<int> key_codes(int n){std::vector<int> o; int c=2; while((int)o.size()<n){ if(c%32!=0&&c%32!=1) o.push_back(c); ++c;} return o;}
template<class T> bool recipe(unsigned domain){
  using M = gomap::Map<typename T::Key, typename T::Value, typename T::Hash>;
  auto codes = key_codes(3000);
  for (int seed=0; seed<256; ++seed){
    M probe(26, gomap::Seed{(std::uint64_t)seed}, T::make_hash(domain));
    std::vector<int> by_bucket[4]; std::set<typename T::OracleKey> seen;
    for (int c : codes) { auto k = T::key(c, domain); if (T::is_nan(k) || !seen.insert(T::oracle_key(k)).second) continue;
      by_bucket[gomap::MapTestAccess::hash_of(probe, k) & 3].push_back(c); }
    if (by_bucket[0].size()<9||by_bucket[1].size()<10||by_bucket[2].size()<17) continue;
    for (int nan=0; nan<2; ++nan) {
      M m(26, gomap::Seed{(std::uint64_t)seed}, T::make_hash(domain));
      auto set=[&](int c){ m.insert_or_assign(T::key(c,domain), T::value(1)); };
      for(int i=0;i<9;++i) set(by_bucket[0][i]); for(int i=0;i<7;++i) m.erase(T::key(by_bucket[0][i],domain));
      for(int i=0;i<9;++i) set(by_bucket[1][i]); for(int i=0;i<7;++i) m.erase(T::key(by_bucket[1][i],domain));
      if (nan) { set(0); set(32); }
      for(int i=0;i<17;++i) set(by_bucket[2][i]);
      auto s0=m.stats(); set(by_bucket[1][9]); auto s1=m.stats();
      if (!(!s0.growing && s1.growing && s1.same_size_grow)) { std::cerr<<T::name<<" seed "<<seed<<" nan "<<nan<<" no trigger (noverflow "<<s0.noverflow<<")\n"; goto next; }
    }
    std::cout << "    \"" << T::name << "\": (" << domain << ", " << seed << ", [";
    for(int i=0;i<9;++i) std::cout<<by_bucket[0][i]<<(i<8?", ":""); std::cout<<"], [";
    for(int i=0;i<9;++i) std::cout<<by_bucket[1][i]<<(i<8?", ":""); std::cout<<"], [";
    for(int i=0;i<17;++i) std::cout<<by_bucket[2][i]<<(i<16?", ":""); std::cout<<"], "<<by_bucket[1][9]<<"),\n";
    return true;
    next:;
  }
  return false;
}
// Every registered target (targets.hpp), or those named on the command line;
// the first key domain that has a recipe.
int main(int argc, char** argv){
  for_each_target([&]<class T>(){
    bool wanted = argc < 2;
    for (int i = 1; i < argc; ++i) wanted = wanted || T::name == argv[i];
    if (!wanted) return;
    for (unsigned d = 0; d < T::domains; ++d) if (recipe<T>(d)) return;
    std::cout<<"# "<<T::name<<" none\n";
  });
}
