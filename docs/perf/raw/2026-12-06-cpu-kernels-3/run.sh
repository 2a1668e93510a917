#!/usr/bin/env bash
# One run, alternating devices: bench each device twice (-r 2) with its peak RSS, wall time and CPU time (user + sys,
# which a machine shared with other jobs distorts less than wall time), the load average before each, and the
# machine's read bandwidth (../2026-12-05-cpu-kernels-2/bandwidth-probe.cs) before, between and after the rounds.
# cpu-kernels-main is the generated CPU path of the commit this branch started from, built separately.
# usage: run.sh CLI_DLL MODEL_DIR PROBE_DLL MAIN_CLI_DLL > bench.md
set -u
cli=$1; model=$2; probe=$3; main_cli=$4
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); commit $(git rev-parse --short HEAD)"
echo "checkpoint bytes: $(cat "$model"/*.safetensors | wc -c)"
echo "### bandwidth (start), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
for round in 1 2; do
  for run in cpu cpu-kernels cpu-kernels-main; do
    device=${run%-main}; dll=$cli; [ "$run" = cpu-kernels-main ] && dll=$main_cli
    echo "### $run round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -f "maxrss_kb=%M wall=%e user=%U sys=%S" dotnet "$dll" bench -m "$model" -p 64 -n 16 -r 2 --device "$device" 2>&1 | grep -E '^\| (model|[^-])|maxrss'
  done
  echo "### bandwidth (after round $round), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
done
