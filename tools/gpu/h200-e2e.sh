#!/usr/bin/env bash
# End-to-end rows of docs/perf/h200.md in one device call (GpuTestRunner bundle, which carries the CLI):
# writes the mid-size checkpoint with create-model, then transformers and KernelSharp on it at the same contexts.
set -u
out=${OUT:-/tmp/h200-e2e}; mkdir -p "$out"
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
ks create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16 2>&1 | tail -1
PYTHONUNBUFFERED=1 OUT="$out" timeout 240 python3 tools/gpu/transformers_baseline.py /tmp/mid5b 4096 32768 > "$out/transformers.log" 2>&1
tail -25 "$out/transformers.log"
timeout 200 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 4096 -n 16 -d 4096 -r 1 --device cuda" 2>&1 | tee "$out/ours-4k.md"
