#!/usr/bin/env bash
# The FP8 tile landing by cvt.rn.bf16x2.f32 (Bf16.RoundPair) and the buffer pool that frees its oldest idle buffers,
# checked in one device call against the base commit (dfcd0a5, "before": the GEMM twins, the old pool):
#   1. ptxas -v (sm_90) on the PTX of the 128x128/3-stage variants: the twins at dfcd0a5, the fold at 676a99c, and
#      this build's fp8 one (files in .gpu/ptx, made without a GPU by raw/2026-12-07-ptx-compare);
#   2. CUDA tests: Bf16.RoundPair bits, the GEMM (both formats, all tiles), the FP8 widening, expert slots, the prompt
#      golden contracts, MoE, decode allocations;
#   3. KernelBench's prefill GEMM rows, both builds alternating;
#   4. an 8K-token prompt on synthetic mid-5b (bf16, FP8), five repetitions per process, both builds alternating; this
#      build's as JSON with each repetition's device allocations/frees, GC pause and autotuner measurements;
#   5. with the time left: Nsight Compute on the bf16 128x128/3 row of both builds.
# Here: .gpu/bundle.tar.xz (this commit), .gpu/before-app.tar.xz (dfcd0a5's CLI and KernelBench), .gpu/ptx/*.ptx;
# device: bash docs/perf/raw/2026-12-07-fp8-cvt-pool/run.sh  (carry [".gpu"]). At most 8 files to $OUT.
set -u
out=${OUT:-/tmp/fp8-cvt-pool}; mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
start=$SECONDS; deadline=${DEADLINE:-575}
left() { echo $((deadline - (SECONDS - start))); }
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader); bundle commit $(cat .gpu/commit)"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path

ptxas=$(command -v ptxas || ls /usr/local/cuda*/bin/ptxas 2>/dev/null | head -1)
for f in .gpu/ptx/*.ptx; do
  echo "== $(basename "$f")" >> "$out/ptxas.txt"
  $ptxas -arch=sm_90 -v "$f" -o /tmp/ptxas.cubin 2>&1 | grep -E "registers|spill|error" >> "$out/ptxas.txt"
done
say "== ptxas (t=$((SECONDS - start)) s): $(grep -c registers "$out/ptxas.txt") reports"

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  filter='Bf16RoundPair|TensorCoreGemmTests_Cuda|WidenFp8WeightsTests_Cuda|TensorCoreGemmExpertSlotTests_Cuda|TensorCoreGemmLauncherTests'
  filter="$filter|TensorCorePrefillGoldenTests.Cuda|MoeTests_Cuda|DecodeAllocationTests|TensorCoreLinearTests.Cuda"
  KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout ${TEST_SECONDS:-150} bash .gpu/run.sh --filter "$filter" \
    KernelSharp.Dsl.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
  say "== tests rc=$? (t=$((SECONDS - start)) s): $(grep -c '^PASS' "$out/tests.log") passed, $(grep -c '^FAIL' "$out/tests.log") failed"
fi

source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh; $dotnet_dir
kb_before() { DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-autotune-before.json \
  $dotnet_dir/dotnet /tmp/before-app/KernelBench.dll "$@"; }
kb_after() { GPU_APP=KernelBench.dll KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-autotune-after.json bash .gpu/run.sh "$@"; }
rows() { # round build
  [ "$(left)" -lt 60 ] && { say "-- rows $2 skipped: $(left) s left"; return; }
  echo "### round $1, $2" >> "$out/rows-$2.log"
  timeout 90 kb_$2 kernels --only "prefill GEMM" >> "$out/rows-$2.log" 2>&1
  say "-- rows round $1 $2 rc=$? (t=$((SECONDS - start)) s)"
}
pp() { # round build dtype
  [ "$(left)" -lt 50 ] && { say "-- pp $2 $3 skipped: $(left) s left"; return; }
  echo "### round $1, $2, $3" >> "$out/pp.md"
  if [ "$2" = after ]; then
    timeout 80 /tmp/ks-after.sh bench --synthetic "$here/mid-5b-$3.json" -p 8192 -n 0 -r 5 --device cuda --json 2>&1 | grep -vE '^\s*$' >> "$out/pp.md"
  else
    timeout 80 /tmp/ks-before.sh bench --synthetic "$here/mid-5b-$3.json" -p 8192 -n 0 -r 5 --device cuda --json 2>&1 | grep -vE '^\s*$' >> "$out/pp.md"
  fi
  say "-- pp round $1 $2 $3 rc=$? (t=$((SECONDS - start)) s): $(grep -E '"avg_ts"' "$out/pp.md" | tail -1)"
}
for round in ${ROUNDS:-1 2}; do
  if [ $((round % 2)) = 1 ]; then first=before; second=after; else first=after; second=before; fi
  rows $round $first; rows $round $second
  for dtype in bf16 fp8; do pp $round $first $dtype; pp $round $second $dtype; done
done
ncu=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
row="prefill GEMM bf16 wide 128×128 (4 warps of 64×64, 3 stages), 4096×18432×7168"
for build in before after; do
  [ "$(left)" -lt 45 ] && { say "-- ncu $build skipped: $(left) s left"; continue; }
  echo "### ncu $build" >> "$out/ncu.txt"
  if [ $build = before ]; then app="$dotnet_dir/dotnet /tmp/before-app/KernelBench.dll"; else app="$(ls -d /tmp/ks-gpu-*/app | head -1)/KernelBench.dll"; app="$dotnet_dir/dotnet $app"; fi
  DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-ncu-$build.json timeout $(( $(left) - 10 )) \
    $ncu --kernel-name regex:TensorCoreGemm --launch-skip 4 --launch-count 1 --section SpeedOfLight --section Occupancy \
    --section LaunchStats --section WarpStateStats --section ComputeWorkloadAnalysis $app kernels --only "$row" >> "$out/ncu.txt" 2>&1
  say "-- ncu $build rc=$? (t=$((SECONDS - start)) s)"
done
if [ "$(left)" -ge 60 ]; then # where a batch-64 decode step's GEMV time goes (tensor-core GEMV, KS_DECODE_GEMV=tensor-cores)
  echo "### ncu b64 decode TensorCoreGemv" >> "$out/ncu.txt"
  KS_DECODE_GEMV=tensor-cores DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-after.json \
    timeout $(( $(left) - 5 )) $ncu --kernel-name regex:TensorCoreGemv --launch-skip 400 --launch-count 8 --section SpeedOfLight \
    --section MemoryWorkloadAnalysis --section LaunchStats --section Occupancy \
    $dotnet_dir/dotnet "$(ls -d /tmp/ks-gpu-*/app | head -1)/kernelsharp.dll" bench --synthetic mid-5b -p 0 -n 4 -d 4096 --depth-fill random -r 1 -b 64 --device cuda >> "$out/ncu.txt" 2>&1
  say "-- ncu b64 decode rc=$? (t=$((SECONDS - start)) s)"
fi
say "== done (t=$((SECONDS - start)) s)"
