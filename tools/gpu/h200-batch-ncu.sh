#!/usr/bin/env bash
# What a batch-64 decode step spends its time on, from the hardware (Nsight Compute, clocks left alone), and what each
# decode kernel's variants cost in registers and spills (ptxas -v on the PTX the CUDA backend writes).
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-batch-ncu.sh   (BATCH [64], DEPTH [4096])
# Writes $OUT/{gpu.txt, ptxas.txt, bench.txt, durations.txt, details.txt, raw.tgz}.
set -u
out=${OUT:-/tmp/h200-batch-ncu}; mkdir -p "$out"
start=$SECONDS
batch=${BATCH:-64}
depth=${DEPTH:-4096}
raw=$(mktemp -d)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
export KERNELSHARP_AUTOTUNE_FILE=$raw/autotune.json

# 1. registers, stack and spills of the decode kernels' variants
bash .gpu/run.sh ptx "$raw/ptx" > "$raw/ptxdump.log" 2>&1; tail -1 "$raw/ptxdump.log"
for f in "$raw"/ptx/GemvKernels.GemvRows*Bf16Rows* "$raw"/ptx/MlaKernels.MlaAttention*F32Rows*Selected* "$raw"/ptx/MoeKernels.GroupedFfn*Bf16Rows* "$raw"/ptx/EmbeddingKernels.*; do
  [ -f "$f" ] || continue
  echo "$(basename "$f" .ptx): $(ptxas -arch=sm_90 -v "$f" -o /dev/null 2>&1 | grep -oE 'Used [0-9]+ registers|[0-9]+ bytes stack frame|[0-9]+ bytes spill stores' | tr '\n' ' ')"
done > "$out/ptxas.txt"
grep -c . "$out/ptxas.txt"; grep -E "GemvRows__itemsPerWarp4" "$out/ptxas.txt" | head -8
echo "== ptxas done (t=$((SECONDS - start)) s)"

# 2. the batch's rate, and the autotuner's choices for the profiled runs below
GPU_APP=kernelsharp.dll timeout 150 bash .gpu/run.sh bench --synthetic mid-5b -p 0 -n 8 -d "$depth" --depth-fill random -r 1 -b "$batch" --device cuda \
  > "$out/bench.txt" 2>&1
grep -E '^\|' "$out/bench.txt" | tail -2
echo "== bench done (t=$((SECONDS - start)) s)"

# 3. every kernel's duration over a window of steady decode steps (one metric: one pass per launch)
GPU_APP=kernelsharp.dll timeout 200 ncu --clock-control none --target-processes all --metrics gpu__time_duration.sum \
  --launch-skip 1500 --launch-count 1500 --csv --print-units base \
  bash .gpu/run.sh bench --synthetic mid-5b -p 0 -n 8 -d "$depth" --depth-fill random -r 1 -b "$batch" --device cuda > "$raw/durations.csv" 2> "$raw/durations.err"
python3 - "$raw/durations.csv" > "$out/durations.txt" <<'PY'
import csv, re, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1], errors="replace")) if len(r) > 10]
head = rows[0]; rows = rows[1:]
name, value, grid = head.index("Kernel Name"), head.index("Metric Value"), head.index("Grid Size") if "Grid Size" in head else None
total = collections.defaultdict(float); count = collections.Counter(); grids = collections.defaultdict(set)
for r in rows:
    try: v = float(r[value].replace(",", ""))
    except ValueError: continue
    k = re.sub(r"^.*?(\w+Kernels?_\w+?)(_\d+)?$", r"\1", r[name])[:90]
    total[k] += v; count[k] += 1
    if grid is not None: grids[k].add(r[grid])
all_ns = sum(total.values())
print(f"{len(rows)} launches, {all_ns/1e6:.3f} ms of kernel time in the window")
for k, v in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"{v/all_ns*100:5.1f}%  {v/1e6:8.3f} ms  {count[k]:5d} launches  {v/count[k]/1e3:8.1f} us each  {k}  grids {sorted(grids[k])[:4]}")
PY
head -25 "$out/durations.txt"
echo "== durations done (t=$((SECONDS - start)) s)"

# 4. hardware limits of the three largest: a steady launch of each
for spec in "GemvRows|400|4" "MlaAttention|60|2" "GroupedFfnGateUp|30|1" "GroupedFfnDown|30|1"; do
  IFS='|' read -r regex skip count <<< "$spec"
  left=$((560 - (SECONDS - start))); [ $left -lt 40 ] && break
  GPU_APP=kernelsharp.dll timeout $((left < 120 ? left : 120)) ncu --clock-control none --target-processes all --kernel-name "regex:$regex" \
    --launch-skip "$skip" --launch-count "$count" \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
    bash .gpu/run.sh bench --synthetic mid-5b -p 0 -n 4 -d "$depth" --depth-fill random -r 1 -b "$batch" --device cuda > "$raw/ncu-$regex.txt" 2>&1
  echo "== $regex (rc=$?)" | tee -a "$out/details.txt"
  grep -E "^  [A-Za-z_]+.*\(|Duration|DRAM Throughput|Memory Throughput|L1/TEX Hit|L2 Hit Rate|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per Thread|Theoretical Occupancy|Block Limit Registers|Grid Size|Warp Cycles Per Issued|Stall|One or More Eligible|Issue Slots" "$raw/ncu-$regex.txt" >> "$out/details.txt"
done
tar -C "$raw" -czf "$out/raw.tgz" --exclude ptx --exclude '*.cubin' . 2>/dev/null
echo "done in $((SECONDS - start)) s"
