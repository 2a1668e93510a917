#!/usr/bin/env bash
# The batch axis against its Python peer in one device call, on one random bf16 mid-5b checkpoint made here:
#   1. the CUDA tests of the batched path (MLA layouts, grouped experts, alone vs among 63, paged cache, golden logits);
#   then `serve` under 1 and 64 streaming clients (tools/gpu/serve-load.sh, which writes the checkpoint);
#   2. `bench -b` of this build and of .gpu/before-app.tar.xz (a base commit's CLI) on the checkpoint at CONTEXT;
#   3. transformers' batched `generate` on the same checkpoint (tools/gpu/transformers_batched.py, eager; --no-compile).
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh,
#        then the base CLI: dotnet publish Samples/KernelSharp.Cli -c Release -o DIR -p:UseAppHost=false; tar -C DIR -cJf .gpu/before-app.tar.xz .
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-batch-peer.sh  (CONTEXT [1024], BATCHES [1,8,64], BUDGET seconds [540])
# Writes $OUT/{gpu.txt, tests.txt, serve-summary.md, bench.md, transformers_batched.json, logs.tgz}.
set -u
out=${OUT:-/tmp/h200-batch-peer}; mkdir -p "$out"
start=$SECONDS
budget=${BUDGET:-540}
context=${CONTEXT:-1024}
batches=${BATCHES:-1,8,64}
logs=$(mktemp -d)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout 90 bash .gpu/run.sh \
  --filter 'cuda.*(mlaattention|moetests|among|golden|paged)|(mlaattention|moetests|among|golden|paged).*cuda' \
  KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$logs/tests.log" 2>&1
echo "tests rc=$? (t=$((SECONDS - start)) s)"; grep -E '^(FAIL|passed )' "$logs/tests.log" | cut -c1-300 | tail -8 | tee "$out/tests.txt"
source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
# serve-load.sh writes the checkpoint (with DeepSeek's tokenizer) and runs `serve` under streaming clients on it
OUT="$logs/serve" BUDGET="${SERVE_BUDGET:-80}" CLIENTS="${CLIENTS:-1 64}" bash tools/gpu/serve-load.sh > "$logs/serve-load.log" 2>&1
echo "serve-load rc=$? (t=$((SECONDS - start)) s)"; cp "$logs/serve/summary.md" "$out/serve-summary.md" 2>/dev/null; tail -4 "$out/serve-summary.md" 2>/dev/null
for build in after before; do
  left=$((budget - (SECONDS - start) - 150)); [ $left -lt 40 ] && break
  echo "### $build: bench -m /tmp/mid5b -p 0 -n 32 -d $context --depth-fill random -r 2 -b $batches" | tee -a "$out/bench.md"
  timeout $((left < 120 ? left : 120)) /tmp/ks-$build.sh bench -m /tmp/mid5b -p 0 -n 32 -d "$context" --depth-fill random -r 2 -b "$batches" --device cuda 2>&1 \
    | grep -E '^\||error' | tail -5 | tee -a "$out/bench.md"
done
left=$((budget - (SECONDS - start) - 10))
OUT="$out" HF_HUB_OFFLINE=1 timeout "$left" python3 tools/gpu/transformers_batched.py /tmp/mid5b --context "$context" --new-tokens 32 \
  --batches "$batches" --no-compile > "$logs/transformers.log" 2>&1
echo "transformers rc=$? (t=$((SECONDS - start)) s)"; tail -12 "$logs/transformers.log"
tar -C "$logs" -czf "$out/logs.tgz" . 2>/dev/null
echo "done in $((SECONDS - start)) s"
