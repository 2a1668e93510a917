#!/usr/bin/env bash
# The opt-in tensor-core prefill (--prefill tensor-cores) on the H200, one device call with the GpuTestRunner bundle:
# its CUDA tests (conversion kernel bit-exact, tensor-core Linear/FeedForward/MoE vs references, golden prefill under
# the bf16 contract), then an 8K-token prefill of the mid-size checkpoint, exact and on tensor cores, the latter also
# with KS_PROFILE=1 (per-kernel times on stderr) to show what is left once the GEMMs are on tensor cores.
#   here:   <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj
#   device: bash tools/gpu/h200-prefill-tc.sh   (carry [".gpu"])
set -u
out=${OUT:-/tmp/h200-prefill-tc}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path
timeout 150 bash .gpu/run.sh --filter 'ToBf16Tests_Cuda|TensorCoreLinearTests.Cuda|TensorCorePrefillGoldenTests.Cuda|KernelBackendGoldenTests.Cuda' \
  KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
echo "tests rc=$?"; grep -E '^(FAILED|passed )|Cuda tiny|layer 0|logits' "$out/tests.log" | cut -c1-300 | tail -16
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
ks create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16 2>&1 | tail -1
for mode in exact tensor-cores; do
  timeout 150 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 8192 -n 0 -r 2 --device cuda --prefill $mode" 2>&1 | tee "$out/pp8192-$mode.md"
done
timeout 120 bash -c "KS_PROFILE=1 GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 8192 -n 0 -r 1 --device cuda --prefill tensor-cores" \
  > "$out/pp8192-tensor-cores-profile.md" 2> "$out/pp8192-tensor-cores-profile.log"
tail -40 "$out/pp8192-tensor-cores-profile.log"
