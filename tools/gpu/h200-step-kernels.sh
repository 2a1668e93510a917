#!/usr/bin/env bash
# The GPU's own time for one decode step: every kernel of a short decode run under Nsight Compute (duration only, clocks
# left alone), so the sum over one step's launches is the step time with no host in the way (what a CUDA-graph replay
# could reach at best, before any fusion). Steps are told apart by the embedding launch that starts each one.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-step-kernels.sh   → $OUT/kernels.csv.xz, $OUT/step.md
#   (MODEL="--synthetic mid-5b", DEPTH=4096 vary the run)
set -u
out=${OUT:-/tmp/h200-step-kernels}; mkdir -p "$out"
export KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-step.json
model=${MODEL:---synthetic mid-5b}
bench="bench $model -p 0 -n 3 -d ${DEPTH:-4096} --depth-fill random -r 1 --device cuda"
start=$SECONDS
# the autotuner's choices first, outside ncu (its candidate launches would otherwise fill the profile)
timeout 120 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh $bench" 2>&1 | grep -E '^\||error' | tail -2
timeout 420 ncu --clock-control none --target-processes all --metrics gpu__time_duration.sum --csv \
  env GPU_APP=kernelsharp.dll bash .gpu/run.sh $bench > "$out/kernels.csv" 2> "$out/ncu.err"
echo "ncu rc=$? in $((SECONDS - start)) s; $(grep -c gpu__time_duration "$out/kernels.csv") kernel rows"
python3 - "$out/kernels.csv" > "$out/step.md" <<'PY'
import csv, sys, collections
rows = [r for r in csv.DictReader(l for l in open(sys.argv[1]) if l.startswith('"'))
        if r.get("Metric Name") == "gpu__time_duration.sum"]
def micros(r):
    v = float(r["Metric Value"].replace(",", "")); u = r["Metric Unit"]
    return {"ns": v / 1000, "nsecond": v / 1000, "us": v, "usecond": v, "ms": v * 1000, "msecond": v * 1000}[u]
starts = [i for i, r in enumerate(rows) if "Embedding" in r["Kernel Name"]]
print(f"{len(rows)} kernels, {len(starts)} embedding launches (step starts)")
steps = [rows[a:b] for a, b in zip(starts, starts[1:] + [len(rows)])][-2:]   # the last two decode steps
for n, step in enumerate(steps):
    total = sum(micros(r) for r in step)
    print(f"\n## step {n}: {len(step)} kernels, {total:.0f} µs of kernel time")
    by = collections.defaultdict(lambda: [0, 0.0]); shapes = {}
    for r in step:
        name = r["Kernel Name"].split("(")[0]
        by[name][0] += 1; by[name][1] += micros(r)
        shapes.setdefault(name, f'{r["Block Size"]} × {r["Grid Size"]}')
    print("| kernel | launches | µs | share | block × grid (first launch) |\n|---|---:|---:|---:|---|")
    for name, (count, us) in sorted(by.items(), key=lambda kv: -kv[1][1])[:40]:
        print(f"| {name[:90]} | {count} | {us:.1f} | {us / total:.1%} | {shapes[name]} |")
PY
cat "$out/step.md" | head -60
xz -T0 -6 "$out/kernels.csv"
echo "done in $((SECONDS - start)) s"
