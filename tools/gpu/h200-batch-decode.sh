#!/usr/bin/env bash
# Batched decode on the paged KV cache, before and after, in one device call:
#   1. the CUDA tests of the paged cache kernels and the model on them (correctness of this build first);
#   2. decode at 4K on a synthetic mid-5b model, batch 1 and a batch axis (-b 1,8,32,64), with the CLI of the base commit
#      ("before", .gpu/before-app.tar.xz) and of this build ("after"), alternating on the same machine;
#   3. optionally (PEER=1) transformers' batched generate on the same config at the same context (tools/gpu/transformers_batched.py).
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
#        and the base commit's CLI: dotnet publish Samples/KernelSharp.Cli -c Release -o DIR -p:UseAppHost=false;
#        tar -C DIR -cJf .gpu/before-app.tar.xz .
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-batch-decode.sh   → $OUT/tests.log, decode.md (+ peer.json)
#   (SKIP_TESTS=1, ROUNDS="1 2", BATCHES=1,8,32,64, DEPTH=4096, MODEL="--synthetic mid-5b", PEER=1 vary the run)
set -u
out=${OUT:-/tmp/h200-batch-decode}; mkdir -p "$out"
mkdir -p /work && ln -sfn "$PWD" /work/main
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
start=$SECONDS
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-tests.json timeout 240 bash .gpu/run.sh \
    --filter 'cuda.*(paged|keypages|selection|compact|rope|rmsnorm|storekv|indexer|topk|mla|golden|decodeallocation|fp8latent|among)|(paged|keypages|selection|compact|rope|rmsnorm|storekv|indexer|topk|mla|golden|decodeallocation|fp8latent|among).*cuda' \
    KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
  echo "tests rc=$? in $((SECONDS - start)) s"; grep -E '^(FAILED|FAIL|passed )' "$out/tests.log" | cut -c1-300 | tail -12
fi

source tools/gpu/before-after.sh   # /tmp/ks-before.sh, /tmp/ks-after.sh
model=${MODEL:---synthetic mid-5b}
depth=${DEPTH:-4096}
batches=${BATCHES:-1,8,32,64}
{
  for round in ${ROUNDS:-1 2}; do
    for build in before after; do
      echo "### $build, round $round: bench $model -p 0 -n 32 -d $depth --depth-fill random -r 2 -b $batches"
      timeout 200 /tmp/ks-$build.sh bench $model -p 0 -n 32 -d "$depth" --depth-fill random -r 2 -b "$batches" --device cuda 2>&1 | grep -E '^\||error' | tail -6
    done
  done
} | tee -a "$out/decode.md"
echo "== decode done (t=$((SECONDS - start)) s)"
if [ "${PEER:-0}" = 1 ]; then
  timeout "${PEER_TIMEOUT:-240}" python3 tools/gpu/transformers_batched.py --preset mid-5b --context "$depth" --batches "$batches" --out "$out/peer.json" > "$out/peer.log" 2>&1
  echo "peer rc=$?"; tail -15 "$out/peer.log"
fi
echo "done in $((SECONDS - start)) s"
