#!/usr/bin/env bash
# The bf16 (tensor-core) prefill's numerical bar and its tests, in one device call (GpuTestRunner bundle with the CLI and
# ASP.NET Core: gpu-bundle.sh, then add-aspnetcore-to-bundle.sh):
#  1. transformers in bf16 (eager and sdpa) on each test fixture's prompt against the fixture's float32 golden
#     (tools/gpu/transformers_bf16_reference.py fixture) -> $OUT/bf16-reference-<fixture>.json, which is what
#     tests/fixtures/<fixture>/bf16_reference.json holds (copied there before step 2 when REFRESH_REFERENCE=1);
#  2. the CUDA tests of both prefill contracts: tensor cores (the default on CUDA) against that bar, exact against ~1e-6;
#  3. a mid-size checkpoint (create-model --preset mid-5b): an 8K-token prefill, default and exact (tokens/s), then the
#     default one with KS_PROFILE=1 (the per-kernel table into log.txt);
#  4. its first rows: N random tokens through transformers float32 (the reference) and bf16, and through
#     `kernelsharp logits` with the default prefill and with --prefill exact -> $OUT/bf16-reference-mid5b.json;
#  5. when $KB_DIR (git-ignored) holds two KernelBench app folders and the kernel-rows run.sh, the top-k rows of both
#     builds (.NET from the .gpu bundle) -> $OUT/topk.tgz.
# Steps 3-5 run while the deadline ($DEADLINE seconds) allows.
#   here:   <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && tools/gpu/add-aspnetcore-to-bundle.sh
#   device: bash tools/gpu/h200-bf16-contract.sh   (carry [".gpu"], plus $KB_DIR when set)
set -u
out=${OUT:-/tmp/h200-bf16-contract}; mkdir -p "$out"
start=$SECONDS; deadline=${DEADLINE:-570}
left() { echo $((deadline - (SECONDS - start))); }
log=$out/log.txt
say() { echo "$*" | tee -a "$log"; }
say "gpu, driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); bundle commit $(cat .gpu/commit 2>/dev/null)"
mkdir -p /work && ln -sfn "$PWD" /work/main   # test sources find tests/fixtures by build path

timeout 150 python3 tools/gpu/transformers_bf16_reference.py fixture tests/fixtures/tiny-dsa-bf16 tests/fixtures/tiny-dsa-fp8-yarn \
  > "$out/fixtures.log" 2>&1
say "== fixtures rc=$? (t=$((SECONDS - start)) s)"
if [ "${REFRESH_REFERENCE:-0}" = 1 ]; then
  for f in tiny-dsa-bf16 tiny-dsa-fp8-yarn; do
    [ -f "$out/bf16-reference-$f.json" ] && cp "$out/bf16-reference-$f.json" "tests/fixtures/$f/bf16_reference.json"
  done
fi

timeout 200 bash .gpu/run.sh --filter 'TensorCorePrefillGoldenTests.Cuda|KernelBackendGoldenTests.Cuda|TensorCoreLinearTests.Cuda|ToBf16Tests_Cuda|TensorCoreGemmExpertSlotTests_Cuda|TensorCoreAttentionTests.Cuda|TensorCoreIndexerTests.Cuda|IndexerPrefillTensorCoreTests_Cuda' \
  KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
say "== tests rc=$? (t=$((SECONDS - start)) s): $(grep -cE '^(FAILED|  FAIL)' "$out/tests.log") failed lines"

tokens=${TOKENS:-512}
m=$out/mid5b.log
timeout 200 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16" >> "$m" 2>&1
say "== mid-5b written rc=$? (t=$((SECONDS - start)) s)"
for mode in default exact; do
  [ "$(left)" -lt 60 ] && { say "-- pp8192 $mode skipped: $(left) s left"; continue; }
  option=$([ $mode = exact ] && echo "--prefill exact")
  timeout $(( $(left) - 10 )) bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 8192 -n 0 -r 1 --device cuda $option" >> "$log" 2>&1
  say "== pp8192 $mode rc=$? (t=$((SECONDS - start)) s)"
done
if [ "$(left)" -ge 60 ]; then
  timeout $(( $(left) - 10 )) bash -c "KS_PROFILE=1 GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m /tmp/mid5b -p 8192 -n 0 -r 1 --device cuda" \
    > /tmp/pp-profile.md 2> /tmp/pp-profile.log
  say "== pp8192 default, KS_PROFILE=1 rc=$? (t=$((SECONDS - start)) s)"
  grep -E "^\|" /tmp/pp-profile.log | head -40 >> "$log"
fi
if [ "$(left)" -ge 150 ]; then
python3 tools/gpu/transformers_bf16_reference.py checkpoint /tmp/mid5b --tokens "$tokens" >> "$m" 2>&1
for mode in default exact; do
  option=$([ $mode = exact ] && echo "--prefill exact")
  timeout $(( $(left) < 150 ? $(left) : 150 )) bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh logits -m /tmp/mid5b --tokens $(cat "$out/tokens.txt") -o /tmp/ours-$mode.safetensors --force --device cuda $option" \
    >> "$m" 2>&1
  say "== ours $mode rc=$? (t=$((SECONDS - start)) s)"
done
timeout $(( $(left) > 30 ? $(left) - 20 : 10 )) python3 tools/gpu/transformers_bf16_reference.py checkpoint /tmp/mid5b --tokens "$tokens" \
  --ours "KernelSharp default (tensor cores)=/tmp/ours-default.safetensors" --ours "KernelSharp --prefill exact=/tmp/ours-exact.safetensors" \
  >> "$m" 2>&1
say "== mid-5b compared rc=$? (t=$((SECONDS - start)) s)"
rm -f "$out/tokens.txt"
else say "-- mid-5b comparison skipped: $(left) s left"; fi


if [ -n "${KB_DIR:-}" ] && [ -f "$KB_DIR/run.sh" ]; then
  mkdir -p /tmp/kb && { [ -x /tmp/kb/dotnet/dotnet ] || tar -C /tmp/kb -xJf .gpu/bundle.tar.xz dotnet; }
  OUT=$out/topk DEADLINE=$(( $(left) < ${TOPK_SECONDS:-120} ? $(left) : ${TOPK_SECONDS:-120} )) STEP_CAP=50 ROWS_ONLY="top-k" bash "$KB_DIR/run.sh" > /dev/null 2>&1
  tar -C "$out" -czf "$out/topk.tgz" topk && rm -rf "$out/topk"
  say "== top-k rows done (t=$((SECONDS - start)) s)"
fi

