// Tokenizer speed: encode throughput on kdoc test.txt (cold and warm word
// cache, one and two threads), decode throughput, and load time of the
// fixture tokenizer and of a synthetic one at Qwen2.5 scale (151k tokens,
// 151k merges).
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "tokenizer/synthetic_tokenizer.h"
#include "tokenizer/tokenizer.h"

namespace {

using tc::tokenizer::Tokenizer;

std::string shared_dir() {
  if (const char* env = std::getenv("TC_SHARED_DIR")) return env;
  return TC_SHARED_DIR;
}

std::string fixture_path() { return shared_dir() + "/fixtures/tokenizer/tokenizer.json"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const std::string& test_text() {
  static const std::string text = read_file(shared_dir() + "/data/kdoc/test.txt");
  return text;
}

// The synthetic tokenizer.json at Qwen2.5's size (151643 learned tokens),
// written once per process.
const std::string& synthetic_path() {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() / "tc_tokenizer_bench";
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "tokenizer.json").string();
    std::ofstream(file, std::ios::binary)
        << tc::tokenizer::synthetic_tokenizer_json_text(tc::tokenizer::SyntheticTokenizerOptions{});
    return file;
  }();
  return path;
}

// Encode with the word cache already holding every word of the text: the
// steady state of a long-running process.
void BM_EncodeTestTxtWarm(benchmark::State& state) {
  static const Tokenizer tokenizer = Tokenizer::from_file(fixture_path());
  const std::string& text = test_text();
  benchmark::DoNotOptimize(tokenizer.encode(text));  // warm the cache
  size_t ids = 0;
  for (auto _ : state) {
    const auto encoded = tokenizer.encode(text);
    ids = encoded.size();
    benchmark::DoNotOptimize(encoded.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["ids"] = static_cast<double>(ids);
}
BENCHMARK(BM_EncodeTestTxtWarm)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EncodeTestTxtWarm)->Unit(benchmark::kMillisecond)->UseRealTime()->Threads(2);

// Encode with an empty cache each time: every distinct word is merged once.
void BM_EncodeTestTxtCold(benchmark::State& state) {
  const std::string& text = test_text();
  for (auto _ : state) {
    state.PauseTiming();
    auto tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_file(fixture_path()));
    state.ResumeTiming();
    benchmark::DoNotOptimize(tokenizer->encode(text).data());
    state.PauseTiming();
    tokenizer.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeTestTxtCold)->Unit(benchmark::kMillisecond);

void BM_DecodeTestTxt(benchmark::State& state) {
  static const Tokenizer tokenizer = Tokenizer::from_file(fixture_path());
  const std::vector<int32_t> ids = tokenizer.encode(test_text());
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer.decode(ids).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * test_text().size()));
  state.counters["ids/s"] = benchmark::Counter(static_cast<double>(state.iterations() * ids.size()),
                                               benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeTestTxt)->Unit(benchmark::kMillisecond);

void BM_LoadFixtureTokenizer(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Tokenizer::from_file(fixture_path()).vocab_size());
}
BENCHMARK(BM_LoadFixtureTokenizer)->Unit(benchmark::kMillisecond);

void BM_LoadSynthetic151kTokenizer(benchmark::State& state) {
  const std::string& path = synthetic_path();
  size_t vocab = 0;
  for (auto _ : state) {
    vocab = Tokenizer::from_file(path).vocab_size();
    benchmark::DoNotOptimize(vocab);
  }
  state.counters["vocab"] = static_cast<double>(vocab);
  state.counters["file_MB"] = static_cast<double>(std::filesystem::file_size(path)) / 1e6;
}
BENCHMARK(BM_LoadSynthetic151kTokenizer)->Unit(benchmark::kMillisecond);

// Encode throughput at 151k scale (the synthetic vocabulary's merges are not
// English, so compare its speed, not its ids, with the fixture's).
void BM_EncodeTestTxtSynthetic151kWarm(benchmark::State& state) {
  static const Tokenizer tokenizer = Tokenizer::from_file(synthetic_path());
  const std::string& text = test_text();
  benchmark::DoNotOptimize(tokenizer.encode(text));
  for (auto _ : state) benchmark::DoNotOptimize(tokenizer.encode(text).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EncodeTestTxtSynthetic151kWarm)->Unit(benchmark::kMillisecond);

}  // namespace
