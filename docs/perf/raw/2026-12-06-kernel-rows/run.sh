#!/usr/bin/env bash
# KernelBench `kernels` rows of two builds (BEFORE = 440cb3b, AFTER = 9e14692) in one device call, interleaved by row
# group so both builds see the same machine state. Device run from the repository root, carry [".kb-bench"]:
#   ROUND=1 ORDER=before-first bash docs/perf/raw/2026-12-06-kernel-rows/run.sh
# .kb-bench/ (git-ignored) holds runtime.tar.xz (the .NET runtime of the KernelBench bundles, identical in both) and
# before-app.tar.xz / after-app.tar.xz (each commit's `gpu-bundle.sh tools/gpu/KernelBench/KernelBench.csproj` app folder).
# ROWS_ONLY (default: every row) are `--only` substrings; each step runs one build's rows of one group (plus the copy
# ceiling row that KernelBench always measures first), capped so the call ends before END seconds.
# Autotune choices persist in /tmp/kb/autotune-{before,after}.json (one file per build) for as long as the machine
# stays warm; copy a seed there first to pin the variants (the third call did). SKIP_BASELINES=1 skips baselines.py.
set -uo pipefail
out=${OUT:-/tmp/kb-out}; mkdir -p "$out"
kb=/tmp/kb; mkdir -p $kb
round=${ROUND:-1}; order=${ORDER:-before-first}; end=${END:-570}
start=$SECONDS
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "== round $round, order $order, $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
say "gpu, driver, memory, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader)"
[ -x $kb/dotnet/dotnet ] || tar -C $kb -xJf .kb-bench/runtime.tar.xz
for b in before after; do
  [ -f $kb/$b/app/KernelBench.dll ] || { mkdir -p $kb/$b && tar -C $kb/$b -xJf .kb-bench/$b-app.tar.xz; }
done
export DOTNET_ROOT=$kb/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

if [ -n "${SKIP_BASELINES:-}" ]; then say "== PyTorch baselines skipped"; else
say "== PyTorch baselines (t=$((SECONDS - start)) s)"
OUT=$kb timeout 150 python3 tools/gpu/baselines.py > "$out/baselines.stdout.txt" 2>&1 || say "baselines.py failed or timed out"
cp $kb/baselines.json "$out/baselines.json" 2>/dev/null || true
fi

step() { # build group
  local b=$1 g=$2 left=$((end - (SECONDS - start)))
  local cap=$(( left < ${STEP_CAP:-200} ? left : ${STEP_CAP:-200} ))
  if [ $cap -lt 20 ]; then say "-- skip $b \"$g\": ${left} s left"; return; fi
  say "-- $b \"$g\" (t=$((SECONDS - start)) s, cap $cap s; gpu: $(nvidia-smi --query-gpu=temperature.gpu,clocks.sm,clocks.mem,power.draw --format=csv,noheader))"
  { echo "### round $round, $b, --only \"$g\""; } >> "$out/$b.log"
  KERNELSHARP_AUTOTUNE_FILE=$kb/autotune-$b.json timeout $cap $kb/dotnet/dotnet $kb/$b/app/KernelBench.dll \
    kernels --baselines $kb/baselines.json --only "$g" >> "$out/$b.log" 2>&1
  local rc=$?
  say "   rc=$rc (t=$((SECONDS - start)) s)"

}

IFS='|' read -ra groups <<< "${ROWS_ONLY:-decode GEMV|prefill GEMM|sparse MLA|indexer|top-k}"
for g in "${groups[@]}"; do
  if [ "$order" = before-first ]; then step before "$g"; step after "$g"; else step after "$g"; step before "$g"; fi
done
cp $kb/autotune-before.json "$out/autotune-before.json" 2>/dev/null || true
cp $kb/autotune-after.json "$out/autotune-after.json" 2>/dev/null || true
say "== done (t=$((SECONDS - start)) s)"
for b in before after; do echo "## $b"; grep -E "^ROW \| " "$out/$b.log" | cut -d'|' -f2,3 ; done
