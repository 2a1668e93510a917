#!/usr/bin/env bash
# Why the bf16 tensor-core GEMM's 128×128 / 3-stage row at 4096×24576×1536 (the shortest k of the table) is ~4% slower
# in this build than 440cb3b's `TensorCoreGemmWideBf16__tileN128`, while their PTX differs by a few instructions
# outside the k loop. One device call:
#   1. ptxas -v and a SASS opcode histogram of both variants' PTX (dumped here by ../2026-12-07-ptx-compare/compare.sh);
#   2. the event-timed KernelBench row of each build, before/after/after/before, twice (does the order matter?);
#   3. Nsight Compute on launches of both kernels with clocks left alone (kernel time, occupancy, stalls, traffic).
# Here: $KB_DIR (git-ignored, carried) holds before-app.tar.xz / after-app.tar.xz (each commit's KernelBench publish
# folder as app/) and ptx/*.ptx; the .NET runtime comes from the GPU bundle (.gpu, carried too).
# There: KB_DIR=.kb-apps bash docs/perf/raw/2026-12-08-gemm-1536/diag.sh  → $OUT/ptxas.txt, sass-ops.txt, rows.log, ncu-*.txt
set -u
out=${OUT:-/tmp/gemm-1536}; mkdir -p "$out"
kbdir=${KB_DIR:-.kb-apps}
start=$SECONDS
say() { echo "$*" | tee -a "$out/progress.txt"; }
say "gpu: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader)"
bash .gpu/run.sh --help > /dev/null 2>&1 || true  # unpacks the bundle's .NET
dn=$(ls -d /tmp/ks-gpu-*/dotnet | head -1)
export DOTNET_ROOT=$dn DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
kb=/tmp/kb; mkdir -p $kb
for b in before after; do mkdir -p $kb/$b && tar -C $kb/$b -xJf $kbdir/$b-app.tar.xz; done
PATH=$PATH:/usr/local/cuda/bin

# 1. Registers and SASS.
for f in $kbdir/ptx/*.ptx; do
  name=$(basename "$f" .ptx)
  { echo "## $name"; ptxas -arch=sm_90 -v -o /tmp/$name.cubin "$f" 2>&1; } >> "$out/ptxas.txt"
  cuobjdump -sass /tmp/$name.cubin > /tmp/$name.sass
  grep -E '^\s+/\*[0-9a-f]{4}\*/' /tmp/$name.sass | awk '{op=$2; if (op ~ /^@/) op=$3; sub(/\..*/, "", op); print op}' \
    | sort | uniq -c | sort -k2 > /tmp/$name.ops
done
{ echo "opcode histogram (before-wide128 | after-128s3 | after-128s2)";
  join -1 2 -2 2 -a 1 -a 2 -e 0 -o 0,1.1,2.1 /tmp/before-wide128.ops /tmp/after-128s3.ops \
    | join -1 1 -2 2 -a 1 -a 2 -e 0 -o 0,1.2,1.3,2.1 - /tmp/after-128s2.ops; } > "$out/sass-ops.txt"
tar -C /tmp -czf "$out/sass.tgz" before-wide128.sass after-128s3.sass after-128s2.sass
say "sass done (t=$((SECONDS - start)) s)"

# 2. The event-timed rows, each build twice, in both orders.
row="prefill GEMM bf16, 4096×24576×1536"
for order in "before after after before" "after before before after"; do
  for b in $order; do
    echo "### $b" >> "$out/rows.log"
    KERNELSHARP_AUTOTUNE_FILE=$kb/autotune-$b.json timeout 120 $dn/dotnet $kb/$b/app/KernelBench.dll kernels --only "$row" 2>&1 \
      | grep -E '^\| (prefill|HBM)' >> "$out/rows.log"
  done
done
say "rows done (t=$((SECONDS - start)) s)"

# 3. Nsight Compute, clocks as they run; kernels after the first three launches of each (compile, check, warm-up).
for b in before after; do
  timeout 200 ncu --clock-control none --kernel-name regex:'TensorCoreGemmWideBf16__tileN128|TensorCoreGemm__tileN128_stages3' \
    --launch-skip 3 --launch-count 4 \
    --section SpeedOfLight --section LaunchStats --section Occupancy --section SchedulerStats --section WarpStateStats \
    --section MemoryWorkloadAnalysis \
    $dn/dotnet $kb/$b/app/KernelBench.dll kernels --only "$row" > "$out/ncu-$b.txt" 2>&1
  say "ncu $b rc=$? (t=$((SECONDS - start)) s)"
done
