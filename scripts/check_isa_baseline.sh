#!/usr/bin/env bash
# Fails when a binary holds an instruction above the x86-64 baseline (SSE2)
# outside the code that runs only after CPU-feature dispatch.
#
# The convention it checks (docs/ARCHITECTURE.md, "Instruction sets"): code
# built for a wider instruction set lives in a namespace named after its level,
# `avx2` or `avx512` (for example tc::kernels::avx512), and is compiled inside a
# TC_ISA_*_BEGIN / TC_ISA_END region (src/core/isa_region.h). Everything else,
# static initializers and inline code from shared headers included, must run on
# any x86-64 CPU.
#
# "Above the baseline" means VEX- or EVEX-encoded: AVX, AVX2, FMA, F16C and
# AVX-512 (the v-prefixed mnemonics), AVX-512 mask instructions (k...), the
# VEX-encoded BMI1/BMI2 instructions and AMX.
#
# Two rules:
#  1. a function outside those namespaces holds no wide instruction;
#  2. no static or thread-local initializer calls into those namespaces (a
#     constructor of an object defined in a region runs at start-up, before
#     any CPU check, though it is itself in the namespace).
#
# Usage: check_isa_baseline.sh BINARY...
# Prints each offending function with its first wide instruction; exit 1 if
# any, 2 on a usage or tool error.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 BINARY..." >&2
  exit 2
fi
for tool in objdump c++filt; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (binutils)" >&2; exit 2; }
done

# Whether a (mangled) function is ours in the avx2 or avx512 namespace. Its
# own path counts: template arguments and parameter lists are dropped, so a
# std:: template instantiated over one of our types, or a function taking one
# as a parameter, is not taken for ours.
in_isa_namespace() {
  local path
  path=$(printf '%s\n' "$1" | c++filt)
  while [[ $path =~ \<[^\<\>]*\> ]]; do path=${path//"${BASH_REMATCH[0]}"/}; done
  while [[ $path =~ \([^\(\)]*\) ]]; do path=${path//"${BASH_REMATCH[0]}"/}; done
  [[ $path =~ (^|[[:space:]:])(avx2|avx512):: ]]
}

status=0
for binary in "$@"; do
  if [ ! -f "$binary" ]; then
    echo "$0: $binary: no such file" >&2
    exit 2
  fi
  # One line per function that holds a wide instruction:
  # "<count>\t<first wide instruction>\t<mangled name>", and one per call or
  # jump made by an initializer: "init\t<initializer>\t<mangled target>".
  wide=$(objdump -d --no-show-raw-insn "$binary" | awk '
    function flush() {
      if (fn != "" && count > 0) printf "%d\t%s\t%s\n", count, first, fn
      count = 0; first = ""
    }
    /^[0-9a-f]+ <.*>:$/ {
      flush()
      fn = $0; sub(/^[0-9a-f]+ </, "", fn); sub(/>:$/, "", fn)
      next
    }
    /^ *[0-9a-f]+:\t/ {
      text = $0; sub(/^ *[0-9a-f]+:\t/, "", text)
      gsub(/\{[a-z0-9]+\} */, "", text)  # pseudo-prefixes such as {vex}
      n = split(text, word, /[ \t]+/)
      i = 1
      while (i < n && word[i] ~ /^(lock|rep|repz|repnz|repe|repne|notrack|bnd|data16|addr32|rex(\.[A-Z]+)?|[c-gs]s)$/) i++
      m = word[i]
      if (fn ~ /^(_GLOBAL__sub_I_|_GLOBAL__I_|_ZTH|__tls_init)|__static_initialization_and_destruction/ &&
          m ~ /^(call|jmp)/ && match(text, /<[^>]*>$/)) {
        target = substr(text, RSTART + 1, RLENGTH - 2); sub(/[+-]0x[0-9a-f]+$/, "", target)
        printf "init\t%s\t%s\n", fn, target
      }
      if ((m ~ /^v/ && m !~ /^ver[rw]$/) || m ~ /^k[a-z]/ ||
          m ~ /^(andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx)$/ ||
          m ~ /^(ldtilecfg|sttilecfg|tilerelease|tilezero|tileload|tilestore|tdp)/) {
        if (count == 0) first = text
        count++
      }
    }
    END { flush() }')

  allowed_functions=0
  allowed_instructions=0
  offenders=0
  while IFS=$'\t' read -r count first mangled; do
    [ -n "$mangled" ] || continue
    if [ "$count" = init ]; then
      if in_isa_namespace "$mangled"; then
        offenders=$((offenders + 1))
        echo "$binary: initializer $first calls $(printf '%s\n' "$mangled" | c++filt), which may use instructions above SSE2 before any CPU check"
      fi
      continue
    fi
    name=$(printf '%s\n' "$mangled" | c++filt)
    if in_isa_namespace "$mangled"; then
      allowed_functions=$((allowed_functions + 1))
      allowed_instructions=$((allowed_instructions + count))
    else
      offenders=$((offenders + 1))
      echo "$binary: $name: $count wide instruction(s), first: $first"
    fi
  done <<<"$wide"

  if [ "$offenders" -gt 0 ]; then
    echo "$binary: FAIL: $offenders place(s) where instructions above SSE2 can run before a CPU check"
    status=1
  elif [ "$allowed_functions" -eq 0 ]; then
    # The build always compiles the AVX2 and AVX-512 kernels; finding none
    # means this check no longer sees them (a changed objdump format, say).
    echo "$binary: FAIL: no wide instruction found at all; the check cannot see the kernels"
    status=1
  else
    echo "$binary: OK: $allowed_instructions wide instructions, all in $allowed_functions functions of the avx2/avx512 namespaces"
  fi
done
exit "$status"
