#!/usr/bin/env bash
# The real DeepSeek-V3.2 widths on one H200 (run with the CLI bundle in .gpu/: see tools/gpu/README.md).
# Writes a real-width FP8 slice (3 dense + 1 MoE layer, every width of the release) and benches three views of the same
# files (1, 3 and 4 layers: config.json edited, weights linked), so per-layer costs come out as differences:
#   dense layer = L2 − L1 (and (L3 − L1) / 2), MoE layer = L4 − L3, embedding + head + sampling = L1 − dense.
# A view of fewer layers than first_k_dense_replace keeps all its layers dense. The CLI is kernelsharp.dll in the bundle:
# GPU_APP=kernelsharp.dll (the bundle also needs ASP.NET Core: tools/gpu/add-aspnetcore-to-bundle.sh).
# Decode: tg16 at 4K / 32K / 128K (random keys written into the caches), prefill: pp8192. Device memory sampled by nvidia-smi.
set -u
out=${OUT:-/tmp/h200-real-widths}; mkdir -p "$out"
export KERNELSHARP_AUTOTUNE_FILE="$out/autotune.json"
export GPU_APP=${GPU_APP:-kernelsharp.dll}
start=$SECONDS
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; echo "commit $(cat .gpu/commit 2>/dev/null)"; } | tee "$out/log.txt"
nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader -lms 500 > "$out/memory.csv" &
sampler=$!
timeout 300 bash .gpu/run.sh create-model --preset deepseek-v3.2 --layers 4 --out /tmp/ds4 --seed 1 2>&1 | tail -2 | tee -a "$out/log.txt"
echo "== checkpoint written (t=$((SECONDS - start)) s)" | tee -a "$out/log.txt"
timeout 60 bash .gpu/run.sh inspect -m /tmp/ds4 > "$out/inspect.txt" 2>&1
for layers in ${VIEWS:-1 2 3}; do
  mkdir -p /tmp/ds$layers
  ln -sf /tmp/ds4/model.safetensors /tmp/ds$layers/model.safetensors
  python3 -c "import json,sys; c=json.load(open('/tmp/ds4/config.json')); c['num_hidden_layers']=$layers; c['first_k_dense_replace']=min(c['first_k_dense_replace'],$layers); json.dump(c,open('/tmp/ds$layers/config.json','w'),indent=2)"
done
for layers in ${BENCH_VIEWS:-4 3 2 1}; do
  echo "== bench L=$layers start (t=$((SECONDS - start)) s)" | tee -a "$out/log.txt"
  timeout ${BENCH_S:-150} bash .gpu/run.sh bench -m /tmp/ds$layers -p 8192 -n 16 -d 4096,32768,131072 --depth-fill random -r 2 --device cuda --json \
    > "$out/bench-L$layers.json" 2> "$out/bench-L$layers.err"
  echo "rc=$? (t=$((SECONDS - start)) s)" | tee -a "$out/log.txt"
  tail -3 "$out/bench-L$layers.err" | tee -a "$out/log.txt"
done
kill $sampler
echo "peak MiB: $(awk -F', ' '{gsub(/ MiB/,"",$2); if ($2>m) m=$2} END{print m}' "$out/memory.csv")" | tee -a "$out/log.txt"
