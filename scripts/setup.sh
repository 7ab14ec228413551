#!/usr/bin/env bash
# Installs every Debian package that building, testing and fuzzing tinycompress
# needs. Idempotent: only what is missing is installed. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake git pkg-config   # toolchain
  clang libclang-rt-14-dev              # fuzz targets (libFuzzer) and sanitizers
  libgtest-dev libgmock-dev             # unit tests
  libbenchmark-dev                      # micro-benchmarks
  libcli11-dev                          # command line parsing
  nlohmann-json3-dev                    # JSON (safetensors headers, configs, results)
  libfmt-dev                            # string formatting (libstdc++ 12 has no std::format)
  libutf8proc-dev                       # Unicode NFC for the tokenizer
  libpcre2-dev                          # the tokenizer's pre-split regex (Unicode properties)
  libtomlplusplus-dev                   # run_config.toml
  xz-utils                              # the compressed train split
  liblzma-dev                           # reading train.txt.xz in memory
  libssl-dev                            # SHA-256 (libcrypto) of data files and text slices
  qemu-user                             # the tests on emulated CPUs without AVX-512
  jq                                    # reading JSON in the test scripts
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
