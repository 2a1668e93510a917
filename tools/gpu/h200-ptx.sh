#!/usr/bin/env bash
# Writes the PTX that the CUDA accelerator compiles for every kernel variant and runs ptxas -v (sm_90) on each:
# errors explain a "PTX JIT compilation failed"; the report gives registers, stack frames and spills.
# There (device run, carry [".gpu"], after bundling GpuTestRunner):  bash tools/gpu/h200-ptx.sh  → $OUT/ptxas.log
set -u
out=${OUT:-/tmp/h200-ptx}; mkdir -p "$out"
dir=$(mktemp -d)
bash .gpu/run.sh ptx "$dir" | tail -5
: > "$out/ptxas.log"
bad=0
for f in "$dir"/*.ptx; do
  name=$(basename "$f" .ptx)
  if ! ptxas -arch=sm_90 -v "$f" -o /dev/null > "$dir/$name.log" 2>&1; then
    bad=$((bad + 1)); echo "== FAILED $name" >> "$out/ptxas.log"; head -5 "$dir/$name.log" >> "$out/ptxas.log"
  else
    echo "== ok $name: $(grep -E 'registers|stack frame' "$dir/$name.log" | tr -s ' ' | tr '\n' ' ')" >> "$out/ptxas.log"
  fi
done
echo "ptxas failures: $bad of $(ls "$dir"/*.ptx | wc -l)"
grep -A3 FAILED "$out/ptxas.log" | head -40
tar -C "$dir" -czf "$out/ptx.tgz" .
