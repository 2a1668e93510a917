#!/usr/bin/env bash
# The tensor-core prefill in one short device call (GpuTestRunner bundle with the CLI: gpu-bundle.sh, then
# add-aspnetcore-to-bundle.sh): the CUDA tests of both prefill contracts and of the tensor-core prompt kernels, then an
# 8K-token prefill of mid-5b built on the device from its preset (bench --synthetic: no checkpoint to write or read),
# default (tensor cores) and --prefill exact in the same call, the prefill kernel rows of KernelBench (GEMMs: every
# group tile and pipeline depth of the wide bf16 kernel, the deeper ones on dynamic shared memory, FP8 weights converted
# in the GEMM and widened to bf16 first; sparse MLA and indexer prefill at S = 8K, the indexer on CUDA cores and on
# tensor cores) against cuBLAS / PyTorch timed in the same call, then the default prefill with KS_PROFILE=1
# (per-kernel table into log.txt). Steps run while the deadline ($DEADLINE seconds) allows.
#   device: bash tools/gpu/h200-prefill-speed.sh   (carry [".gpu"])
set -u
out=${OUT:-/tmp/h200-prefill-speed}; mkdir -p "$out"
start=$SECONDS; deadline=${DEADLINE:-420}
left() { echo $((deadline - (SECONDS - start))); }
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); bundle commit $(cat .gpu/commit 2>/dev/null)"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path

filter='TensorCorePrefillGoldenTests.Cuda|KernelBackendGoldenTests.Cuda|TensorCoreLinearTests.Cuda|TensorCoreGemmExpertSlotTests_Cuda'
filter="$filter|TensorCoreAttentionTests.Cuda|TensorCoreIndexerTests.Cuda|IndexerPrefillTensorCoreTests_Cuda|TensorCoreGemmLauncherTests"
filter="$filter|TensorCoreGemmTests_Cuda|WidenFp8WeightsTests_Cuda|LargeSharedMemoryTests.Staged_reverse"
timeout ${TEST_SECONDS:-170} bash .gpu/run.sh --filter "$filter" KernelSharp.Generators.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
say "== tests rc=$? (t=$((SECONDS - start)) s)"
grep -E "^(  (Passed|Failed|Skipped) |FAIL|[0-9]+ passed)|passed|failed" "$out/tests.log" | tail -5 >> "$log"

bench="bench --synthetic mid-5b -p ${TOKENS:-8192} -n 0 -r 1 --device cuda"
for mode in default exact; do
  [ "$(left)" -lt 40 ] && { say "-- pp $mode skipped: $(left) s left"; continue; }
  option=$([ $mode = exact ] && echo "--prefill exact")
  timeout $(( $(left) - 5 )) bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh $bench $option" >> "$log" 2>&1
  say "== pp $mode rc=$? (t=$((SECONDS - start)) s)"
done
if [ "$(left)" -ge 90 ]; then
  OUT="$out" timeout 90 python3 tools/gpu/baselines.py --prefill-only > "$out/baselines.log" 2>&1
  timeout $(( $(left) - 45 )) bash -c "GPU_APP=KernelBench.dll bash .gpu/run.sh kernels --only 'prefill' --baselines '$out/baselines.json' --out '$out/gemm.md'" > "$out/gemm.log" 2>&1
  say "== prefill kernel rows rc=$? (t=$((SECONDS - start)) s)"
  grep -E "^\|" "$out/gemm.md" >> "$log" 2>/dev/null || tail -5 "$out/gemm.log" >> "$log"
fi
if [ "$(left)" -ge 40 ]; then
  timeout $(( $(left) - 5 )) bash -c "KS_PROFILE=1 GPU_APP=kernelsharp.dll bash .gpu/run.sh $bench" > /tmp/pp-profile.md 2> "$out/profile.log"
  say "== pp default, KS_PROFILE=1 rc=$? (t=$((SECONDS - start)) s)"
  grep -E "^\|" "$out/profile.log" | head -45 >> "$log"
fi
