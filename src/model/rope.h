// The rotary-embedding angles of a pass's positions: computed once per
// forward pass and applied to q and k of every layer (Backend::rope).
#pragma once

#include <cstdint>
#include <vector>

namespace tc::model {

// cos and sin of position p · theta^(-2i/head_dim), [n, head_dim / 2].
struct RopeAngles {
  std::vector<float> cos, sin;
};

void make_rope_angles(const int64_t* positions, int64_t n, int64_t head_dim, double theta,
                      RopeAngles& angles);

}  // namespace tc::model
