#!/usr/bin/env bash
# Where a decode step's host time goes: decode on a synthetic mid-5b model at 4K context, once plainly (tokens/s) and
# once under .NET's EventPipe sample profiler (every managed thread's stack each millisecond; no tool needed on the GPU
# machine). The .nettrace comes back under $OUT; read it here with `dotnet-trace convert --format speedscope`.
# Here:  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
# There (device run, carry [".gpu"]):  bash tools/gpu/h200-host-profile.sh   → $OUT/decode.md, $OUT/decode.nettrace
#   (MODEL="--synthetic mid-5b", TOKENS=256, DEPTH=4096 vary the run)
set -u
out=${OUT:-/tmp/h200-host-profile}; mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
export KERNELSHARP_AUTOTUNE_FILE=/tmp/ks-autotune-profile.json
model=${MODEL:---synthetic mid-5b}
bench="bench $model -p 0 -n ${TOKENS:-256} -d ${DEPTH:-4096} --depth-fill random --device cuda"
start=$SECONDS
{
  echo "### plain: $bench -r 2"
  timeout 200 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh $bench -r 2" 2>&1 | grep -E '^\||^model|^backend|error' | tail -6
  echo "### sampled (EventPipe): $bench -r 1"
  DOTNET_EnableEventPipe=1 DOTNET_EventPipeOutputPath="$out/decode.nettrace" \
  DOTNET_EventPipeConfig='Microsoft-DotNETCore-SampleProfiler:0:5,Microsoft-Windows-DotNETRuntime:4c14fccbd:5' \
    timeout 200 bash -c "GPU_APP=kernelsharp.dll bash .gpu/run.sh $bench -r 1" 2>&1 | grep -E '^\||error' | tail -4
} | tee -a "$out/decode.md"
xz -T0 -6 "$out/decode.nettrace"  # ~34 MB raw: over the 16 MiB a returned file may have
ls -la "$out"; echo "nsys: $(command -v nsys || echo none)"
echo "done in $((SECONDS - start)) s"
