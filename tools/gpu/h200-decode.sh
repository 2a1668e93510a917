#!/usr/bin/env bash
# Re-checks the model on CUDA (golden + sparse attention tests) and re-measures end-to-end decode at cache depth 4K
# (GpuTestRunner bundle). Used after changing the GPU attention path.
set -u
out=${OUT:-/tmp/h200-decode}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main
bash .gpu/run.sh --filter 'KernelBackendGoldenTests.Cuda|MlaAttentionTests_Cuda|DsaInvariantTests_Cuda' KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
echo "tests rc=$?"; grep -E '^(FAILED|passed )|Cuda tiny' "$out/tests.log" | tail -12
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
ks create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16 2>&1 | tail -1
timeout 240 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 4096 -n 16 -d 4096 -r 1 --device cuda" 2>&1 | tee "$out/ours-4k.md"
