#!/usr/bin/env bash
# Tensor-core intrinsic checks on the GPU machine (H200), from the repository root, after bundling the workbench:
#   <workplace>/tools/gpu-bundle.sh tools/gpu/intrinsics/MmaLoopBench/MmaLoopBench.csproj
#   bash tools/gpu/intrinsics/mma-check.sh            (device run with carry [".gpu"])
# (a) compiles the kernels to PTX with ILGPU (sm_80), (b) ptxas -v for sm_90 (stack frame, registers, smem),
# (c) counts LDL/STL and HMMA in the SASS of the mma loop, (d) checks one tile and times the register-only mma loop.
# Results go to $OUT (or /tmp/mma-check): log.txt, ptxas.txt, sass_mma_loop.txt and the PTX files.
set -euo pipefail
out=${OUT:-/tmp/mma-check}
work=$(mktemp -d)
mkdir -p "$out"
log="$out/log.txt"

bash .gpu/run.sh ptx "$work" | tee "$log"
: > "$out/ptxas.txt"
for kernel in mma_loop mma_loop_4x4 mma_loop_8x2 mma_tile row_sum; do
  echo "== $kernel" >> "$out/ptxas.txt"
  ptxas -arch=sm_90 -v "$work/$kernel.ptx" -o "$work/$kernel.cubin" >> "$out/ptxas.txt" 2>&1 \
    || echo "ptxas FAILED for $kernel" >> "$out/ptxas.txt"
done
cat "$out/ptxas.txt" | tee -a "$log"
cp "$work/mma_loop.ptx" "$work/row_sum.ptx" "$out/"

cuobjdump -sass "$work/mma_loop.cubin" > "$out/sass_mma_loop.txt" || echo "cuobjdump FAILED" | tee -a "$log"
local_accesses=$(grep -cE '\b(LDL|STL)\b' "$out/sass_mma_loop.txt" || true)
hmma=$(grep -c 'HMMA' "$out/sass_mma_loop.txt" || true)
stack=$(awk '/== mma_loop/{on=1} /== mma_tile/{on=0} on && /stack frame/' "$out/ptxas.txt" | sed -E 's/.*: *([0-9]+) bytes stack frame.*/\1/' | head -1)
echo "SASS mma_loop: LDL/STL=$local_accesses HMMA=$hmma; ptxas stack frame=${stack:-?} bytes" | tee -a "$log"

bash .gpu/run.sh bench | tee -a "$log"
rm -rf "$work"
