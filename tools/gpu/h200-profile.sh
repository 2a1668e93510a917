#!/usr/bin/env bash
# Where a decode step's time goes on the H200 (GpuTestRunner bundle, carries the CLI): writes the mid-size checkpoint,
# then decodes at cache depths 0 / 4K / 32K / 128K (random keys in the caches) twice: plain (tokens/s) and with
# KS_PROFILE=1 (each launch synchronized and charged to its kernel; the per-kernel table goes to $OUT/profile.log).
set -u
out=${OUT:-/tmp/h200-profile}; mkdir -p "$out"
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
start=$SECONDS
ks create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16 2>&1 | tail -1
echo "== checkpoint written (t=$((SECONDS - start)) s)"
depths=${DEPTHS:-0,4096,32768,131072}
timeout 200 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p ${PP:-0} -n 8 -d $depths --depth-fill random -r 2 --device cuda" 2>&1 | tee "$out/plain.md"
echo "== plain done (t=$((SECONDS - start)) s)"
timeout 200 bash -c "KS_PROFILE=1 GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 0 -n 8 -d $depths --depth-fill random -r 1 --device cuda" > "$out/profiled.md" 2> "$out/profile.log"
echo "== profiled done (t=$((SECONDS - start)) s)"
grep -E "^\| (all|[A-Za-z]+Kernels\.)|^tg" "$out/profile.log" | awk '/^tg/{n=0} {n++; if (n<=14) print}'
