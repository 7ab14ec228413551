#include "tokenizer/token_table.h"

#include <algorithm>
#include <bit>

namespace tc::tokenizer {

void TokenTable::reserve(size_t tokens, size_t bytes) {
  bytes_.reserve(bytes);
  entries_.reserve(tokens);
  const size_t capacity = std::bit_ceil(std::max<size_t>(16, tokens * 2));
  if (capacity > slots_.size()) rehash(capacity);
}

void TokenTable::rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.entry == kEmpty) continue;
    size_t index = slot.hash & mask_;
    while (slots_[index].entry != kEmpty) index = (index + 1) & mask_;
    slots_[index] = slot;
  }
}

void TokenTable::assign(std::string_view token, int32_t id) {
  // At most half full keeps probe runs short.
  if ((entries_.size() + 1) * 2 > slots_.size()) rehash(std::max<size_t>(16, slots_.size() * 2));
  const uint32_t h = hash(token);
  size_t index = h & mask_;
  for (;; index = (index + 1) & mask_) {
    Slot& slot = slots_[index];
    if (slot.entry == kEmpty) break;
    if (slot.hash == h && text(slot.entry) == token) {
      entries_[slot.entry].id = id;
      return;
    }
  }
  slots_[index] = {h, static_cast<uint32_t>(entries_.size())};
  entries_.push_back({bytes_.size(), static_cast<uint32_t>(token.size()), id});
  bytes_.append(token);
}

}  // namespace tc::tokenizer
