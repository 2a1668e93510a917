#!/usr/bin/env bash
# After a round of GPU changes, in one device call (GpuTestRunner bundle): every CUDA test of the DSL, kernel and runtime
# projects (incl. the golden model tests), then the decode profile of tools/gpu/h200-profile.sh.
set -u
out=${OUT:-/tmp/h200-check}; mkdir -p "$out"
# Test sources find tests/fixtures by their build path: link the paths the bundle may have been built in to this copy.
mkdir -p /work && ln -sfn "$PWD" /work/main && ln -sfn "$PWD" /tmp/ks-head
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
start=$SECONDS
timeout ${TEST_LIMIT:-240} bash .gpu/run.sh --filter "${TEST_FILTER:-cuda}" KernelSharp.Dsl.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/gpu-tests.log" 2>&1
echo "tests rc=$? (t=$((SECONDS - start)) s)"; grep -E '^(FAILED|passed )' "$out/gpu-tests.log" | tail -25
grep -E "^FAIL" -A6 "$out/gpu-tests.log" | head -60
OUT="$out" bash tools/gpu/h200-profile.sh
