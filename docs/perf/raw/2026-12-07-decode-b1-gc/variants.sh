#!/usr/bin/env bash
# Which change slowed batch-1 decode (same kernels, ~1 ms more host time per token on the H200)? The same bench on this
# commit's CLI (after), on it with the ILGPU IR kept after compiles (.gpu/var-noclear.tar.xz: the Context.ClearCache line
# commented out), on it with the previous buffer pool (.gpu/var-oldpool.tar.xz: f67700c~1's DeviceMemoryPool), and on
# the base commit (before), alternating twice, all on the bundle's .NET. Device: bash .../variants.sh (carry [".gpu"]).
# The variant CLIs, here (from the repository root, at the commit measured):
#   git worktree add --detach /tmp/wt-noclear HEAD && sed -i 's|Context.ClearCache(ClearCacheMode.Everything);|// kept|' /tmp/wt-noclear/Dsl/Launch/KernelDevice.cs
#   git worktree add --detach /tmp/wt-oldpool HEAD && git show f67700c~1:Runtime/Model/Kernels/DeviceMemoryPool.cs > /tmp/wt-oldpool/Runtime/Model/Kernels/DeviceMemoryPool.cs
#     (then add `public long FreedCount { get; private set; }` to that class, which the counters read)
#   for v in noclear oldpool; do (cd /tmp/wt-$v && dotnet publish Samples/KernelSharp.Cli -c Release -o /tmp/var-$v -p:UseAppHost=false)
#     rm -rf /tmp/var-$v/*.pdb /tmp/var-$v/*/; XZ_OPT=-9 tar -C /tmp/var-$v -cJf .gpu/var-$v.tar.xz .; done
set -u
out=${OUT:-/tmp/variants}; mkdir -p "$out"
start=$SECONDS
source tools/gpu/before-after.sh
for v in noclear oldpool; do mkdir -p /tmp/var-$v && tar -C /tmp/var-$v -xJf .gpu/var-$v.tar.xz; done
run() { # label command...
  local label=$1; shift
  local line
  line=$("$@" bench --synthetic mid-5b -p 0 -n 16 -d 4096 --depth-fill random -r 3 --device cuda 2>&1 | grep -E '\| tg')
  echo "$label | $line (t=$((SECONDS - start)) s)" | tee -a "$out/variants.md"
}
var() { DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-$1.json $dotnet_dir/dotnet /tmp/var-$1/kernelsharp.dll "${@:2}"; }
for round in 1 2; do
  run after /tmp/ks-after.sh
  run noclear var noclear
  run oldpool var oldpool
  run before /tmp/ks-before.sh
done
