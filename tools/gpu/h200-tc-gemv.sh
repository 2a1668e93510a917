#!/usr/bin/env bash
# The tensor-core decode GEMV, in one device call:
#   1. CUDA tests: the kernel (every tile choice, bf16 and FP8, NaN codes, batch invariance, the launcher), the GEMV
#      kernels it sits beside, the golden models and greedy decode alone vs among 63 others (correctness first);
#   2. the kernel rows: batch-1 GEMV (group-per-row, warp-per-rows, tensor cores) in bf16 and FP8, and batches of 8 and
#      64 sequences (warp-per-rows vs tensor cores), against the copy ceiling;
#   (KS_DECODE_GEMV=tensor-cores turns the runtime's use of it on: the tests and the "after" decode runs set it)
#   3. decode at DEPTH context on a synthetic mid-5b model at batches 1, 8, 64, the base commit's CLI ("before",
#      .gpu/before-app.tar.xz) and this build's ("after"), alternating.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh,
#        (the bundle holds KernelBench) and the base commit's CLI
#        (dotnet publish Samples/KernelSharp.Cli -c Release -o DIR -p:UseAppHost=false; tar -C DIR -cJf .gpu/before-app.tar.xz .).
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-tc-gemv.sh  → $OUT/tests.log, kernels.md, decode.md
#   (SKIP_TESTS=1, SKIP_ROWS=1, ROUNDS="1 2", BATCHES=1,8,64, DEPTH=4096 vary the run)
set -u
out=${OUT:-/tmp/h200-tc-gemv}; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
start=$SECONDS
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  KS_DECODE_GEMV=tensor-cores KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout 240 bash .gpu/run.sh \
    --filter 'cuda.*(tensorcoregemv|gemv|golden|among|nativeweight|moe|expert)|(tensorcoregemv|gemv|golden|among|nativeweight|moe|expert).*cuda' \
    KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
  echo "tests rc=$? in $((SECONDS - start)) s"; grep -E '^(FAILED|FAIL|passed )' "$out/tests.log" | cut -c1-300 | tail -12
fi

source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
if [ "${SKIP_ROWS:-0}" != 1 ]; then
  GPU_APP=KernelBench.dll KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-kb.json \
    timeout 200 bash .gpu/run.sh kernels --only "decode GEMV" --out "$out/kernels.md" > "$out/kernels.log" 2>&1
  echo "kernel rows rc=$? (t=$((SECONDS - start)) s)"; grep -E '^\|' "$out/kernels.md" | cut -c1-220
fi

depth=${DEPTH:-4096}
batches=${BATCHES:-1,8,64}
{
  for round in ${ROUNDS:-1 2}; do
    for build in before after; do
      echo "### $build, round $round: bench --synthetic mid-5b -p 0 -n 32 -d $depth --depth-fill random -r 2 -b $batches"
      KS_DECODE_GEMV=tensor-cores timeout 150 /tmp/ks-$build.sh bench --synthetic mid-5b -p 0 -n 32 -d "$depth" --depth-fill random -r 2 -b "$batches" --device cuda 2>&1 | grep -E '^\||error' | tail -6
    done
  done
} | tee -a "$out/decode.md"
echo "done in $((SECONDS - start)) s"
