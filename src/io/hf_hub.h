// Resolving --model arguments: a local folder, or a Hugging Face id found in
// the local Hugging Face cache (nothing is ever downloaded).
#pragma once

#include <string>

namespace tc::io {

// The hub cache folder, as huggingface_hub finds it: $HF_HUB_CACHE (or the
// older $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::string hf_hub_cache_dir();

// Returns a model folder for `model`: an existing folder as is; otherwise an
// id like "Qwen/Qwen2.5-0.5B" resolved through the cache
// (models--Qwen--Qwen2.5-0.5B/refs/main -> snapshots/<rev>/). Throws a
// tc::Error that says where it looked when neither exists.
std::string resolve_model_dir(const std::string& model);

}  // namespace tc::io
