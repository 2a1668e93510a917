#!/usr/bin/env python3
"""Before/after table from the ROW lines of run.sh's before.log and after.log (one folder per device call).
usage: compose.py CALL_DIR [CALL_DIR ...]   → markdown on stdout.
Each row's time is the first 'N µs' / 'N ms' in its 'ours' column (the median of KernelBench's timed samples);
cells: median (min–max, n = rounds). Rows that also time a second kernel in their notes get a '(notes)' row. after/before is a time ratio: > 1 = slower."""
import re, sys, statistics
from collections import OrderedDict

TIME = re.compile(r"([0-9]+(?:\.[0-9]+)?) (µs|ms)")
NOTE_TIMES = [  # (row label prefix, regex on notes, label of the extra row)
    ("indexer decode fp8", re.compile(r"CUDA-core IndexerDecodeFp8 ([0-9.]+) (µs|ms)"), "CUDA-core IndexerDecodeFp8 (notes)"),
    ("indexer decode fp32 cache", re.compile(r"tiled IndexerDecode ([0-9.]+) (µs|ms)"), "tiled IndexerDecode (notes)"),
    ("indexer prefill fp8", re.compile(r"fp32 keys \((?:model path|IndexerScoresWarpKeys<F32Rows>)[^)]*\) ([0-9.]+) (µs|ms)"), "fp32 keys, model path (notes)"),
]

def us(value, unit):
    return float(value) * (1000.0 if unit == "ms" else 1.0)

def rows(path):
    out = []
    for line in open(path, encoding="utf-8"):
        if not line.startswith("ROW | "):
            continue
        cells = [c.strip() for c in line.rstrip("\n").split(" | ")]
        label, ours, notes = cells[1], cells[2], cells[-1]
        if label.startswith("HBM copy ceiling"):
            out.append(("HBM copy ceiling (TB/s, higher is better)", float(ours.split()[0]) if ours[0].isdigit() else None))
            continue
        m = TIME.search(ours)
        out.append((label, us(*m.groups()) if m else None))
        for prefix, rx, extra in NOTE_TIMES:
            if label.startswith(prefix):
                n = rx.search(notes)
                if n:
                    out.append((f"{label} — {extra}", us(*n.groups())))
    return out

data = {"before": OrderedDict(), "after": OrderedDict()}
for d in sys.argv[1:]:
    for b in data:
        try:
            for label, v in rows(f"{d}/{b}.log"):
                data[b].setdefault(label, []).append(v)
        except FileNotFoundError:
            pass

unit = "µs"
def scale(ref):  # the unit a cell is written in, chosen from its median
    if unit == "TB/s": return "TB/s", 1.0, 2
    if ref < 900: return "µs", 1.0, 1
    return ("ms", 1000.0, 2) if ref < 10000 else ("ms", 1000.0, 1)

def cell(vals):
    good = [v for v in vals if v is not None]
    if not good: return ("FAILED" if vals else "—"), None
    med = statistics.median(good)
    u, div, nd = scale(med)
    f = lambda v: f"{v / div:.{nd}f}"
    failed = f", {len(vals) - len(good)} FAILED" if len(good) < len(vals) else ""
    if len(good) == 1: return f"{f(med)} {u}{failed}", med
    return f"{f(med)} {u} ({f(min(good))}–{f(max(good))}, n={len(good)}{failed})", med

labels = list(OrderedDict.fromkeys(list(data["before"]) + list(data["after"])))
print("| row | before | after | after/before |")
print("|---|---|---|---|")
for label in labels:
    unit = "TB/s" if label.startswith("HBM copy") else "µs"
    bcell, bm = cell(data["before"].get(label, []))
    acell, am = cell(data["after"].get(label, []))
    ratio = f"{am / bm:.3f}" if bm and am else "—"
    print(f"| {label} | {bcell} | {acell} | {ratio} |")
