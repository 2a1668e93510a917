#!/usr/bin/env bash
# Batched decode of three builds in one device call: the CUDA tests of this build first (the warp-row GEMV with items,
# the batch-invariance and paged-cache tests, the golden logits), then bench -b on a synthetic mid-5b at DEPTH for
# .gpu/before-app.tar.xz, .gpu/mid-app.tar.xz (CLIs of two base commits) and this build, then a KS_PROFILE run of this
# build at the largest batch (per-kernel table in $OUT/profile.log).
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh,
#        then the two base CLIs: dotnet publish Samples/KernelSharp.Cli -c Release -o DIR -p:UseAppHost=false; tar -C DIR -cJf .gpu/NAME-app.tar.xz .
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-batch-three.sh  (BATCHES [1,8,64], DEPTH [4096], BUDGET seconds [560],
#        BUILDS ["before mid after"]: which CLIs to bench, in that order; TESTS: the test filter (a regex) run first)
set -u
out=${OUT:-/tmp/h200-batch-three}; mkdir -p "$out"
start=$SECONDS
budget=${BUDGET:-560}
batches=${BATCHES:-1,8,64}
depth=${DEPTH:-4096}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
builds=${BUILDS:-before mid after}
tests=${TESTS:-'cuda.*(gemvwarprows|among|paged|golden)|(gemvwarprows|among|paged|golden).*cuda'}
KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout 200 bash .gpu/run.sh --filter "$tests" \
  KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
echo "tests rc=$? (t=$((SECONDS - start)) s)"; grep -E '^(FAILED|FAIL|passed )' "$out/tests.log" | cut -c1-300 | tail -10
source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
dotnet_dir=$(ls -d /tmp/ks-gpu-*/dotnet | head -1)
[ -f .gpu/mid-app.tar.xz ] && mkdir -p /tmp/mid-app && tar -C /tmp/mid-app -xJf .gpu/mid-app.tar.xz
cat > /tmp/ks-mid.sh <<SH
#!/usr/bin/env bash
DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-mid.json \
  exec $dotnet_dir/dotnet /tmp/mid-app/kernelsharp.dll "\$@"
SH
chmod +x /tmp/ks-mid.sh
for build in $builds; do
  left=$((budget - (SECONDS - start) - 60)); [ $left -lt 30 ] && break
  echo "### $build: bench --synthetic mid-5b -p 0 -n 16 -d $depth --depth-fill random -r 2 -b $batches" | tee -a "$out/decode.md"
  timeout $((left < 170 ? left : 170)) /tmp/ks-$build.sh bench --synthetic mid-5b -p 0 -n 16 -d "$depth" --depth-fill random -r 2 -b "$batches" --device cuda 2>&1 \
    | grep -E '^\||error' | tail -6 | tee -a "$out/decode.md"
done
echo "== decode done (t=$((SECONDS - start)) s)"
left=$((budget - (SECONDS - start)))
if [ $left -gt 40 ]; then
  KS_PROFILE=1 timeout $((left - 5)) /tmp/ks-after.sh bench --synthetic mid-5b -p 0 -n 4 -d "$depth" --depth-fill random -r 1 -b "${batches##*,}" --device cuda \
    > "$out/profiled.md" 2> "$out/profile.log"
  grep -E "^\| (all|[A-Za-z]+Kernels\.)" "$out/profile.log" | head -24
fi
echo "done in $((SECONDS - start)) s"
