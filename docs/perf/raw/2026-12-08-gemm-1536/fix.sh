#!/usr/bin/env bash
# The bf16 prompt GEMM rows of three builds in one device call: 440cb3b ("before"), main before the change ("after")
# and main with the W-row mask in TensorCoreGemm ("fix": warp & (warpsN - 1) instead of warp % warpsN, whose signed
# remainder ptxas expanded into a reciprocal sequence on every k step). Rounds of KernelBench `kernels --only
# "prefill GEMM bf16"` (the three shapes, every variant), the builds' order rotating from round to round, until DEADLINE;
# first the SASS opcode histogram of the fix's 128×128 / 3-stage variant (PTX written here by `KernelBench ptx`).
# Here: $KB_DIR (git-ignored, carried) holds runtime.tar.xz (one .NET runtime), before-app.tar.xz, after-app.tar.xz,
# fix-app.tar.xz (each commit's KernelBench publish folder as app/) and ptx/*.ptx.
# There: KB_DIR=.kb-fix DEADLINE=200 bash docs/perf/raw/2026-12-08-gemm-1536/fix.sh   → $OUT/{log.txt,before,after,fix}.log, sass-ops.txt
set -u
out=${OUT:-/tmp/gemm-fix}; mkdir -p "$out"
kbdir=${KB_DIR:-.kb-fix}
deadline=${DEADLINE:-200}
start=$SECONDS
say() { echo "$*" | tee -a "$out/log.txt"; }
say "gpu, driver, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader)"
kb=/tmp/kb; mkdir -p $kb
[ -x $kb/dotnet/dotnet ] || tar -C $kb -xJf $kbdir/runtime.tar.xz
for b in before after fix; do mkdir -p $kb/$b && tar -C $kb/$b -xJf $kbdir/$b-app.tar.xz; done
export DOTNET_ROOT=$kb/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
PATH=$PATH:/usr/local/cuda/bin

for f in $kbdir/ptx/*.ptx; do
  name=$(basename "$f" .ptx)
  { echo "## $name"; ptxas -arch=sm_90 -v -o /tmp/$name.cubin "$f" 2>&1; } >> "$out/ptxas.txt"
  echo "## $name" >> "$out/sass-ops.txt"
  cuobjdump -sass /tmp/$name.cubin | grep -E '^\s+/\*[0-9a-f]{4}\*/' \
    | awk '{op=$2; if (op ~ /^@/) op=$3; sub(/\..*/, "", op); print op}' | sort | uniq -c | sort -k2 >> "$out/sass-ops.txt"
done
say "sass done (t=$((SECONDS - start)) s)"

orders=("before after fix" "fix before after" "after fix before")
r=1
while [ $((deadline - (SECONDS - start))) -ge 45 ]; do
  for b in ${orders[$(( (r - 1) % 3 ))]}; do
    left=$((deadline - (SECONDS - start)))
    [ $left -lt 15 ] && break
    echo "### round $r, $b" >> "$out/$b.log"
    KERNELSHARP_AUTOTUNE_FILE=$kb/autotune-$b.json timeout $left $kb/dotnet/dotnet $kb/$b/app/KernelBench.dll \
      kernels --only "prefill GEMM bf16" >> "$out/$b.log" 2>&1
    say "round $r $b rc=$? (t=$((SECONDS - start)) s)"
  done
  r=$((r + 1))
done
say "done (t=$((SECONDS - start)) s)"
