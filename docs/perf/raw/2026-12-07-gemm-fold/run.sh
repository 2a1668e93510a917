#!/usr/bin/env bash
# The prompt's tensor-core GEMMs written once (TensorCoreGemm<TWeights, TItems>: bf16 and FP8 weights, a prompt's rows or
# routed-expert slots), checked in one device call against the commit before (dfcd0a5, "before"):
#   1. CUDA tests of the kernel, the prompt contracts (tensor-core prefill goldens, Linear, MoE) and the indexer;
#   2. KernelBench's prefill GEMM rows (bf16 and fp8 weights, every tile and depth) of both builds, alternating;
#   3. an 8K-token prompt on synthetic mid-5b (mid-5b-bf16.json, mid-5b-fp8.json: the preset's config, the second with
#      FP8 quantization_config), both builds alternating: every Linear, routed expert and kv_b projection of the prompt
#      runs through the GEMM;
#   4. for the batched-decode work: this build's decode at 4K, batch 64, tensor-core GEMV on, under KS_PROFILE=1.
# Here: the GpuTestRunner bundle in .gpu/bundle.tar.xz (with ASP.NET Core) and .gpu/before-app.tar.xz (dfcd0a5's CLI and
# KernelBench published into one folder); device: bash docs/perf/raw/2026-12-07-gemm-fold/run.sh  (carry [".gpu"])
# Writes at most 8 files to $OUT: log.txt, tests.log, before.log, after.log, pp.md, profile.log.
set -u
out=${OUT:-/tmp/gemm-fold}; mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
start=$SECONDS; deadline=${DEADLINE:-575}
left() { echo $((deadline - (SECONDS - start))); }
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader); bundle commit $(cat .gpu/commit)"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path

if [ "${SKIP_TESTS:-0}" != 1 ]; then
  filter='TensorCoreGemmTests_Cuda|TensorCoreGemmLauncherTests|TensorCoreGemmExpertSlotTests_Cuda|TensorCorePrefillGoldenTests.Cuda|TensorCoreLinearTests.Cuda'
  filter="$filter|MoeTests_Cuda|IndexerDecodeTests_Cuda|IndexerScoresTests_Cuda|TensorCoreAttentionTests.Cuda"
  KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout ${TEST_SECONDS:-150} bash .gpu/run.sh --filter "$filter" \
    KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
  say "== tests rc=$? (t=$((SECONDS - start)) s): $(grep -c '^PASS' "$out/tests.log") passed, $(grep -c '^FAIL' "$out/tests.log") failed"
fi

source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh; $dotnet_dir
rows() { # round build
  [ "$(left)" -lt 70 ] && { say "-- rows $2 skipped: $(left) s left"; return; }
  echo "### round $1, $2" >> "$out/$2.log"
  if [ "$2" = before ]; then
    DOTNET_ROOT=$dotnet_dir DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-autotune-before.json \
      timeout 90 $dotnet_dir/dotnet /tmp/before-app/KernelBench.dll kernels --only "prefill GEMM" >> "$out/before.log" 2>&1
  else
    GPU_APP=KernelBench.dll KERNELSHARP_AUTOTUNE_FILE=/tmp/kb-autotune-after.json \
      timeout 90 bash .gpu/run.sh kernels --only "prefill GEMM" >> "$out/after.log" 2>&1
  fi
  say "-- rows round $1 $2 rc=$? (t=$((SECONDS - start)) s)"
}
pp() { # round build dtype
  [ "$(left)" -lt 60 ] && { say "-- pp $2 $3 skipped: $(left) s left"; return; }
  echo "### round $1, $2, $3" >> "$out/pp.md"
  timeout 75 /tmp/ks-$2.sh bench --synthetic "$here/mid-5b-$3.json" -p 8192 -n 0 -r 2 --device cuda 2>&1 | grep -E '^\||rror' >> "$out/pp.md"
  say "-- pp round $1 $2 $3 rc=$? (t=$((SECONDS - start)) s): $(grep -E '\| pp' "$out/pp.md" | tail -1)"
}
for round in ${ROUNDS:-1 2}; do
  if [ $((round % 2)) = 1 ]; then first=before; second=after; else first=after; second=before; fi
  rows $round $first; rows $round $second
  for dtype in bf16 fp8; do pp $round $first $dtype; pp $round $second $dtype; done
done
if [ "${SKIP_PROFILE:-0}" != 1 ] && [ "$(left)" -ge 70 ]; then
  KS_DECODE_GEMV=tensor-cores KS_PROFILE=1 timeout $(( $(left) - 5 )) /tmp/ks-after.sh bench --synthetic mid-5b -p 0 -n 8 -d 4096 \
    --depth-fill random -r 1 -b 64 --device cuda > "$out/profile.log" 2>&1
  say "== b64 decode profile rc=$? (t=$((SECONDS - start)) s): $(grep -E '\| tg' "$out/profile.log" | tail -1)"
fi
say "== done (t=$((SECONDS - start)) s)"
