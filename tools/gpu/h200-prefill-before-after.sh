#!/usr/bin/env bash
# A prompt's speed before and after a change, in one device call: the CUDA tests of the prompt kernels and of both
# prefill contracts first; then one mid-5b checkpoint (create-model --preset mid-5b --seed 1) prefilled 8K tokens by the
# base build's CLI (.gpu/before-app.tar.xz, run on the bundle's .NET: tools/gpu/before-after.sh) and by this bundle's,
# alternating which goes first, with transformers bf16 (tools/gpu/transformers_baseline.py) on the same checkpoint
# between the rounds; then the new build under KS_PROFILE=1 and KernelBench's sparse MLA and indexer prefill rows with
# their PyTorch baselines. Steps run while the deadline ($DEADLINE seconds) allows.
#   here:   <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && tools/gpu/add-aspnetcore-to-bundle.sh,
#           trimmed as docs/perf/prefill-bf16-default.md says, plus .gpu/before-app.tar.xz (the base commit's CLI files)
#   device: bash tools/gpu/h200-prefill-before-after.sh   (carry [".gpu"])
set -u
out=${OUT:-/tmp/prefill-before-after}; mkdir -p "$out"
start=$SECONDS; deadline=${DEADLINE:-560}
left() { echo $((deadline - (SECONDS - start))); }
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); bundle commit $(cat .gpu/commit 2>/dev/null)"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path

filter='HeadLayoutTests_Cuda|SparseMlaTensorCoreTests_Cuda|IndexerPrefillTensorCoreTests_Cuda|MoeTests_Cuda|TensorCorePrefillGoldenTests.Cuda'
filter="$filter|KernelBackendGoldenTests.Cuda|TensorCoreAttentionTests.Cuda|TensorCoreIndexerTests.Cuda|TensorCoreLinearTests.Cuda"
filter="$filter|LargeSharedMemoryTests.Staged_reverse|Cuda_greedy_tokens_are_the_same_alone_and_among_63_others"
timeout ${TEST_SECONDS:-200} bash .gpu/run.sh --filter "$filter" KernelSharp.Generators.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
say "== tests rc=$? (t=$((SECONDS - start)) s): $(grep -c '^PASS' "$out/tests.log") passed, $(grep -c '^FAIL' "$out/tests.log") failed"

timeout 120 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16" > "$out/create.log" 2>&1
say "== mid-5b written rc=$? (t=$((SECONDS - start)) s)"
source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
bench="bench -m /tmp/mid5b -p ${TOKENS:-8192} -n 0 -r 2 --device cuda"
run() { # build
  [ "$(left)" -lt 60 ] && { say "-- $1 skipped: $(left) s left"; return; }
  echo "### $1" >> "$out/pp.md"
  timeout 90 /tmp/ks-$1.sh $bench >> "$out/pp.md" 2>&1
  say "== $1 rc=$? (t=$((SECONDS - start)) s): $(grep -E '\| pp' "$out/pp.md" | tail -1)"
}
run before; run after
if [ "$(left)" -ge 120 ]; then
  OUT="$out" timeout 110 python3 tools/gpu/transformers_baseline.py /tmp/mid5b ${TOKENS:-8192} > "$out/transformers.log" 2>&1
  say "== transformers rc=$? (t=$((SECONDS - start)) s): $(grep -o '"prefill_tokens_per_s": [0-9.]*' "$out/transformers.json" 2>/dev/null)"
fi
run after; run before
if [ "$(left)" -ge 60 ]; then
  timeout 60 bash -c "KS_PROFILE=1 /tmp/ks-after.sh ${bench/-r 2/-r 1}" > /dev/null 2> "$out/profile.log"
  say "== after, KS_PROFILE=1 rc=$? (t=$((SECONDS - start)) s)"
  grep -E "^\|" "$out/profile.log" | head -40 >> "$log"
fi
if [ "$(left)" -ge 100 ]; then
  OUT="$out" timeout 80 python3 tools/gpu/baselines.py --prefill-only > "$out/baselines.log" 2>&1
  timeout $(( $(left) - 10 )) bash -c "GPU_APP=KernelBench.dll bash .gpu/run.sh kernels --only 'prefill' --baselines '$out/baselines.json' --out '$out/rows.md'" > "$out/rows.log" 2>&1
  say "== prefill kernel rows rc=$? (t=$((SECONDS - start)) s)"
  grep -E "^\| (sparse|indexer|HBM)" "$out/rows.md" >> "$log" 2>/dev/null
fi
