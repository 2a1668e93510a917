#!/usr/bin/env bash
# serve under 8 streaming clients on the CPU, base (657ca10) vs this tree, alternating: prompt pieces read one pass per
# sequence (base) or one pass per step (after). Model: create-model --preset mid-5b --layers 2 (vocabulary 129 280).
set -u
cd /work/main
for round in 1 2; do
  for v in base after; do
    if [ $v = base ]; then ks="dotnet /tmp/base/Samples/KernelSharp.Cli/bin/Release/net10.0/kernelsharp.dll"; else ks="dotnet /work/main/Samples/KernelSharp.Cli/bin/Release/net10.0/kernelsharp.dll"; fi
    OUT=/tmp/srvab/$v-$round KS="$ks" LOAD="dotnet tools/ServeLoad/bin/Release/net10.0/ServeLoad.dll" DEVICE=cpu MODEL=/tmp/mid5b-2l \
      CONTEXT=512 CLIENTS="8" PROMPT_TOKENS=128 MAX_TOKENS=16 REQUESTS_PER_CLIENT=2 LEVEL_TIMEOUT=400 BUDGET=900 PORT=18199 \
      bash tools/gpu/serve-load.sh > /tmp/srvab/$v-$round.log 2>&1
    tail -3 /tmp/srvab/$v-$round/summary.md
  done
done
