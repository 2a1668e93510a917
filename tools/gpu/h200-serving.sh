#!/usr/bin/env bash
# The serving rows in one device call, all on one random bf16 mid-5b checkpoint made here (create-model, seed 1):
#   1. `kernelsharp serve` under concurrent streaming clients (tools/gpu/serve-load.sh, levels cut to SERVE_BUDGET);
#   2. transformers' batched generate on the same checkpoint (tools/gpu/transformers_batched.py: batch 1/8/64 eager and
#      the StaticCache + torch.compile batch-1 peer) at CONTEXT tokens;
#   3. our batched decode on the same checkpoint at the same context (bench -b), so the ratio is from one run.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-serving.sh  → $OUT/summary.md, transformers_batched.json, bench.md
#   (CONTEXT [1024], BATCHES [1,8,64], SERVE_BUDGET seconds [200], PEER_TIMEOUT seconds [240])
set -u
out=${OUT:-/tmp/h200-serving}; mkdir -p "$out"
start=$SECONDS
context=${CONTEXT:-1024}
batches=${BATCHES:-1,8,64}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
OUT="$out" BUDGET="${SERVE_BUDGET:-200}" CLIENTS="${CLIENTS:-1 16 64}" bash tools/gpu/serve-load.sh > "$out/serve-load.log" 2>&1
echo "serve-load rc=$? (t=$((SECONDS - start)) s)"; cat "$out/summary.md" 2>/dev/null | tail -8
OUT="$out" HF_HUB_OFFLINE=1 timeout "${PEER_TIMEOUT:-240}" python3 tools/gpu/transformers_batched.py /tmp/mid5b --context "$context" --new-tokens 32 \
  --batches "$batches" > "$out/transformers.log" 2>&1
echo "transformers rc=$? (t=$((SECONDS - start)) s)"; tail -25 "$out/transformers.log"
GPU_APP=kernelsharp.dll timeout 150 bash .gpu/run.sh bench -m /tmp/mid5b -p 0 -n 32 -d "$context" --depth-fill random -r 2 -b "$batches" --device cuda 2>&1 \
  | grep -E '^\||error' | tee "$out/bench.md"
# The device returns only a few files: the logs travel in one archive so the tables and the transformers JSON come back.
(cd "$out" && tar -czf logs.tgz --remove-files serve.log serve-load.log create-model.log transformers.log load.tgz 2>/dev/null)
echo "done in $((SECONDS - start)) s"
