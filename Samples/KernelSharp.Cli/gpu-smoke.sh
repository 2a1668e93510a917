#!/usr/bin/env bash
# GPU smoke run of the kernelsharp CLI (for the GPU machine; this repository's dev box has none).
# Usage: Samples/KernelSharp.Cli/gpu-smoke.sh [OUT_DIR]   — writes every verb's output under OUT_DIR (default ./gpu-smoke).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${1:-gpu-smoke}"
mkdir -p "$out"
dotnet build -c Release Samples/KernelSharp.Cli >"$out/build.log" 2>&1 || { echo "build failed, see $out/build.log"; exit 1; }
if [ -n "${KS_ARTIFACTS:-}" ]; then dll="$KS_ARTIFACTS/bin/KernelSharp.Cli/release/kernelsharp.dll"
else dll="Samples/KernelSharp.Cli/bin/Release/net10.0/kernelsharp.dll"; fi
ks() { dotnet "$dll" "$@"; }

run() { # name, then the command line; records stdout, stderr and the exit code
  local name="$1"; shift
  ks "$@" >"$out/$name.out" 2>"$out/$name.err"; echo "$name: exit $?" | tee -a "$out/summary.txt"
}

run devices          devices
run kernels          kernels
run generate-auto    generate -m tests/fixtures/tiny-dsa-bf16 -p "Hello" -n 32 --temp 0
run generate-cuda    generate -m tests/fixtures/tiny-dsa-bf16 -p "Hello" -n 32 --temp 0 --device cuda
run logits-cuda      logits -m tests/fixtures/tiny-dsa-fp8-yarn --tokens 1,2,3,4,5,6,7,8 --decode-from 4 --device cuda -o "$out/logits.safetensors"
run bench-tiny       bench -m tests/fixtures/tiny-dsa-bf16 --device cuda
run bench-tiny-json  bench -m tests/fixtures/tiny-dsa-fp8-yarn --device cuda --json
# A mid-size random model (~11 GB bf16): exercises loading, the memory estimate and real throughput.
if [ ! -d "$out/mid-5b" ]; then
  run create-mid     create-model --preset mid-5b -o "$out/mid-5b" --dtype bf16 --shards 4
fi
run inspect-mid      inspect -m "$out/mid-5b"
# Short tests: while the model has no GPU backend this runs on the CPU fallback (fp32, ~22 GB of RAM).
run bench-mid        bench -m "$out/mid-5b" -p 128 -n 16 -r 1 --device cuda
cat "$out/summary.txt"
