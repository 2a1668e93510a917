#!/usr/bin/env bash
# The decode loop's host arrays on a GPU: batch 1 and batch 64 decode at 4K on synthetic mid-5b, this commit's CLI
# (after: logits into the caller's buffer, the sampler's weights reused) against 657ca10's (before), alternating twice,
# both on the bundle's .NET, with bench's per-repetition costs (GC pause, full collections) in JSON.
# Here first: build the bundle of this commit (.gpu/bundle.tar.xz, .gpu/commit) and 657ca10's CLI as
# .gpu/before-app.tar.xz (git worktree add --detach /tmp/wt-before 657ca10; dotnet publish Samples/KernelSharp.Cli -c Release
# -o /tmp/before-app -p:UseAppHost=false; rm -rf /tmp/before-app/*.pdb /tmp/before-app/*/;
# XZ_OPT=-9 tar -C /tmp/before-app -cJf .gpu/before-app.tar.xz .). Device: bash docs/perf/raw/2026-12-07-decode-logits-buffer/device.sh
# (carry [".gpu"]); results under $OUT. ROUNDS="1" for one round.
# The CLI's runtime config names ASP.NET Core (serve), so the bundle's .NET must hold it: a bundle without it makes both
# builds exit at once with "No frameworks were found" in the .err files. The test runner's bundle with ASP.NET Core added
# (41 MB) plus the tracked tree is over the device's 64 MiB carry limit; a bundle of only this commit's CLI publish
# (dotnet publish Samples/KernelSharp.Cli -c Release -p:UseAppHost=false, no .pdb, no satellite folders) as app/ with
# the .NET and ASP.NET Core runtimes as dotnet/ is 34.5 MB and fits.
set -u
out=${OUT:-/tmp/logits-buffer}; mkdir -p "$out"
start=$SECONDS
source tools/gpu/before-after.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$out/device.txt"
for round in ${ROUNDS:-1 2}; do
  for v in after before; do
    /tmp/ks-$v.sh bench --synthetic mid-5b -p 0 -n 32 -d 4096 --depth-fill random -b 1,64 -r 3 --device cuda --json \
      > "$out/$v-$round.json" 2> "$out/$v-$round.err"
    echo "$v round $round done at t=$((SECONDS - start)) s" | tee -a "$out/progress.txt"
  done
done
