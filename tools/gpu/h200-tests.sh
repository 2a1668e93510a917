#!/usr/bin/env bash
# Runs every CUDA and OpenCL test of the kernel, DSL and runtime test projects on the GPU machine, then the CLI on CUDA.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-tests.sh      → $OUT/gpu-tests.log, $OUT/cli.log
set -u
out=${OUT:-/tmp/h200-tests}; mkdir -p "$out"
# Test sources find tests/fixtures through their build-time path (/work/main/...): point it at this checkout.
mkdir -p /work && ln -sfn "$PWD" /work/main
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
export KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune.json
start=$(date +%s)
bash .gpu/run.sh --filter 'cuda|opencl' KernelSharp.Dsl.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/gpu-tests.log" 2>&1
echo "tests rc=$? in $(( $(date +%s) - start )) s"
grep -E '^(FAILED|passed )' "$out/gpu-tests.log" | tail -40
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
{
  echo '$ kernelsharp devices'; ks devices
  echo '$ kernelsharp generate --device cuda'; ks generate -m tests/fixtures/tiny-dsa-bf16 -p "Hello" -n 16 --temp 0 --device cuda
  echo '$ kernelsharp generate --device cpu'; ks generate -m tests/fixtures/tiny-dsa-bf16 -p "Hello" -n 16 --temp 0 --device cpu
  echo '$ kernelsharp bench --device cuda'; ks bench -m tests/fixtures/tiny-dsa-fp8-yarn -p 128 -n 32 -r 2 --device cuda
  echo '$ kernelsharp bench --device cpu'; ks bench -m tests/fixtures/tiny-dsa-fp8-yarn -p 128 -n 32 -r 2 --device cpu
} > "$out/cli.log" 2>&1
tail -30 "$out/cli.log"
# End to end on the mid-size checkpoint of the H200 table (5.4 B parameters, bf16), written here by create-model.
{
  echo '$ kernelsharp create-model --preset mid-5b'; time ks create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16
  echo '$ kernelsharp bench mid-5b --device cuda'; timeout 300 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 512 -n 16 -r 1 --device cuda"
} > "$out/e2e.log" 2>&1
tail -15 "$out/e2e.log"
