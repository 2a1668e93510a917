#!/usr/bin/env bash
# Three builds (before = 440cb3b, head = main before this branch, after = this branch), groups rotated per round, each
# build's autotune file seeded from the full-table call's picks (head gets after's: the same variants), so GEMV and
# top-k rows compare kernels on the same variants. DEADLINE seconds in all.
set -uo pipefail
out=${OUT:-/tmp/kb-out}; mkdir -p "$out"
kbdir=${KB_DIR:-.kb-bench14}; kb=/tmp/kb; mkdir -p $kb
start=$SECONDS; deadline=${DEADLINE:-300}; log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver, memory, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader)"
[ -x $kb/dotnet/dotnet ] || tar -C $kb -xJf $kbdir/runtime.tar.xz
for b in before head after; do
  [ -f $kb/$b/app/KernelBench.dll ] || { mkdir -p $kb/$b && tar -C $kb/$b -xJf $kbdir/$b-app.tar.xz; }
  cp $kbdir/seed-$b.json $kb/at-$b.json
done
export DOTNET_ROOT=$kb/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# Is the autotuner's CUDA clock in use? ncu lists the eviction kernel's launches (a fresh autotune file makes the
# after build tune the warp-row GEMVs again).
( cd /tmp && timeout 70 ncu --clock-control none -k regex:Evict -c 2 --metrics gpu__time_duration.sum \
    env KERNELSHARP_AUTOTUNE_FILE=/tmp/kb/fresh.json $kb/dotnet/dotnet $kb/after/app/KernelBench.dll kernels --only "decode GEMV" \
    > $out/ncu-evict.txt 2>&1; echo "ncu rc=$?" >> $out/ncu-evict.txt )
say "ncu check done (t=$((SECONDS - start)) s): $(grep -c Evict $out/ncu-evict.txt) lines naming Evict"
builds=(before head after); r=1
while [ $((deadline - (SECONDS - start))) -ge 25 ]; do
  for i in 0 1 2; do
    b=${builds[$(((i + r) % 3))]}
    for g in "decode GEMV" "top-k"; do
      [ $((deadline - (SECONDS - start))) -ge 8 ] || break 2
      echo "### round $r, $b, --only \"$g\"" >> "$out/$b.log"
      KERNELSHARP_AUTOTUNE_FILE=$kb/at-$b.json timeout 40 $kb/dotnet/dotnet $kb/$b/app/KernelBench.dll kernels --only "$g" >> "$out/$b.log" 2>&1
      say "round $r $b $g rc=$? t=$((SECONDS - start))"
    done
  done
  r=$((r + 1))
done
for b in before head after; do cmp -s $kb/at-$b.json $kbdir/seed-$b.json || say "autotune file of $b rewritten"; done
say "== done (t=$((SECONDS - start)) s)"
