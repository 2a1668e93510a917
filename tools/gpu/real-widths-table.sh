#!/usr/bin/env bash
# DeepSeek-V3.2 at its released widths on one GPU, every row from ONE device call, composed into $OUT/real-widths-table.md
# by tools/gpu/compose_real_widths.py: correctness first (the NCCL binding and the CUDA golden model on this build), then
# the first N layers (3 dense, then MoE; every width; FP8 weights with 128×128 block scales, generated on the device:
# bench --synthetic, no checkpoint on disk) at N = 1, 3, 4, 5, 7: prefill of 8K tokens and decode at 4K / 32K / 128K context
# (random keys in the caches), device memory from the driver after load and with a session of the whole context, then
# the 4-layer slice again with the FP8 caches. Per-layer costs are differences between N; the composer projects 61 layers.
#   here:   <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
#           && git rev-parse HEAD > .gpu/commit
#   device: bash tools/gpu/real-widths-table.sh      (carry [".gpu"]; about 6-9 minutes)
set -uo pipefail
out=${OUT:-/tmp/real-widths}; mkdir -p "$out"
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
start=$SECONDS
stamp() { echo "== $1 (t=$((SECONDS - start)) s)"; }
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "gpu, driver, memory: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
  echo "commit: $(cat .gpu/commit 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "command: bash tools/gpu/real-widths-table.sh (GpuTestRunner bundle with the CLI; ILGPU 1.5.3)"
} | tee "$out/info.txt"

stamp "CUDA tests: NCCL binding and group of one, golden model"
mkdir -p /work && ln -sfn "$PWD" /work/main  # test sources find tests/fixtures by build path
timeout ${TEST_S:-150} bash .gpu/run.sh --filter "${TEST_FILTER:-NcclTests|KernelBackendGoldenTests.Cuda}" KernelSharp.Runtime.Tests > "$out/tests.log" 2>&1
grep -E '^(FAIL|passed )|Skipped|NCCL' "$out/tests.log" | cut -c1-300 | tail -8

stamp "devices, and the CLI on a one-GPU NCCL group"
timeout 60 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh devices" > "$out/devices.txt" 2>&1; tail -3 "$out/devices.txt"
timeout 90 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh generate -m tests/fixtures/tiny-dsa-bf16 -p Hello -n 8 --temp 0 --gpus 1" > "$out/generate-gpus1.txt" 2>&1
timeout 90 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh generate -m tests/fixtures/tiny-dsa-bf16 -p Hello -n 8 --temp 0 --device cuda" > "$out/generate-cuda.txt" 2>&1
timeout 60 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh generate -m tests/fixtures/tiny-dsa-bf16 -p Hello -n 8 --gpus 2" > "$out/generate-gpus2.txt" 2>&1; echo "rc=$?" >> "$out/generate-gpus2.txt"
tail -n 2 "$out/generate-gpus1.txt" "$out/generate-cuda.txt" "$out/generate-gpus2.txt"

for layers in ${LAYERS:-1 3 4 5 7}; do
  stamp "first $layers layers: pp8192, tg16 at 4K / 32K / 128K"
  timeout ${BENCH_S:-110} bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench --synthetic deepseek-v3.2 --layers $layers \
    -p 8192 -n 16 -d 4096,32768,131072 --depth-fill random -r ${REPS:-4} --device cuda --json" > "$out/bench-L$layers.json" 2> "$out/bench-L$layers.err" \
    || echo "L$layers: failed or timed out (bench-L$layers.err)"
  grep -E '"test"|avg_ts|bytes_per_token' "$out/bench-L$layers.json" | tr -s ' ' | paste -sd' ' | cut -c1-400
done

stamp "first 4 layers with the FP8 caches: tg16 at 4K / 32K / 128K"
timeout ${BENCH_S:-110} bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench --synthetic deepseek-v3.2 --layers 4 \
  -p 0 -n 16 -d 4096,32768,131072 --depth-fill random -r ${REPS:-4} --device cuda --kv-cache fp8 --json" > "$out/bench-L4-fp8.json" 2> "$out/bench-L4-fp8.err" \
  || echo "L4 fp8: failed or timed out (bench-L4-fp8.err)"

stamp "compose"
python3 tools/gpu/compose_real_widths.py "$out" "$out/real-widths-table.md" && cat "$out/real-widths-table.md"
tar czf /tmp/real-widths-raw.tgz -C "$out" --exclude real-widths-table.md . \
  && find "$out" -type f ! -name real-widths-table.md -delete && mv /tmp/real-widths-raw.tgz "$out/raw.tgz"
stamp "done"
