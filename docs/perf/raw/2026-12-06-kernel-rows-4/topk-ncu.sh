#!/usr/bin/env bash
# Per-kernel GPU time of the long-row top-k (ncu, clocks left alone) and, where nsys exists, the host's CUDA API time
# per launch, for both builds: is the 2% top-k difference on the GPU or on the host?
set -uo pipefail
out=${OUT:-/tmp/kb-out}; mkdir -p "$out"; kbdir=.kb-bench15; kb=/tmp/kb; mkdir -p $kb
[ -x $kb/dotnet/dotnet ] || tar -C $kb -xJf $kbdir/runtime.tar.xz
for b in before after; do [ -f $kb/$b/app/KernelBench.dll ] || { mkdir -p $kb/$b && tar -C $kb/$b -xJf $kbdir/$b-app.tar.xz; }; done
export DOTNET_ROOT=$kb/dotnet DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
nvidia-smi --query-gpu=name --format=csv,noheader > $out/gpu.txt
for b in before after; do
  ( cd /tmp && timeout 150 ncu --clock-control none -k 'regex:TopKRow|FillInt' -c 400 --metrics gpu__time_duration.sum --csv \
      $kb/dotnet/dotnet $kb/$b/app/KernelBench.dll kernels --only "top-k" > $out/ncu-$b.csv 2> $out/ncu-$b.err ); echo "ncu $b rc=$?" >> $out/gpu.txt
done
if command -v nsys >/dev/null; then
  for b in before after; do
    ( cd /tmp && timeout 120 nsys profile -t cuda -o /tmp/ns-$b -f true $kb/dotnet/dotnet $kb/$b/app/KernelBench.dll kernels --only "top-k" > /dev/null 2>&1
      timeout 60 nsys stats -r cuda_api_sum,cuda_gpu_kern_sum -f csv /tmp/ns-$b.nsys-rep > $out/nsys-$b.txt 2>&1 ); echo "nsys $b rc=$?" >> $out/gpu.txt
  done
else echo "no nsys" >> $out/gpu.txt; fi
