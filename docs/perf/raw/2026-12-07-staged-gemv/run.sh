#!/usr/bin/env bash
# One device call for three changes against the base commit (dfcd0a5, "before"): the tensor-core decode GEMV that stages
# each k-block's activations once per group for 4 or 8 warps of their own rows (and splits the k-blocks of matrices with
# few rows into slices), the FP8 tile landing by cvt.rn.bf16x2.f32, and the device's ILGPU IR dropped after each compile.
#   1. CUDA tests (KS_DECODE_GEMV=tensor-cores): the GEMV at every tile, warp and slice choice, its launcher and batch
#      invariance, Bf16.RoundPair, the FP8 GEMM and widening, the compiled-IR check, the CUDA goldens, alone vs among 63;
#   2. KernelBench rows, both builds: "decode GEMV" (batch 1, 8, 64) and "prefill GEMM";
#   3. decode on synthetic mid-5b at 4K, batch 1 and 64: after and before with the tensor-core GEMV, before without;
#   4. an 8K prompt (bf16, FP8), five repetitions, this build: each repetition's GC pause (was 130-170 ms in one of five).
# Here: .gpu/bundle.tar.xz (this commit), .gpu/before-app.tar.xz (dfcd0a5's CLI and KernelBench).
# Device: bash docs/perf/raw/2026-12-07-staged-gemv/run.sh (carry [".gpu"]); at most 8 files to $OUT.
set -u
out=${OUT:-/tmp/staged-gemv}; mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
start=$SECONDS; deadline=${DEADLINE:-540}
left() { echo $((deadline - (SECONDS - start))); }
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader); bundle commit $(cat .gpu/commit)"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  filter='Bf16RoundPair|TensorCoreGemvTests_Cuda|TensorCoreGemvLauncher|WidenFp8WeightsTests_Cuda|CompiledIr|TensorCoreGemmTests_Cuda.Fp8'
  filter="$filter|Cuda_prefill_and_decode_meet_the_contract|among_63_others"
  KS_DECODE_GEMV=tensor-cores KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout ${TEST_SECONDS:-170} bash .gpu/run.sh \
    --filter "$filter" KernelSharp.Dsl.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
  say "== tests rc=$? (t=$((SECONDS - start)) s): $(grep -c '^PASS' "$out/tests.log") passed, $(grep -c '^FAIL' "$out/tests.log") failed"
fi

source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh; $dotnet_dir
rows() { # build group
  [ "$(left)" -lt 70 ] && { say "-- rows $1 '$2' skipped: $(left) s left"; return; }
  echo "### $1, $2" >> "$out/rows-$1.log"
  if [ "$1" = before ]; then
    DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-autotune-before.json \
      timeout 100 $dotnet_dir/dotnet /tmp/before-app/KernelBench.dll kernels --only "$2" >> "$out/rows-$1.log" 2>&1
  else
    GPU_APP=KernelBench.dll KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-autotune-after.json timeout 100 bash .gpu/run.sh kernels --only "$2" >> "$out/rows-$1.log" 2>&1
  fi
  say "-- rows $1 '$2' rc=$? (t=$((SECONDS - start)) s)"
}
rows after "decode GEMV"; rows before "decode GEMV"
rows before "prefill GEMM"; rows after "prefill GEMM"

decode() { # build gemv
  [ "$(left)" -lt 60 ] && { say "-- decode $1 $2 skipped: $(left) s left"; return; }
  echo "### decode $1, $2 GEMV" >> "$out/decode.md"
  if [ "$2" = tensor-cores ]; then export KS_DECODE_GEMV=tensor-cores; else unset KS_DECODE_GEMV; fi
  timeout 100 /tmp/ks-$1.sh bench --synthetic mid-5b -p 0 -n 8 -d 4096 --depth-fill random -r 2 -b 1,64 --device cuda 2>&1 \
    | grep -E '^\||rror' >> "$out/decode.md"
  rc=${PIPESTATUS[0]}; unset KS_DECODE_GEMV
  say "-- decode $1 $2 rc=$rc (t=$((SECONDS - start)) s): $(grep -E '\| tg' "$out/decode.md" | tail -2 | awk -F'|' '{print $6 $7}' | tr '\n' ' ')"
}
decode after tensor-cores; decode before tensor-cores; decode before cuda-cores; decode after cuda-cores

for dtype in bf16 fp8; do
  [ "$(left)" -lt 40 ] && { say "-- pp $dtype skipped: $(left) s left"; continue; }
  echo "### pp after $dtype" >> "$out/pp.md"
  timeout 70 /tmp/ks-after.sh bench --synthetic "$here/../2026-12-07-fp8-cvt-pool/mid-5b-$dtype.json" -p 8192 -n 0 -r 5 --device cuda --json 2>&1 \
    | grep -vE '^\s*$' >> "$out/pp.md"
  say "-- pp after $dtype rc=$? (t=$((SECONDS - start)) s)"
done
say "== done (t=$((SECONDS - start)) s)"
