#!/usr/bin/env bash
# FP8 only, alternating
cli=$1; base=$2; probe=$3; fp8=$4; rounds=${ROUNDS:-3}
echo "### bandwidth (start), load: $(cut -d' ' -f1-3 /proc/loadavg)"; dotnet "$probe" bw
for round in $(seq 1 $rounds); do
  order="base this"; [ $((round % 2)) = 0 ] && order="this base"
  for run in $order; do
    dll=$cli; [ "$run" = base ] && dll=$base
    echo "### $run round $round, load: $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -f "maxrss_kb=%M" dotnet "$dll" bench -m "$fp8" -p 64 -n 128 -r 2 --device cpu 2>&1 | grep -E 'tg128|maxrss'
  done
  echo "### bandwidth (after round $round)"; dotnet "$probe" bw
done
