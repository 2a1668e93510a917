#!/usr/bin/env bash
# Diagnostics call: ptxas -v and SASS of both builds' indexer/GEMV PTX, BEFORE vs HEAD indexer rows, and the warp-row
# GEMV rows with every variant pinned for both builds (autotune files seeded per variant).
set -uo pipefail
out=${OUT:-/tmp/kb-out}; mkdir -p "$out"
kbdir=${KB_DIR:-.kb-bench14}; kb=/tmp/kb; mkdir -p $kb
start=$SECONDS; deadline=${DEADLINE:-400}
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader)
say "gpu, driver, memory, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader)"
# 1. ptxas / SASS
mkdir -p /tmp/ptx && tar -C /tmp/ptx -xzf $kbdir/ptx.tgz
: > $out/ptxas.txt; mkdir -p /tmp/sass
for f in $(find /tmp/ptx -name '*.ptx' | sort); do
  rel=${f#/tmp/ptx/}; name=$(echo "$rel" | tr '/[],' '____')
  ptxas -arch=sm_90 -v "$f" -o /tmp/sass/$name.cubin > /tmp/sass/$name.log 2>&1
  echo "$rel: $(grep -E 'registers|stack' /tmp/sass/$name.log | tr -s ' ' | tr '\n' ' ')" >> $out/ptxas.txt
  cuobjdump -sass /tmp/sass/$name.cubin > /tmp/sass/$name.sass 2>&1
done
tar -C /tmp/sass -czf $out/sass.tgz $(cd /tmp/sass && ls *.sass)
say "ptxas done (t=$((SECONDS - start)) s)"
# 2. bundles
[ -x $kb/dotnet/dotnet ] || tar -C $kb -xJf $kbdir/runtime.tar.xz
for b in before head; do [ -f $kb/$b/app/KernelBench.dll ] || { mkdir -p $kb/$b && tar -C $kb/$b -xJf $kbdir/$b-app.tar.xz; }; done
export DOTNET_ROOT=$kb/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
step() { # tag build group autotunefile
  local left=$((deadline - (SECONDS - start)))
  if [ $left -lt 25 ]; then say "-- skip $1 $2: ${left} s left"; return 1; fi
  say "-- $1 $2 \"$3\" (t=$((SECONDS - start)) s; gpu: $(nvidia-smi --query-gpu=temperature.gpu,clocks.sm,power.draw --format=csv,noheader))"
  echo "### $1, $2, --only \"$3\"" >> "$out/$2.log"
  KERNELSHARP_AUTOTUNE_FILE=$4 timeout 60 $kb/dotnet/dotnet $kb/$2/app/KernelBench.dll kernels --only "$3" >> "$out/$2.log" 2>&1
  say "   rc=$?"
}
for r in 1 2 3 4; do
  if [ $((r % 2)) = 1 ]; then o="before head"; else o="head before"; fi
  for b in $o; do step "round $r" $b indexer $kb/at-$b.json; done
done
seed() { # build variant -> file
  local f=$kb/pin-$1-$2.json k
  { echo "{"
    for s in "rows=18432,cols=7168" "rows=7168,cols=18432" "rows=2048,cols=7168" "rows=7168,cols=2048"; do
      if [ $1 = before ]; then
        echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.GemvBf16Rows|$s\": \"$2\","
        echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.GemvFp8Rows|$s\": \"$2\","
      else
        echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.GemvRows<KernelSharp.Kernels.Formats.Bf16Rows>|$s\": \"$2\","
        echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.GemvRows<KernelSharp.Kernels.Formats.Fp8BlockRows>|$s\": \"$2\","
      fi
    done
    if [ $1 = before ]; then
      echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.GemvBf16|any\": \"groupSize128\","
      echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.GemvFp8|any\": \"groupSize128\""
    else
      echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.Gemv<KernelSharp.Kernels.Formats.Bf16Rows>|any\": \"groupSize128\","
      echo "\"Cuda:$gpu|KernelSharp.Kernels.Linear.GemvKernels.Gemv<KernelSharp.Kernels.Formats.Fp8BlockRows>|any\": \"groupSize128\""
    fi
    echo "}"; } > $f
  echo $f
}
i=0
for rpw in 1 2 4; do for c in 2 4; do for w in 1 4; do
  v=rowsPerWarp${rpw}_chunksInFlight${c}_warpsPerRow${w}; i=$((i + 1))
  if [ $((i % 2)) = 1 ]; then o="before head"; else o="head before"; fi
  for b in $o; do f=$(seed $b $v); cp $f /tmp/seed.json; step "pin $v" $b "decode GEMV" $f; cmp -s $f /tmp/seed.json || say "   autotune file rewritten: $b $v"; done
done; done; done
cp $kb/at-before.json $out/autotune-before.json 2>/dev/null; cp $kb/at-head.json $out/autotune-head.json 2>/dev/null
say "== done (t=$((SECONDS - start)) s)"
