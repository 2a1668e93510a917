#!/usr/bin/env bash
# Batch-1 decode on synthetic mid-5b at 4K was 0.73x the base commit's (dfcd0a5) with the same CUDA-core kernels in the
# staged-GEMV call. Suspect: full garbage collections. With the ILGPU IR dropped after compiles the managed heap is small,
# so the logits arrays a decode step allocates (129 280 floats, large-object heap) set off frequent blocking full
# collections (the CLI runs without the background GC). This call times batch-1 decode (bench --json: each repetition's
# GC pauses, full collections, managed bytes) for: this build; this build with the background GC (DOTNET_gcConcurrent=1);
# the base commit's build; then per-kernel launch profiles of this build and the base's.
# Device: bash docs/perf/raw/2026-12-07-decode-b1-gc/run.sh (carry [".gpu"]).
set -u
out=${OUT:-/tmp/decode-b1-gc}; mkdir -p "$out"
start=$SECONDS; deadline=${DEADLINE:-300}
left() { echo $((deadline - (SECONDS - start))); }
say() { echo "$*" | tee -a "$out/log.txt"; }
say "gpu: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); bundle commit $(cat .gpu/commit)"
source tools/gpu/before-after.sh
run() { # label build [env...]
  local label=$1 build=$2; shift 2
  [ "$(left)" -lt 40 ] && { say "-- $label skipped: $(left) s left"; return; }
  echo "### $label" >> "$out/decode.json.txt"
  env "$@" timeout 70 /tmp/ks-$build.sh bench --synthetic mid-5b -p 0 -n 16 -d 4096 --depth-fill random -r 3 --device cuda --json 2>&1 \
    | grep -vE '^\s*$' >> "$out/decode.json.txt"
  say "-- $label rc=${PIPESTATUS[0]} (t=$((SECONDS - start)) s): $(grep -E '"avg_ts"' "$out/decode.json.txt" | tail -1)"
}
run "after" after KS_X=0
run "after, background GC" after DOTNET_gcConcurrent=1
run "before" before KS_X=0
profile() { # build: KS_PROFILE=1 per-kernel times of the same decode (synchronized launches)
  [ "$(left)" -lt 45 ] && { say "-- profile $1 skipped: $(left) s left"; return; }
  echo "### profile $1" >> "$out/profile.txt"
  KS_PROFILE=1 timeout 60 /tmp/ks-$1.sh bench --synthetic mid-5b -p 0 -n 16 -d 4096 --depth-fill random -r 1 --device cuda >> "$out/profile.txt" 2>&1
  say "-- profile $1 rc=$? (t=$((SECONDS - start)) s)"
}
profile after; profile before
# The bf16 128x128/3-stage prompt GEMM row is 1-2% slower than its twin's in every measurement: Nsight Compute on that
# row's first timed launch (after the two checking launches) in both builds.
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
for build in before after; do
  [ "$(left)" -lt 30 ] && { say "-- ncu $build skipped"; continue; }
  if [ $build = before ]; then app=/tmp/before-app/KernelBench.dll; name=regex:TensorCoreGemmWideBf16__tileN128_stages3
  else app=$(ls -d /tmp/ks-gpu-*/app | head -1)/KernelBench.dll; name=regex:TensorCoreGemm__tileN128_stages3; fi
  echo "### ncu $build" >> "$out/ncu.txt"
  DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-ncu-$build.json timeout 60 \
    $ncu --kernel-name $name --launch-skip 2 --launch-count 1 --kill yes --section SpeedOfLight --section Occupancy --section LaunchStats \
    --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
    $dotnet_dir/dotnet $app kernels --only "prefill GEMM" >> "$out/ncu.txt" 2>&1
  say "-- ncu $build rc=$? (t=$((SECONDS - start)) s)"
done
say "== done (t=$((SECONDS - start)) s)"
