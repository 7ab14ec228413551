// The BPE merge step on token ids.
//
// A word (one pre-token, as raw bytes) starts as one symbol per byte: the id
// of that byte's byte-level character. Then, exactly as Hugging Face's
// BPE::merge_word, the adjacent pair with the lowest merge rank is merged
// (the leftmost one among equal ranks) until no adjacent pair has a merge.
// Symbols live in an array linked as a list, candidate merges in a min-heap
// keyed by (rank, position); stale candidates are skipped when popped, so a
// word of n bytes costs O(n log n).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tc::tokenizer {

// Open-addressing hash map from a pair of token ids to (rank, merged id).
// std::unordered_map costs a node allocation per merge and a pointer chase
// per probe; the merge loop probes this table several times per byte.
class MergeTable {
 public:
  struct Merge {
    uint32_t rank;
    int32_t merged_id;
  };

  static uint64_t key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  // Sizes the table for `count` merges (call before insert).
  void reserve(size_t count);
  // Inserts or replaces the merge of (left, right).
  void insert(int32_t left, int32_t right, Merge merge);
  // nullptr when the pair has no merge.
  const Merge* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t k = key(left, right);
    size_t index = hash(k) & mask_;
    while (true) {
      const Slot& slot = slots_[index];
      if (slot.key == k) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
      index = (index + 1) & mask_;
    }
  }
  size_t size() const { return size_; }

 private:
  // Ids are non-negative int32, so no real key has the top bit set.
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  static size_t hash(uint64_t k) {
    k ^= k >> 29;
    k *= 0xBF58476D1CE4E5B9ull;
    k ^= k >> 32;
    return static_cast<size_t>(k);
  }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Scratch memory for merge_word, reused across words (one per thread).
struct BpeWorkspace {
  struct Symbol {
    int32_t id;    // -1 once merged into its left neighbour
    int32_t prev;  // index of the previous live symbol, -1 at the start
    int32_t next;  // index of the next live symbol, -1 at the end
  };
  struct Candidate {
    uint32_t rank;
    int32_t left;  // index of the left symbol
    int32_t left_id;
    int32_t right_id;
    int32_t merged_id;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

struct BpeConfig {
  // Id of each byte's byte-level character; -1 where the vocabulary lacks it.
  std::array<int32_t, 256> byte_ids{};
  // model.unk_token's id, used for bytes without an id (-1: such bytes are
  // dropped, as Hugging Face does when a BPE has no unk_token).
  int32_t unk_id = -1;
  bool fuse_unk = false;
};

// Appends the ids of one word (its raw bytes) to `out`.
void merge_word(std::string_view word, const BpeConfig& config, const MergeTable& merges,
                BpeWorkspace& workspace, std::vector<int32_t>& out);

}  // namespace tc::tokenizer
