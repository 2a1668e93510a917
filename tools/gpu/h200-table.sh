#!/usr/bin/env bash
# The WHOLE H200 performance table from one run on the H200: PyTorch/cuBLAS baselines and the copy ceiling, KernelBench's kernel
# rows, the transformers end-to-end baseline and KernelSharp end to end on the same mid-size checkpoint, composed by
# tools/gpu/compose_table.py into $OUT/h200-table.md (and docs/perf/h200-table.md of the device's working copy).
#   here:   <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj   (carries the CLI and KernelBench)
#   device: bash tools/gpu/h200-table.sh          (device run with carry [".gpu"]; fits the 10-minute call limit)
# Every step is capped so a slow one cannot take the others with it; its log is under $OUT.
set -uo pipefail
out=${OUT:-/tmp/h200-table}; mkdir -p "$out"
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
ks() { GPU_APP=kernelsharp.dll bash .gpu/run.sh "$@"; }
kb() { GPU_APP=KernelBench.dll bash .gpu/run.sh "$@"; }
model=/tmp/mid5b
command="bash tools/gpu/h200-table.sh"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "gpu, driver, memory, max SM clock: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader)"
  echo "commit: ${KS_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  echo "command: $command (GpuTestRunner bundle with the CLI and KernelBench; ILGPU 1.5.3)"
} > "$out/info.txt"
cat "$out/info.txt"
start=$SECONDS
stamp() { echo "== $1 (t=$((SECONDS - start)) s)"; }

if [ -n "${GOLDEN:-}" ]; then  # TEST_FILTER=cuda runs every CUDA test instead
  stamp "golden model tests on CUDA (correctness of the same build first)"
  mkdir -p /work && ln -sfn "$PWD" /work/main && ln -sfn "$PWD" /tmp/ks-head  # test sources find tests/fixtures by build path
  timeout 150 bash .gpu/run.sh --filter "${TEST_FILTER:-KernelBackendGoldenTests.Cuda|DecodeAllocationTests.Cuda}" \
    KernelSharp.Dsl.Tests KernelSharp.Kernels.Tests KernelSharp.Runtime.Tests > "$out/golden.log" 2>&1
  grep -E '^(FAIL|passed )' "$out/golden.log" | cut -c1-300 | tail -8
  grep -E 'Cuda tiny' "$out/golden.log" | cut -c1-200
fi

stamp "checkpoint (create-model, in the background: disk and CPU only)"
( ks create-model --preset mid-5b --out $model --seed 1 --dtype bf16 > "$out/create-model.log" 2>&1 ) &
writer=$!

stamp "PyTorch baselines"
OUT="$out" timeout 120 python3 tools/gpu/baselines.py > "$out/baselines.log" 2>&1 || echo "baselines.py failed or timed out (baselines.log)"

stamp "KernelBench kernel rows"
timeout 210 bash -c "GPU_APP=KernelBench.dll bash .gpu/run.sh kernels --baselines '$out/baselines.json' --out '$out/kernels.md'" > "$out/kernelbench.log" 2>&1 \
  || echo "KernelBench: some rows failed or the step timed out (kernelbench.log)"

wait $writer; tail -1 "$out/create-model.log"
stamp "transformers baseline (4K, 8K, 32K, 128K)"
PYTHONUNBUFFERED=1 OUT="$out" timeout 140 python3 tools/gpu/transformers_baseline.py $model 4096 8192 32768 131072 > "$out/transformers.log" 2>&1 \
  || echo "transformers: stopped (timeout or error; finished contexts are kept in transformers.json)"

stamp "transformers StaticCache + torch.compile(mode=reduce-overhead) at 4K, batch 1 (the strongest Python peer; logits checked against eager)"
PYTHONUNBUFFERED=1 OUT="$out" timeout ${PEER_SECONDS:-240} python3 tools/gpu/transformers_batched.py $model --context 4096 --new-tokens 32 --batches 1 \
  --compile-route ${COMPILE_ROUTE:-forward} > "$out/transformers-compiled.log" 2>&1 \
  || echo "transformers compiled peer: stopped (timeout or error; transformers-compiled.log)"

stamp "KernelSharp end to end"
timeout 170 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m $model -p 8192 -n 16 -d 0,4096,32768,131072 --depth-fill random -r 2 --device cuda --json" \
  > "$out/ours.json" 2> "$out/ours.log" || echo "kernelsharp bench: failed or timed out (ours.log)"

stamp "KernelSharp prefill with --prefill exact (fp32 activations; the default above runs the tensor cores)"
timeout 120 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench -m $model -p 8192 -n 0 -r 2 --device cuda --prefill exact --json" \
  > "$out/ours-exact.json" 2> "$out/ours-exact.log" || echo "kernelsharp bench --prefill exact: failed or timed out (ours-exact.log)"

stamp "compose"
mkdir -p docs/perf
python3 tools/gpu/compose_table.py "$out" "$out/h200-table.md" && cp "$out/h200-table.md" docs/perf/h200-table.md
# The device call returns at most 8 files: everything but the table travels as one archive.
tar czf /tmp/h200-table-raw.tgz -C "$out" --exclude h200-table.md . \
  && find "$out" -type f ! -name h200-table.md -delete && mv /tmp/h200-table-raw.tgz "$out/raw.tgz"
stamp "done"
