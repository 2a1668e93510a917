#!/usr/bin/env bash
# A/B of the decode loop's managed allocations on the CPU: base (657ca10) vs this tree, alternated, same process settings.
set -euo pipefail
for round in 1 2; do
  for v in base after; do
    if [ $v = base ]; then cli=/tmp/base/Samples/KernelSharp.Cli/bin/Release/net10.0/kernelsharp.dll; else cli=/work/main/Samples/KernelSharp.Cli/bin/Release/net10.0/kernelsharp.dll; fi
    dotnet $cli bench --synthetic mid-5b --layers 2 -p 0 -n 64 -r 5 -d 256 --depth-fill random -b 1,8 --device cpu --json > $v-$round.json
  done
done
