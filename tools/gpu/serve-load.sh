#!/usr/bin/env bash
# `kernelsharp serve` under load on the GPU machine, in one device call: start the server from the bundle on a checkpoint
# (MODEL, default a random mid-5b made here with create-model), wait for /health, run the load tool (tools/ServeLoad) at
# each client count of CLIENTS, stop the server with SIGTERM (it drains and exits 130). Per level: $OUT/load-cN.json (the
# summary and every request) and load-cN.md; the server's log in $OUT/serve.log; one table of all levels in summary.md.
#
# Here:   <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh
#         (the runner's publish holds the CLI and ServeLoad.dll; serve needs the ASP.NET Core runtime added to the bundle)
# There:  bash tools/gpu/serve-load.sh       (device run, carry [".gpu"]; estimated 5-8 minutes with the defaults (not yet run on the GPU), most of it
#         writing the 10 GB checkpoint and prefill; MODEL=/tmp/mid5b on a warm machine skips the writing)
#
# Environment (defaults in brackets):
#   MODEL [/tmp/mid5b: create-model --preset $PRESET, if absent]  PRESET [mid-5b]  DEVICE [cuda]  PORT [8199]  CONTEXT (-c) [2048]  MAX_BATCH [largest client count]
#   KV_MEMORY (--kv-memory, e.g. 8G) [server default]  CLIENTS ["1 8 32 64"]  REQUESTS_PER_CLIENT [2]
#   PROMPT_TOKENS [128]  MAX_TOKENS [128]  WARMUP [one request per client at every level, replies capped at 16 tokens]  LEVEL_TIMEOUT seconds [180]
#   HEALTH_TIMEOUT seconds [300]  BUDGET seconds for the whole script, levels cut to fit [540]  SERVE_ARGS (more serve options)
# CPU dry run of the script itself (no bundle; the SDK builds here):
#   KS="dotnet Samples/KernelSharp.Cli/bin/Release/net10.0/kernelsharp.dll" LOAD="dotnet tools/ServeLoad/bin/Release/net10.0/ServeLoad.dll" \
#   DEVICE=cpu PRESET=tiny CONTEXT=256 CLIENTS="1 4" PROMPT_TOKENS=32 MAX_TOKENS=8 bash tools/gpu/serve-load.sh
set -uo pipefail
out=${OUT:-/tmp/serve-load}; mkdir -p "$out"
fail() { echo "serve-load: error: $*" | tee -a "$out/summary.md" >&2; exit 1; }
start=$SECONDS
stamp() { echo "== $1 (t=$((SECONDS - start)) s)"; }

device=${DEVICE:-cuda}
port=${PORT:-8199}
context=${CONTEXT:-2048}
clients_list=${CLIENTS:-1 8 32 64}
per_client=${REQUESTS_PER_CLIENT:-2}
prompt_tokens=${PROMPT_TOKENS:-128}
max_tokens=${MAX_TOKENS:-128}
level_timeout=${LEVEL_TIMEOUT:-180}
largest=0; for c in $clients_list; do [[ $c =~ ^[1-9][0-9]*$ ]] || fail "CLIENTS must be positive integers, got '$c'"; (( c > largest )) && largest=$c; done
(( largest > 0 )) || fail "CLIENTS is empty"
max_batch=${MAX_BATCH:-$largest}

# The two programs: from the bundle (the GPU machine has no SDK), or KS / LOAD given as commands (the CPU dry run).
if [ -z "${KS:-}" ] || [ -z "${LOAD:-}" ]; then
  { [ -f .gpu/run.sh ] && [ -f .gpu/bundle.tar.xz ]; } || fail "no bundle at .gpu/ (run from the repository root with carry [\".gpu\"]); build it with:
  <workplace>/tools/gpu-bundle.sh tools/gpu/GpuTestRunner/GpuTestRunner.csproj && bash tools/gpu/add-aspnetcore-to-bundle.sh"
  bash .gpu/run.sh --help > /dev/null 2>&1 || true   # unpacks the bundle once; its path is the one run.sh computes
  bundle=/tmp/ks-gpu-$(cksum < .gpu/bundle.tar.xz | cut -d" " -f1)
  [ -x "$bundle/dotnet/dotnet" ] || fail "the bundle did not unpack into $bundle"
  [ -f "$bundle/app/kernelsharp.dll" ] || fail "the bundle has no kernelsharp.dll: make it from tools/gpu/GpuTestRunner (which references the CLI)"
  [ -f "$bundle/app/ServeLoad.dll" ] || fail "the bundle has no ServeLoad.dll: make it from tools/gpu/GpuTestRunner of a commit that references tools/ServeLoad"
  [ -d "$bundle/dotnet/shared/Microsoft.AspNetCore.App" ] || fail "the bundle has no ASP.NET Core runtime, which serve needs: run tools/gpu/add-aspnetcore-to-bundle.sh after gpu-bundle.sh"
  ks=(env GPU_APP=kernelsharp.dll bash .gpu/run.sh)
  load=(env GPU_APP=ServeLoad.dll bash .gpu/run.sh)
else
  read -ra ks <<< "$KS"
  read -ra load <<< "$LOAD"
fi
command -v curl > /dev/null || fail "curl is needed to poll /health"
if [ "$device" = cuda ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1 || fail "DEVICE=cuda but nvidia-smi fails: $(head -1 "$out/gpu.txt")"
fi
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S') UTC"
  echo "gpu: $(cat "$out/gpu.txt" 2>/dev/null || echo "none ($device)")"
  # the bundle's own commit (.gpu/commit, written when it was built) names what runs; the checkout's HEAD may be older
  echo "commit: ${KS_COMMIT:-$(cut -c1-7 .gpu/commit 2>/dev/null || git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
  echo "command: bash tools/gpu/serve-load.sh (DEVICE=$device CONTEXT=$context MAX_BATCH=$max_batch CLIENTS=\"$clients_list\" REQUESTS_PER_CLIENT=$per_client PROMPT_TOKENS=$prompt_tokens MAX_TOKENS=$max_tokens)"
} > "$out/info.txt"
tee "$out/summary.md" < "$out/info.txt"

preset=${PRESET:-mid-5b}
# mid-5b (and deepseek-v3.2) have DeepSeek's vocabulary; the tiny preset has the tiny fixture's
tokenizer_dir=tests/fixtures/deepseek-v3-tokenizer; [ "$preset" = tiny ] && tokenizer_dir=tests/fixtures/tiny-dsa-bf16
model=${MODEL:-/tmp/${preset//-/}}
if [ -z "${MODEL:-}" ] && [ ! -f "$model/config.json" ]; then
  stamp "checkpoint: create-model --preset $preset (bf16, seed 1, the other scripts' model) with the tokenizer of $tokenizer_dir"
  "${ks[@]}" create-model --preset "$preset" --out "$model" --seed 1 --dtype bf16 --tokenizer "$tokenizer_dir/tokenizer.json" \
    > "$out/create-model.log" 2>&1 || fail "create-model failed: $(tail -1 "$out/create-model.log")"
fi
[ -f "$model/config.json" ] || fail "MODEL=$model has no config.json"
if [ ! -f "$model/tokenizer.json" ]; then
  # a checkpoint the other scripts made for bench has no tokenizer; serve needs one
  [ -z "${MODEL:-}" ] || fail "MODEL=$model has no tokenizer.json, which serve needs (copy the model's tokenizer into it)"
  cp "$tokenizer_dir/tokenizer.json" "$model/" || fail "cannot copy the tokenizer into $model"
fi
[ -f "$model/tokenizer_config.json" ] || [ -n "${MODEL:-}" ] || cp "$tokenizer_dir/tokenizer_config.json" "$model/"

stamp "serve -m $model --device $device -c $context --max-batch $max_batch"
serve_args=(serve -m "$model" --port "$port" --device "$device" -c "$context" --max-batch "$max_batch" --max-queue $((largest * 4)))
[ -n "${KV_MEMORY:-}" ] && serve_args+=(--kv-memory "$KV_MEMORY")
# shellcheck disable=SC2206  # SERVE_ARGS is a list of words on purpose
[ -n "${SERVE_ARGS:-}" ] && serve_args+=($SERVE_ARGS)
# run.sh and env exec into dotnet, so $! is the server itself and SIGTERM reaches it
"${ks[@]}" "${serve_args[@]}" > "$out/serve.log" 2>&1 &
server=$!
stop_server() {
  kill -0 "$server" 2> /dev/null || return 0
  kill -TERM "$server"   # serve drains running requests on SIGTERM and exits 130
  # the load tool has ended (or was cut), so its connections are closed and the server's sequences are cancelled:
  # draining takes seconds, and the device call's 10 minutes leave no room for more than 30
  for _ in $(seq 1 60); do kill -0 "$server" 2> /dev/null || break; sleep 0.5; done
  if kill -0 "$server" 2> /dev/null; then
    echo "serve did not stop within 30 s of SIGTERM: killed" | tee -a "$out/summary.md"
    kill -KILL "$server"
  fi
  wait "$server"; echo "serve exited with $? (130 is a clean stop)" | tee -a "$out/serve.log"
}
trap stop_server EXIT

deadline=$((SECONDS + ${HEALTH_TIMEOUT:-300}))
until curl -sf "http://127.0.0.1:$port/health" > /dev/null; do
  kill -0 "$server" 2> /dev/null || { wait "$server"; fail "serve exited with $? before it was ready: $(grep -v '^\s*$' "$out/serve.log" | tail -3 | tr '\n' ' ')"; }
  (( SECONDS < deadline )) || fail "serve was not healthy within ${HEALTH_TIMEOUT:-300} s: $(tail -2 "$out/serve.log" | tr '\n' ' ')"
  sleep 1
done
grep -E '^(device|ready):' "$out/serve.log"

{
  echo
  echo "| clients | requests | prompt tokens | output tokens/s | requests/s | TTFT p50 / p90 / p99 ms | ITL p50 / p90 / p99 ms | TPOT p50 ms | failed |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >> "$out/summary.md"
status=0
levels=$out/levels; mkdir -p "$levels"   # per-level JSON and logs, packed into load.tgz after each level
for clients in $clients_list; do
  requests=$((clients * per_client))
  # the device call ends at 10 minutes: a level that cannot finish inside BUDGET is cut short or skipped, not lost
  left=$(( ${BUDGET:-540} - (SECONDS - start) ))
  if (( left < 30 )); then
    echo "| $clients | skipped: ${left} s left of BUDGET=${BUDGET:-540} s |||||||" >> "$out/summary.md"; status=1; continue
  fi
  this_timeout=$(( left < level_timeout ? left : level_timeout ))
  stamp "load: $clients clients, $requests requests of ~$prompt_tokens prompt tokens and $max_tokens new tokens (warm-up ${WARMUP:-$clients})"
  timeout "$this_timeout" "${load[@]}" --url "http://127.0.0.1:$port/v1" --clients "$clients" --requests "$requests" --prompt-tokens "$prompt_tokens" \
    --max-tokens "$max_tokens" --warmup "${WARMUP:-$clients}" --json "$levels/load-c$clients.json" > "$levels/load-c$clients.md" 2> "$levels/load-c$clients.log"
  rc=$?
  cat "$levels/load-c$clients.md"; tail -3 "$levels/load-c$clients.log"
  if [ $rc -ne 0 ]; then
    status=1
    echo "| $clients | $requests | load tool exit $rc$( [ $rc -eq 124 ] && echo " (timed out after $this_timeout s)"): $(tail -1 "$levels/load-c$clients.log") |||||||" >> "$out/summary.md"
  fi
  [ -f "$levels/load-c$clients.json" ] && python3 - "$levels/load-c$clients.json" >> "$out/summary.md" << 'PY'
import json, sys
s = json.load(open(sys.argv[1]))
p = lambda d, k: f"{d[k]:.1f}" if d else "-"
pt = s["prompt_tokens"]["mean"] if s["prompt_tokens"] else 0
print(f"| {s['clients']} | {s['requests']} | {pt:.0f} | {s['output_tokens_per_second']:.1f} | {s['requests_per_second']:.2f} | "
      f"{p(s['ttft'], 'p50')} / {p(s['ttft'], 'p90')} / {p(s['ttft'], 'p99')} | "
      f"{p(s['inter_token_latency'], 'p50')} / {p(s['inter_token_latency'], 'p90')} / {p(s['inter_token_latency'], 'p99')} | "
      f"{p(s['time_per_output_token'], 'p50')} | {s['failed']} |")
PY
  # at most 8 files come back from a device call: the levels travel as one archive, rewritten after each level
  tar czf "$out/load.tgz" -C "$levels" .
done
stop_server; trap - EXIT
rm -rf "$levels"
stamp "done"
cat "$out/summary.md"
exit $status
