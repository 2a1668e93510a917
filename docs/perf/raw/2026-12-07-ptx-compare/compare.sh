#!/usr/bin/env bash
# Opcode histograms of generated variants' PTX in two commits (no GPU): builds PtxDump against a worktree of each,
# then prints, per variant present in both, the instruction counts and the opcode lines that differ.
#   docs/perf/raw/2026-12-07-ptx-compare/compare.sh BEFORE AFTER PREFIX...   (from the repository root)
#   e.g. compare.sh 19d9bcc 232515f TensorCoreGemmWideBf16__     (variant names differ: compare the files by hand)
#        compare.sh ad88ddc HEAD IndexerDecodeFp8TensorCore__ IndexerPrefillTensorCore__
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); before=$1; after=$2; shift 2
work=$(mktemp -d)
for side in before after; do
  rev=$([ $side = before ] && echo "$before" || echo "$after")
  git worktree add -f --detach "$work/tree-$side" "$rev" > /dev/null
  mkdir -p "$work/tool-$side" && cp "$here/PtxDump.csproj" "$here/Program.cs" "$work/tool-$side/"
  dotnet run -c Release --project "$work/tool-$side/PtxDump.csproj" -p:Root="$work/tree-$side" -- "$work/ptx-$side" "$@" > /dev/null
done
ops() { grep -E '^\s+[a-z]' "$1" | awk '{print $1}' | sort | uniq -c; }
for f in "$work"/ptx-after/*.ptx; do
  name=$(basename "$f"); [ -f "$work/ptx-before/$name" ] || continue
  echo "$name: $(grep -cE '^\s+[a-z]' "$work/ptx-before/$name") -> $(grep -cE '^\s+[a-z]' "$f") instructions, .local lines $(grep -c '\.local' "$f" || true)"
  diff <(ops "$work/ptx-before/$name") <(ops "$f") || true
done
echo "PTX kept in $work (git worktree prune removes the worktrees once it is deleted)"
