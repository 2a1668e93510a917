#!/usr/bin/env bash
# KernelBench `kernels` rows of two builds (BEFORE = 440cb3b, AFTER = the fixed build) in one device call: rounds of
# row groups (by default every group of the table), each group run by one build and then the other, which build goes
# first alternating from round to round, so both builds see the same machine state; the rounds loop until a deadline.
# The second session's run.sh (2026-12-06-kernel-rows-2) with every group. Device run from the repository root:
#   KB_DIR=.kb-bench14 DEADLINE=530 bash $KB_DIR/run.sh          (carry [".kb-bench14"])
# $KB_DIR (git-ignored) holds runtime.tar.xz (the .NET runtime of both KernelBench bundles, identical) and
# before-app.tar.xz / after-app.tar.xz (each commit's `gpu-bundle.sh tools/gpu/KernelBench/KernelBench.csproj` app folder).
# ROWS_ONLY: `--only` substrings, "|"-separated (default: every group of the kernel rows table). No PyTorch
# baselines: these rows are times, the baseline columns stay empty. Autotune choices persist per build for the whole
# call in /tmp/kb/autotune-{before,after}.json (round 1 makes them).
set -uo pipefail
out=${OUT:-/tmp/kb-out}; mkdir -p "$out"
kbdir=${KB_DIR:-.kb-bench14}
kb=/tmp/kb; mkdir -p $kb
deadline=${DEADLINE:-540}; maxRounds=${ROUNDS:-99}
start=$SECONDS
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver, memory, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader)"
say "commit of the tree sent: $(git log -1 --format=%h 2>/dev/null)"
[ -x $kb/dotnet/dotnet ] || tar -C $kb -xJf $kbdir/runtime.tar.xz
for b in before after; do
  [ -f $kb/$b/app/KernelBench.dll ] || { mkdir -p $kb/$b && tar -C $kb/$b -xJf $kbdir/$b-app.tar.xz; }
done
export DOTNET_ROOT=$kb/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

step() { # round build group
  local r=$1 b=$2 g=$3 left=$((deadline - (SECONDS - start)))
  local cap=$(( left < ${STEP_CAP:-200} ? left : ${STEP_CAP:-200} ))
  if [ $cap -lt 20 ]; then say "-- skip $b \"$g\": ${left} s left"; return 1; fi
  say "-- round $r $b \"$g\" (t=$((SECONDS - start)) s, cap $cap s; gpu: $(nvidia-smi --query-gpu=temperature.gpu,clocks.sm,clocks.mem,power.draw --format=csv,noheader))"
  echo "### round $r, $b, --only \"$g\"" >> "$out/$b.log"
  KERNELSHARP_AUTOTUNE_FILE=$kb/autotune-$b.json timeout $cap $kb/dotnet/dotnet $kb/$b/app/KernelBench.dll \
    kernels --only "$g" >> "$out/$b.log" 2>&1
  say "   rc=$? (t=$((SECONDS - start)) s)"
}

IFS='|' read -ra groups <<< "${ROWS_ONLY:-decode GEMV|prefill GEMM|sparse MLA|indexer|top-k}"
r=1
while [ $r -le $maxRounds ] && [ $((deadline - (SECONDS - start))) -ge 60 ]; do
  say "== round $r, $(date -u '+%H:%M:%S') UTC"
  for g in "${groups[@]}"; do
    if [ $((r % 2)) = 1 ]; then step $r before "$g"; step $r after "$g"; else step $r after "$g"; step $r before "$g"; fi
  done
  r=$((r + 1))
done
cp $kb/autotune-before.json "$out/autotune-before.json" 2>/dev/null || true
cp $kb/autotune-after.json "$out/autotune-after.json" 2>/dev/null || true
say "== done (t=$((SECONDS - start)) s, $((r - 1)) rounds)"
