// How a KV cache stores one layer, shared by the cache that writes it
// (model/kv_cache.h) and the attention kernels that read it
// (kernels/cpu/attention.h): the formats, the tagged view of a layer (a
// format tag, the stored keys and values in that format, and their scales)
// and the tile layout. The cache hands out views and the kernels switch
// over the format, so a new storage format is a new enum value, a new cache
// and a new kernel, and nothing in between changes.
#pragma once

#include <cstdint>
#include <string_view>

namespace tc::kv {

// How a KV cache stores keys and values.
//  - kF32: fp32, exactly what the layer computed.
//  - kF16: IEEE half bits (uint16_t), saturated at ±65504; half the bytes
//    decode reads per step.
//  - kI8: symmetric int8 (int8_t) with one fp16 scale per position per kv
//    head for its key and one for its value (scale = max |x| / 127 over the
//    head's head_dim values): about a quarter of fp32's bytes. Attention
//    reads the integers and scales as stored; nothing dequantizes the
//    whole cache.
enum class KvFormat : uint8_t { kF32, kF16, kI8 };

// "f32", "f16", "int8": the command-line and result-file spelling.
std::string_view kv_format_name(KvFormat format);
// The format a name spells; anything else fails, naming it and the formats.
KvFormat parse_kv_format(std::string_view name);

struct KvView {
  KvFormat format = KvFormat::kF32;
  // KV tiles (below: kv_key_index, kv_value_index) holding at least
  // the positions attention reads; elements of `format` (float for kF32,
  // uint16_t half bits for kF16, int8_t for kI8).
  const void* tiles = nullptr;
  // kI8: the fp16 scales of the same positions (below: kv_key_scale_index,
  // kv_value_scale_index); null for kF32 and kF16.
  const uint16_t* scales = nullptr;
};

// How the KV cache lays out one layer ("KV tiles"): positions in blocks of
// kKvTileTokens; within a block, for each kv head in turn, its key tile and
// then its value tile.
//  - A key tile is dimension-major: row d holds dimension d of the block's
//    32 positions (a 64-byte cache line in fp16). Decode scores 16 keys with
//    one FMA per query head and dimension and reduces nothing; keys as rows
//    needed a 16-way reduction per 16 scores (measured: attention.cc).
//  - A value tile is position-major: row j holds position j's head_dim values.
// So decode, which reads a block's kv heads in order, reads a layer as one
// sequential stream, which its prefetch runs a fixed distance ahead in
// (attention.cc). With the values as rows beside the key tiles (two
// streams), 24 layers at 2048 keys on two threads (attention_bench
// DecodeLayers, four interleaved pairs) took 1116-1368 us in fp32 and
// 648-669 in fp16; as KV tiles 875-1120 and 581-600.
constexpr int64_t kKvTileTokens = 32;

// Elements of one kv head's key tile (or value tile).
constexpr int64_t kv_tile_size(int64_t head_dim) { return kKvTileTokens * head_dim; }

// Where the key tile of kv head `head` for the block holding `position`
// starts; the head's value tile follows it.
constexpr int64_t kv_tile_start(int64_t position, int64_t head, int64_t kv_heads,
                                int64_t head_dim) {
  return (position / kKvTileTokens * kv_heads + head) * 2 * kv_tile_size(head_dim);
}

// Where dimension d of the key (value) of kv head `head` at `position` sits.
constexpr int64_t kv_key_index(int64_t position, int64_t head, int64_t d, int64_t kv_heads,
                               int64_t head_dim) {
  return kv_tile_start(position, head, kv_heads, head_dim) + d * kKvTileTokens +
         position % kKvTileTokens;
}
constexpr int64_t kv_value_index(int64_t position, int64_t head, int64_t d, int64_t kv_heads,
                                 int64_t head_dim) {
  return kv_tile_start(position, head, kv_heads, head_dim) + kv_tile_size(head_dim) +
         position % kKvTileTokens * head_dim + d;
}

// Elements of KV tiles holding `positions` positions (whole blocks).
constexpr int64_t kv_tiles_size(int64_t positions, int64_t kv_heads, int64_t head_dim) {
  return (positions + kKvTileTokens - 1) / kKvTileTokens * kv_heads * 2 * kv_tile_size(head_dim);
}

// The scales of an int8 layer, in the tiles' order: per block, for each kv
// head, the 32 positions' key scales, then their value scales (so a block's
// 32 key scales are two vectors of 16, read beside the key tile).
constexpr int64_t kv_key_scale_index(int64_t position, int64_t head, int64_t kv_heads) {
  return (position / kKvTileTokens * kv_heads + head) * 2 * kKvTileTokens +
         position % kKvTileTokens;
}
constexpr int64_t kv_value_scale_index(int64_t position, int64_t head, int64_t kv_heads) {
  return kv_key_scale_index(position, head, kv_heads) + kKvTileTokens;
}
// Scales of an int8 layer holding `positions` positions (whole blocks).
constexpr int64_t kv_scales_size(int64_t positions, int64_t kv_heads) {
  return (positions + kKvTileTokens - 1) / kKvTileTokens * kv_heads * 2 * kKvTileTokens;
}

}  // namespace tc::kv
