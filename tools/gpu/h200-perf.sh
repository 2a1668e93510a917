#!/usr/bin/env bash
# The H200 table's kernel rows on the H200 in ONE device call, from the repository root, after bundling KernelBench here:
#   <workplace>/tools/gpu-bundle.sh tools/gpu/KernelBench/KernelBench.csproj
#   bash tools/gpu/h200-perf.sh                   (device run with carry [".gpu"])
# Steps (each logged; a failing step does not stop the next):
#   1. python3 tools/gpu/baselines.py            → $OUT/baselines.json (PyTorch copy, cuBLAS bf16, PyTorch indexer/MLA)
#   2. KernelBench mma                           → mma tile check and the mma loop variants' TFLOP/s
#   3. KernelBench ptx + ptxas -v + cuobjdump    → $OUT/ptxas.txt, SASS counts of the mma loops and the tensor-core GEMM
#   4. KernelBench smem                          → > 48 KB dynamic shared memory through cuFuncSetAttribute
#   5. KernelBench kernels --baselines ...       → $OUT/h200-kernels.md (ours vs ceiling/baselines, checked first)
# Everything else lands in $OUT/log.txt; the summary (RESULT lines and the table) is printed last.
set -uo pipefail
out=${OUT:-/tmp/h200-perf}
mkdir -p "$out"
log="$out/log.txt"
work=$(mktemp -d)
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
bench() { bash .gpu/run.sh "$@"; }

{
  echo "== $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
  echo "== 1. PyTorch baselines"
  OUT="$out" python3 tools/gpu/baselines.py > "$out/baselines.stdout.txt" 2>&1 || echo "baselines.py FAILED (see baselines.stdout.txt)"
  tail -3 "$out/baselines.stdout.txt"

  echo "== 2. mma loop"
  bench mma

  echo "== 3. PTX, ptxas, SASS"
  bench ptx "$work"
  : > "$out/ptxas.txt"
  for kernel in mma_loop mma_loop_4x4 mma_loop_8x2 mma_loop_4x8 mma_tile row_sum tc_gemm_bf16 tc_gemm_fp8 tc_sparse_mla; do
    echo "== $kernel" >> "$out/ptxas.txt"
    ptxas -arch=sm_90 -v "$work/$kernel.ptx" -o "$work/$kernel.cubin" >> "$out/ptxas.txt" 2>&1 || echo "ptxas FAILED for $kernel" >> "$out/ptxas.txt"
    if [ -f "$work/$kernel.cubin" ]; then
      cuobjdump -sass "$work/$kernel.cubin" > "$work/$kernel.sass" 2>/dev/null || true
      echo "SASS $kernel: HMMA=$(grep -c HMMA "$work/$kernel.sass") LDL/STL=$(grep -cE '\b(LDL|STL)\b' "$work/$kernel.sass") LDSM=$(grep -c LDSM "$work/$kernel.sass") LDGSTS=$(grep -c LDGSTS "$work/$kernel.sass") instructions=$(grep -cE '^\s+/\*[0-9a-f]{4}\*/' "$work/$kernel.sass")" | tee -a "$out/ptxas.txt"
    fi
  done
  grep -E "==|registers|stack frame|smem" "$out/ptxas.txt"
  cp "$work/mma_loop_4x4.sass" "$work/tc_gemm_bf16.sass" "$out/" 2>/dev/null || true

  echo "== 4. shared memory > 48 KB"
  bench smem

  echo "== 5. kernel rows (at most 7 minutes, so the call's 10-minute limit keeps the files above)"
  timeout 420 bash .gpu/run.sh kernels --baselines "$out/baselines.json" --out "$out/h200-kernels.md" || echo "KernelBench kernels: some rows FAILED or timed out"
} > "$log" 2>&1

grep -E "^(== |SASS|RESULT|mma loop best|smem probe: cuFunc)" "$log"
cat "$out/h200-kernels.md" 2>/dev/null || echo "no kernel table (see log.txt)"
rm -rf "$work"
