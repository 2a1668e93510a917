#!/usr/bin/env bash
# What limits the kernel rows that miss their targets, from the hardware counters (Nsight Compute, clocks left alone):
# one KernelBench row at a time under ncu, the first matching launch after the warm-up and autotuning ones.
# GpuTestRunner (or KernelBench) bundle; device run with carry [".gpu"]. Reports: $OUT/ncu-<name>.txt, summary printed.
set -u
out=${OUT:-/tmp/h200-ncu}; mkdir -p "$out"
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
app=KernelBench.dll  # in the GpuTestRunner and KernelBench bundles alike
# name | KernelBench --only filter | kernel-name regex | launches to skip (warm-up, autotune candidates, checks)
rows=(
  "mla-decode-b64|sparse MLA decode, batch 64|regex:SparseMlaTensorCore|3"
  "indexer-fp8-tc-128k|indexer decode fp8, T = 128K|regex:IndexerDecodeFp8TensorCore|3"
  "gemv-fp8-rows|decode GEMV fp8 [18432|regex:GemvRows|90"
  "tc-gemm|prefill GEMM bf16 wide 128×128 (4 warps of 64×64, 3 stages), 4096×18432×7168|regex:TensorCoreGemm__|3"
)
# registers, stack and spills of the tensor-core kernels (ptxas on the PTX KernelBench writes)
work=$(mktemp -d); GPU_APP=$app bash .gpu/run.sh ptx "$work" > /dev/null 2>&1
for kernel in tc_sparse_mla tc_gemm_bf16; do
  echo "== ptxas $kernel"; ptxas -arch=sm_90 -v "$work/$kernel.ptx" -o "$work/$kernel.cubin" 2>&1 | grep -E "registers|stack|spill" | tee -a "$out/ptxas.txt"
done
for row in "${rows[@]}"; do
  IFS='|' read -r name only regex skip <<< "$row"
  timeout 100 ncu --clock-control none --target-processes all --kernel-name "$regex" --launch-skip "$skip" --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
      env GPU_APP=$app bash .gpu/run.sh kernels --only "$only" > "$out/ncu-$name.txt" 2>&1
  echo "== $name (rc=$?)"
  grep -E "^  [A-Za-z_]+.*\(|Duration|DRAM Throughput|Memory Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per Thread|Theoretical Occupancy|Block Limit|Stall|Warp Cycles Per Issued|L2 Hit Rate|Mem Busy|Max Bandwidth" "$out/ncu-$name.txt" | head -24
done
