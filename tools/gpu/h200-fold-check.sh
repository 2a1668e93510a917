#!/usr/bin/env bash
# Checks, in one device call, that folding the per-format kernel twins onto format-generic kernels (Kernels/Formats)
# changed nothing on the GPU but what was meant to change:
#   1. the CUDA tests of the folded kernels and the runtime's CUDA tests (golden logits, native weights, experts);
#   2. end-to-end decode on mid-5b, bf16 and FP8 checkpoints, with the CLI of the commit before the fold ("before")
#      and of this commit ("after") alternating on the same machine, same checkpoints, same autotune file per build.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
#        and the CLI of the base commit published into .gpu/before-app.tar.xz (see docs/perf/format-generic-kernels.md)
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-fold-check.sh (SKIP_TESTS=1, ROUNDS="2" for a second call on the warm machine)   → $OUT/tests.log, $OUT/decode.md
set -u
out=${OUT:-/tmp/h200-fold-check}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
start=$SECONDS
[ "${SKIP_TESTS:-0}" = 1 ] || KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout 240 bash .gpu/run.sh \
  --filter 'cuda.*(gemv|gemm|moe|embedding|launcher|expert|golden|nativeweight|tensorcorelinear|mla|dsa)|(gemv|gemm|moe|embedding|launcher|expert|golden|nativeweight|tensorcorelinear|mla|dsa).*cuda' \
  KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
echo "tests rc=$? in $((SECONDS - start)) s"; grep -E '^(FAILED|passed )' "$out/tests.log" | tail -20

# The "before" CLI runs on the bundle's .NET (same runtime for both builds).
source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
for dtype in bf16 fp8; do
  [ -f /tmp/mid5b-$dtype/config.json ] || /tmp/ks-after.sh create-model --preset mid-5b --out /tmp/mid5b-$dtype --seed 1 --dtype $dtype 2>&1 | tail -1
done
echo "== checkpoints written (t=$((SECONDS - start)) s)"
bench=(bench -p 0 -n 16 -d 4096 --depth-fill random -r 3 --device cuda)
{
  for round in ${ROUNDS:-1 2}; do
    for dtype in ${DTYPES:-bf16 fp8}; do
      for build in before after; do
        echo "### $build, $dtype, round $round"
        timeout 150 /tmp/ks-$build.sh "${bench[@]}" -m /tmp/mid5b-$dtype 2>&1 | grep -E '^\||tg|error' | tail -4
      done
    done
  done
} | tee -a "$out/decode.md"
echo "done in $((SECONDS - start)) s"
