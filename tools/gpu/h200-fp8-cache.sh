#!/usr/bin/env bash
# The FP8 latent cache (--kv-cache fp8) on the GPU, in one device call: its CUDA tests first (store kernel, attention
# over FP8 rows, the runtime's cache), then decode with the fp32 and the FP8 cache alternating on the same model:
# a synthetic mid-5b at 4K and 32K context, and DeepSeek-V3.2's first 4 layers at every width (FP8 weights) at 32K.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-fp8-cache.sh   → $OUT/tests.log, $OUT/decode.md
set -u
out=${OUT:-/tmp/h200-fp8-cache}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
export KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-fp8-cache.json
start=$SECONDS
timeout 200 bash .gpu/run.sh --filter 'cuda.*(fp8|cache|mla|golden|dsa)|(fp8|cache|mla|golden|dsa).*cuda' \
  KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
echo "tests rc=$? in $((SECONDS - start)) s"; grep -E '^(FAILED|FAIL|passed )' "$out/tests.log" | cut -c1-300 | tail -12
ks() { timeout 150 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh $*" 2>&1 | grep -E '^\||kv cache|error' | grep -v -- '---' | tail -3; }
{
  for round in 1 2; do
    for cache in fp32 fp8; do
      echo "### mid-5b, --kv-cache $cache, round $round"
      ks bench --synthetic mid-5b -p 0 -n 64 -d 4096,32768 --depth-fill random -r 2 --device cuda --kv-cache $cache
    done
  done
  for cache in fp32 fp8; do
    echo "### deepseek-v3.2 first 4 layers, --kv-cache $cache"
    ks bench --synthetic deepseek-v3.2 --layers 4 -p 0 -n 32 -d 32768 --depth-fill random -r 2 --device cuda --kv-cache $cache
  done
} | tee -a "$out/decode.md"
echo "done in $((SECONDS - start)) s"
