// The pass layer by layer (embed, layer_forward, head) is the forward pass,
// and layer_input_of stops a layer exactly where a Linear group's input is
// ready: what GPTQ's calibration runs on.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "golden_reader.h"
#include "model/loader.h"
#include "test_paths.h"

namespace tc {
namespace {

const std::vector<int32_t> kIds = {438, 470, 304, 263, 470, 872, 1168, 13, 220, 411, 98, 1200};

TEST(LayerForward, LayerByLayerWithoutCacheEqualsForward) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-m"));
  auto cache = model.new_cache();
  const std::vector<float> forward = model.forward(kIds, *cache, model::LogitsFor::kAllTokens);

  model::Activations a;
  model.embed(kIds, 0, 1, a);
  for (int64_t l = 0; l < model.config().num_layers; ++l) model.layer_forward(l, a, nullptr);
  const std::vector<float> layered = model.head(a, 0);
  // The same kernels on the same values: the cache hands prefill attention
  // the keys and values it was given, so nothing may differ.
  ASSERT_EQ(layered.size(), forward.size());
  EXPECT_EQ(test::max_abs_diff(layered, forward), 0.0);
}

TEST(LayerForward, LayerInputOfStopsAtEachGroupsInput) {
  model::Qwen2Model model = model::load_qwen2(test::fixture_model("tiny-qwen2-s"));
  const int64_t hidden = model.config().hidden_size;
  const auto n = static_cast<int64_t>(kIds.size());
  model::Activations full;
  model.embed(kIds, 0, 1, full);
  const int64_t layer = 1;
  model.layer_forward(0, full, nullptr);
  const std::vector<float> input(full.x.begin(), full.x.begin() + n * hidden);
  model.layer_forward(layer, full, nullptr);

  struct Case {
    model::LinearKind kind;
    const std::vector<float>& after_full_layer;  // the buffer that holds that input at the end
    int64_t cols;
  };
  const Case cases[] = {
      {model::LinearKind::kO, full.attention, model.config().q_dim()},
      {model::LinearKind::kGateUp, full.normed, hidden},
      {model::LinearKind::kDown, full.gate, model.config().intermediate_size},
  };
  for (const Case& c : cases) {
    model::Activations partial;
    model.embed(kIds, 0, 1, partial);
    std::copy(input.begin(), input.end(), partial.x.begin());
    const float* got = model.layer_input_of(layer, c.kind, partial);
    const std::vector<float> got_rows(got, got + n * c.cols);
    const std::vector<float> want(c.after_full_layer.begin(),
                                  c.after_full_layer.begin() + n * c.cols);
    EXPECT_EQ(test::max_abs_diff(got_rows, want), 0.0) << static_cast<int>(c.kind);
  }

  // q/k/v's input is the attention norm of the layer's input: the first
  // thing the layer computes, so x is still the input.
  model::Activations partial;
  model.embed(kIds, 0, 1, partial);
  std::copy(input.begin(), input.end(), partial.x.begin());
  const float* normed = model.layer_input_of(layer, model::LinearKind::kQkv, partial);
  std::vector<float> want(static_cast<size_t>(n * hidden));
  const model::LayerWeights& weights = model.weights().layers[layer];
  model.backend().rms_norm(input.data(), weights.input_norm.data(), n, hidden,
                           model.config().rms_norm_eps, want.data());
  EXPECT_EQ(test::max_abs_diff(std::vector<float>(normed, normed + n * hidden), want), 0.0);
  EXPECT_TRUE(std::equal(input.begin(), input.end(), partial.x.begin()));
}

}  // namespace
}  // namespace tc
