#include "tokenizer/bpe.h"

#include <algorithm>
#include <bit>

namespace tc::tokenizer {

void MergeTable::reserve(size_t count) {
  // At most half full keeps linear-probe chains short.
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, count * 2));
  if (capacity <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  size_ = 0;
  for (const Slot& slot : old) {
    if (slot.key != kEmpty) {
      insert(static_cast<int32_t>(slot.key >> 32), static_cast<int32_t>(slot.key & 0xFFFFFFFFu),
             slot.merge);
    }
  }
}

void MergeTable::grow() { reserve(std::max<size_t>(16, slots_.size())); }

void MergeTable::insert(int32_t left, int32_t right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t k = key(left, right);
  size_t index = hash(k) & mask_;
  while (slots_[index].key != kEmpty && slots_[index].key != k) index = (index + 1) & mask_;
  if (slots_[index].key == kEmpty) ++size_;
  slots_[index].key = k;
  slots_[index].merge = merge;
}

namespace {

// std::push_heap builds a max-heap; "greater" puts the lowest rank, then the
// leftmost position, on top.
bool later(const BpeWorkspace::Candidate& a, const BpeWorkspace::Candidate& b) {
  return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
}

void push_candidate(const MergeTable& merges, BpeWorkspace& ws, int32_t left) {
  const auto& symbols = ws.symbols;
  const int32_t right = symbols[left].next;
  if (right < 0) return;
  const MergeTable::Merge* merge = merges.find(symbols[left].id, symbols[right].id);
  if (merge == nullptr) return;
  ws.heap.push_back({merge->rank, left, symbols[left].id, symbols[right].id, merge->merged_id});
  std::push_heap(ws.heap.begin(), ws.heap.end(), later);
}

}  // namespace

void merge_word(std::string_view word, const BpeConfig& config, const MergeTable& merges,
                BpeWorkspace& ws, std::vector<int32_t>& out) {
  auto& symbols = ws.symbols;
  symbols.clear();
  bool previous_unk = false;
  for (const char c : word) {
    int32_t id = config.byte_ids[static_cast<uint8_t>(c)];
    if (id < 0) {
      if (config.unk_id < 0) continue;  // no unk_token: the byte is dropped
      if (config.fuse_unk && previous_unk) continue;
      id = config.unk_id;
      previous_unk = true;
    } else {
      previous_unk = false;
    }
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  if (symbols.size() == 1) {
    out.push_back(symbols[0].id);
    return;
  }

  ws.heap.clear();
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) {
    push_candidate(merges, ws, i);
  }
  while (!ws.heap.empty()) {
    std::pop_heap(ws.heap.begin(), ws.heap.end(), later);
    const BpeWorkspace::Candidate top = ws.heap.back();
    ws.heap.pop_back();
    // A candidate is stale once either symbol took part in another merge:
    // the left one then has a new id (or is gone), or its right neighbour
    // changed id. Merged ids always differ from their parts (longer string).
    auto& left = symbols[top.left];
    if (left.id != top.left_id || left.next < 0) continue;
    auto& right = symbols[left.next];
    if (right.id != top.right_id) continue;

    left.id = top.merged_id;
    right.id = -1;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.left;
    if (left.prev >= 0) push_candidate(merges, ws, left.prev);
    push_candidate(merges, ws, top.left);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace tc::tokenizer
