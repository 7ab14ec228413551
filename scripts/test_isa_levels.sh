#!/usr/bin/env bash
# Runs the kernel-vs-reference and golden tests at one instruction-set level,
# so every level is tested whatever CPU runs the suite (ctest calls this; see
# tests/CMakeLists.txt).
#
#   test_isa_levels.sh forced LEVEL BUILD_DIR [--quick]
#       On this CPU, with TC_ISA=LEVEL (scalar, avx2, avx512): the kernel and
#       golden tests, the tiny-qwen2-s perplexity golden on the whole test
#       split included (--quick leaves it out: the sanitizer build, where it
#       takes minutes at the scalar level). Exit 77 (ctest: skipped) when this
#       CPU lacks LEVEL.
#
#   test_isa_levels.sh emulated QEMU_CPU LEVEL BUILD_DIR
#       Under qemu-user emulating QEMU_CPU (EPYC-Rome: AVX2, FMA, F16C and no
#       AVX-512; qemu64: the x86-64 baseline), with nothing forced: the binary
#       must start (`--help`), pick LEVEL by itself (`info --json`'s
#       cpu.kernel_isa starts with it), pass the kernel and golden tests (the
#       two whole-corpus perplexity tests and the window-path ones left out:
#       emulation makes them take many minutes) and give the perplexity of tiny-qwen2-s on the first
#       100 lines of the test split that the native run gives (1e-4
#       relative; the kernels' summation orders differ by level). qemu cannot
#       emulate AVX-512: those paths are tested natively only.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests that compare a kernel with its reference twin, and the goldens
# (logits, hidden states, greedy ids, tokenizer, perplexity).
KERNEL_AND_GOLDEN_TESTS='ModelGolden.*:TokenizerGolden.*:Perplexity.*:Dot.*:Matmul.*:RmsNorm.*'
KERNEL_AND_GOLDEN_TESTS+=':SiluMul.*:Attention.*:AttentionFast.*:FastExp.*:Q8Dynamic*:GemvInt.*'
KERNEL_AND_GOLDEN_TESTS+=':GemvAvx512.*:GemvVnni.*:SplitX.*:QuantKernels.*:KvCacheDecode.*'
KERNEL_AND_GOLDEN_TESTS+=':UntiedLmHead.*:RowWalk.*'
WHOLE_CORPUS_TESTS='Perplexity.SmallModelMatchesTransformersOnTestSplit:Perplexity.BatchedWindowsMatchOneAtATime'
# How perplexity runs its windows (batched, or through a KV cache), not
# kernels: minutes at the scalar level, and more than the whole budget
# under emulation. The kernels they use are tested above.
WINDOW_PATH_TESTS='Perplexity.BatchedWindowsMatchOneAtATime:Perplexity.ThroughTheKvCache'

usage() {
  echo "usage: $0 forced LEVEL BUILD_DIR | $0 emulated QEMU_CPU LEVEL BUILD_DIR" >&2
  exit 2
}

# The binaries' output, less qemu's warnings about CPU features its TCG
# does not model (they are harmless); the command's exit status is kept.
quiet_qemu() {
  local errors status=0
  errors=$(mktemp)
  "$@" 2>"$errors" || status=$?
  grep -v "TCG doesn't support requested feature" "$errors" >&2 || true
  rm -f "$errors"
  return "$status"
}

forced() {
  local level=$1 build=$2 quick=${3:-}
  if ! TC_ISA=$level "$build/src/apps/tinycompress" info --json >/dev/null 2>&1; then
    echo "this CPU lacks the $level level; its tests run where a CPU has it"
    exit 77
  fi
  local left_out=$WINDOW_PATH_TESTS
  [ "$quick" = --quick ] && left_out=$WHOLE_CORPUS_TESTS:$WINDOW_PATH_TESTS
  TC_ISA=$level "$build/tests/tc_tests" --gtest_filter="$KERNEL_AND_GOLDEN_TESTS-$left_out"
}

emulated() {
  local cpu=$1 level=$2 build=$3
  command -v qemu-x86_64 >/dev/null ||
    { echo "qemu-x86_64 not found: scripts/setup.sh installs qemu-user" >&2; exit 1; }
  local bin=$build/src/apps/tinycompress
  local qemu=(quiet_qemu qemu-x86_64 -cpu "$cpu")
  local scratch
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' RETURN

  echo "== $cpu: tinycompress --help"
  "${qemu[@]}" "$bin" --help >"$scratch/help.txt"
  grep -q "^Usage:" "$scratch/help.txt" || { echo "--help printed no usage" >&2; return 1; }

  echo "== $cpu: info --json (expects kernel_isa to start with $level)"
  "${qemu[@]}" "$bin" info --json >"$scratch/info.json"
  local isa
  isa=$(jq -r .cpu.kernel_isa "$scratch/info.json")
  echo "cpu.kernel_isa: $isa"
  [[ $isa == "$level" || $isa == "$level+"* ]] ||
    { echo "expected the $level level on $cpu, got $isa" >&2; return 1; }

  echo "== $cpu: kernel and golden tests"
  "${qemu[@]}" "$build/tests/tc_tests" --gtest_filter="$KERNEL_AND_GOLDEN_TESTS-$WHOLE_CORPUS_TESTS:$WINDOW_PATH_TESTS"

  echo "== $cpu: ppl on tiny-qwen2-s (first 100 lines of the test split)"
  head -n 100 data/kdoc/test.txt >"$scratch/slice.txt"
  local ppl_args=(ppl --model models/tiny-qwen2-s --text-file "$scratch/slice.txt" --threads 2 --json)
  "$bin" "${ppl_args[@]}" >"$scratch/native.json"
  "${qemu[@]}" "$bin" "${ppl_args[@]}" >"$scratch/emulated.json"
  jq -n --slurpfile native "$scratch/native.json" --slurpfile emulated "$scratch/emulated.json" \
    -r '"ppl native \($native[0].ppl), on the emulated CPU \($emulated[0].ppl)"'
  jq -n -e --slurpfile native "$scratch/native.json" --slurpfile emulated "$scratch/emulated.json" \
    '($emulated[0].ppl / $native[0].ppl - 1) | fabs < 1e-4' >/dev/null ||
    { echo "perplexity differs by more than 1e-4 relative" >&2; return 1; }
}

case "${1:-}" in
  forced) [ $# -eq 3 ] || [ $# -eq 4 ] || usage; forced "$2" "$3" "${4:-}" ;;
  emulated) [ $# -eq 4 ] || usage; emulated "$2" "$3" "$4" ;;
  *) usage ;;
esac
