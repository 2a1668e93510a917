#!/usr/bin/env bash
# One run, alternating: `--device cpu` of a base build (BASE_CLI_DLL) and of this commit (CLI_DLL), on a bf16 and an FP8
# checkpoint, each bench -p 64 -n $TG -r $REPS with peak RSS; the read bandwidth (probe: ../2026-12-05-cpu-kernels-2/
# bandwidth-probe.cs built as a console project) before and after each round.
# usage: [TG=128] [REPS=2] [ROUNDS=2] run.sh CLI_DLL BASE_CLI_DLL PROBE_DLL BF16_MODEL FP8_MODEL > bench.md
set -u
cli=$1; base=$2; probe=$3; bf16=$4; fp8=$5
tg=${TG:-128}; reps=${REPS:-2}; rounds=${ROUNDS:-2}
echo "bench -p 64 -n $tg -r $reps --device cpu; base $base, this $cli"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
for m in "$bf16" "$fp8"; do echo "checkpoint $m: $(cat "$m"/*.safetensors | wc -c) bytes"; done
echo "### bandwidth (start), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
for round in $(seq 1 "$rounds"); do
  for model in "$bf16" "$fp8"; do
    order="base this"; [ $((round % 2)) = 0 ] && order="this base"
    for run in $order; do
      dll=$cli; [ "$run" = base ] && dll=$base
      echo "### $run $(basename "$model") round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
      /usr/bin/time -f "maxrss_kb=%M wall=%e user=%U sys=%S" dotnet "$dll" bench -m "$model" -p 64 -n "$tg" -r "$reps" --device cpu 2>&1 | grep -E '^\| (model|[^-])|maxrss'
    done
  done
  echo "### bandwidth (after round $round), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
done
