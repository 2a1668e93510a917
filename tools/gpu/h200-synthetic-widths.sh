#!/usr/bin/env bash
# DeepSeek-V3.2 at its released widths on one GPU, with weights generated on the device (bench --synthetic): no
# checkpoint on disk. The first N layers (3 dense, then MoE) at every width, FP8 weights like the release; decode at
# context 4K (random keys in the caches) and a 2K-token prefill. Per-layer costs come from differences between N.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-synthetic-widths.sh   → $OUT/synthetic.md
#   (LAYERS="3 4", DEPTH=32768, EXTRA="--prefill tensor-cores" vary the run)
set -u
out=${OUT:-/tmp/h200-synthetic}; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
export KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-synthetic.json
start=$SECONDS
for layers in ${LAYERS:-1 3 4 5}; do
  echo "### deepseek-v3.2, first $layers layers (t=$((SECONDS - start)) s)"
  timeout 170 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh bench --synthetic deepseek-v3.2 --layers $layers \
    -p ${PP:-2048} -n 16 -d ${DEPTH:-4096} --depth-fill random -r 2 --device cuda ${EXTRA:-}" 2>&1 | grep -E '^\||^model|^backend|error' | tail -6
done | tee -a "$out/synthetic.md"
echo "done in $((SECONDS - start)) s"
