// The token strings of a vocabulary and the string -> id index over them.
//
// Loading a 151k-token vocabulary with 151k merges does ~600k string lookups.
// A std::unordered_map<std::string, int> costs two allocations per token and
// a pointer chase per probe, and was the largest part of loading; here all
// strings live in one buffer and the index is an open-addressing table of
// (hash, entry) pairs, so a probe touches one slot and one string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tc::tokenizer {

class TokenTable {
 public:
  void reserve(size_t tokens, size_t bytes);

  // Maps `token` to `id` (replacing an earlier id of the same string).
  void assign(std::string_view token, int32_t id);

  std::optional<int32_t> find(std::string_view token) const {
    const Slot* slot = probe(token);
    if (slot == nullptr) return std::nullopt;
    return entries_[slot->entry].id;
  }

  // The stored copy of `token` (valid until the next assign), if present.
  std::optional<std::string_view> view(std::string_view token) const {
    const Slot* slot = probe(token);
    if (slot == nullptr) return std::nullopt;
    return text(slot->entry);
  }

  // Number of distinct strings.
  size_t size() const { return entries_.size(); }

  // Calls f(text, id) for every distinct string.
  template <typename F>
  void for_each(F&& f) const {
    for (uint32_t e = 0; e < entries_.size(); ++e) f(text(e), entries_[e].id);
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Entry {
    uint64_t offset;
    uint32_t length;
    int32_t id;
  };
  struct Slot {
    uint32_t hash = 0;
    uint32_t entry = kEmpty;
  };

  static uint32_t hash(std::string_view text) {
    // FNV-1a with a final avalanche: tokens are short, so a simple byte loop
    // beats a block hash's setup.
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char c : text) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    h ^= h >> 32;
    return static_cast<uint32_t>(h);
  }
  std::string_view text(uint32_t entry) const {
    return std::string_view(bytes_).substr(entries_[entry].offset, entries_[entry].length);
  }
  const Slot* probe(std::string_view token) const {
    if (slots_.empty()) return nullptr;
    const uint32_t h = hash(token);
    for (size_t index = h & mask_;; index = (index + 1) & mask_) {
      const Slot& slot = slots_[index];
      if (slot.entry == kEmpty) return nullptr;
      if (slot.hash == h && text(slot.entry) == token) return &slot;
    }
  }
  void rehash(size_t capacity);

  std::string bytes_;  // every string, back to back
  std::vector<Entry> entries_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace tc::tokenizer
