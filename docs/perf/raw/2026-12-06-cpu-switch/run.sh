#!/usr/bin/env bash
# One run, alternating: the former separate CPU path (`--device cpu` of BASE_CLI, CpuBackend: fp32 weights), the kernel
# path as it was there (`--device cpu-kernels` of BASE_CLI) and the kernel path of this commit (`--device cpu` of CLI),
# on a bf16 and an FP8 checkpoint, each bench twice (-r 2) with peak RSS; the read bandwidth
# (../2026-12-05-cpu-kernels-2/bandwidth-probe.cs built as a console project) before, between and after the rounds.
# usage: [RUNS="base-cpu base-cpu-kernels cpu"] [TG=32] [REPS=2] run.sh CLI_DLL BASE_CLI_DLL PROBE_DLL BF16_MODEL FP8_MODEL > bench.md
set -u
cli=$1; base=$2; probe=$3; bf16=$4; fp8=$5
runs=${RUNS:-base-cpu base-cpu-kernels cpu}; tg=${TG:-32}; reps=${REPS:-2}
echo "runs: $runs; bench -p 64 -n $tg -r $reps"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
for m in "$bf16" "$fp8"; do echo "checkpoint $m: $(cat "$m"/*.safetensors | wc -c) bytes"; done
echo "### bandwidth (start), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
for round in 1 2; do
  for model in "$bf16" "$fp8"; do
    for run in $runs; do
      case $run in
        base-cpu) dll=$base; device=cpu ;;
        base-cpu-kernels) dll=$base; device=cpu-kernels ;;
        cpu) dll=$cli; device=cpu ;;
      esac
      echo "### $run $(basename "$model") round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
      /usr/bin/time -f "maxrss_kb=%M wall=%e user=%U sys=%S" dotnet "$dll" bench -m "$model" -p 64 -n "$tg" -r "$reps" --device "$device" 2>&1 | grep -E '^\| (model|[^-])|maxrss'
    done
  done
  echo "### bandwidth (after round $round), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
done
