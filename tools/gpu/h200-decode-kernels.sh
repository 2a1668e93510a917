#!/usr/bin/env bash
# Decode-step kernels, before and after a change to them, in one device call:
#   1. the CUDA tests of the attention, routing and model kernels (correctness of this build first);
#   2. decode at 4K on a synthetic mid-5b model with the CLI of the base commit ("before", .gpu/before-app.tar.xz) and
#      of this build ("after"), alternating on the same machine;
#   3. every kernel of a short decode run under Nsight Compute (tools/gpu/h200-step-kernels.sh): the GPU's own time
#      per step, kernel by kernel, for this build.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
#        and the base commit's CLI: dotnet publish Samples/KernelSharp.Cli -c Release -o DIR -p:UseAppHost=false;
#        tar -C DIR -cJf .gpu/before-app.tar.xz .
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-decode-kernels.sh   → $OUT/tests.log, decode.md, step.md
#   (SKIP_TESTS=1, SKIP_NCU=1, ROUNDS="1 2 3", MODEL="--synthetic mid-5b" vary the run)
set -u
out=${OUT:-/tmp/h200-decode-kernels}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
start=$SECONDS
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout 200 bash .gpu/run.sh \
    --filter 'cuda.*(mla|absorb|route|router|golden|backendkernel|dsa|indexer|moe)|(mla|absorb|route|router|golden|backendkernel|dsa|indexer|moe).*cuda' \
    KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
  echo "tests rc=$? in $((SECONDS - start)) s"; grep -E '^(FAILED|FAIL|passed )' "$out/tests.log" | cut -c1-300 | tail -12
fi

source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
model=${MODEL:---synthetic mid-5b}
{
  for round in ${ROUNDS:-1 2}; do
    for build in before after; do
      echo "### $build, round $round: bench $model -p 0 -n 64 -d 4096 --depth-fill random -r 3"
      timeout 120 /tmp/ks-$build.sh bench $model -p 0 -n 64 -d 4096 --depth-fill random -r 3 --device cuda 2>&1 | grep -E '^\||error' | tail -3
    done
  done
} | tee -a "$out/decode.md"
echo "== decode done (t=$((SECONDS - start)) s)"
[ "${SKIP_NCU:-0}" = 1 ] || OUT="$out" MODEL="$model" timeout 240 bash tools/gpu/h200-step-kernels.sh > "$out/step.log" 2>&1
grep -A14 "^## step 0" "$out/step.md" 2>/dev/null
echo "done in $((SECONDS - start)) s"
