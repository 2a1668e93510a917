#!/usr/bin/env bash
# Last check of a session in one device call (GpuTestRunner bundle, which also carries the CLI and KernelBench):
# every CUDA/OpenCL test, the golden model tests on CUDA, and the FP8/bf16 GEMV rows again.
set -u
out=${OUT:-/tmp/h200-final}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main
export KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune.json
bash .gpu/run.sh --filter 'cuda|opencl' KernelSharp.Dsl.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/gpu-tests.log" 2>&1
echo "tests rc=$?"; grep -E '^(FAILED|passed )' "$out/gpu-tests.log" | tail -20
grep -A8 "KernelBackendGoldenTests.Cuda" "$out/gpu-tests.log" | head -30
GPU_APP=KernelBench.dll timeout 200 bash .gpu/run.sh kernels --only GEMV --out "$out/gemv.md" > "$out/gemv.log" 2>&1
cat "$out/gemv.md"
