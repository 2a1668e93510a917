#!/usr/bin/env python3
"""Before/after table of the prefill GEMM rows and the 8K prompts of run.sh's calls (the call folders given, default
call*/ beside this file): per row the median time over all rounds of each build, and after/before. Rows only one build
has are listed with one side empty."""
import glob, os, re, statistics, sys

here = os.path.dirname(os.path.abspath(__file__))
calls = sys.argv[1:] or sorted(glob.glob(os.path.join(here, "call*")))
times = {"before": {}, "after": {}}
order = []
for call in calls:
    for build in ("before", "after"):
        path = os.path.join(call, build + ".log")
        if not os.path.exists(path):
            continue
        for line in open(path, encoding="utf-8"):
            m = re.match(r"ROW \| (prefill GEMM [^|]+) \| [0-9.]+ TFLOP/s \(([0-9.]+) ms\)", line)
            if m:
                name, ms = m.group(1).strip(), float(m.group(2))
                times[build].setdefault(name, []).append(ms)
                if name not in order:
                    order.append(name)
pp = {"before": {}, "after": {}}
for call in calls:
    path = os.path.join(call, "pp.md")
    if not os.path.exists(path):
        continue
    build = dtype = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"### round \d+, (\w+), (\w+)", line)
        if m:
            build, dtype = m.group(1), m.group(2)
            continue
        m = re.search(r"\| pp8192 \| ([0-9.]+) ± ([0-9.]+)", line)
        if m and build:
            pp[build].setdefault(dtype, []).append((float(m.group(1)), float(m.group(2))))

def cell(values):
    return f"{statistics.median(values):.2f} ms ({min(values):.2f}–{max(values):.2f}, n={len(values)})" if values else ""

print("| row | before (dfcd0a5) | after | after/before time |")
print("|---|---|---|---|")
for name in order:
    b, a = times["before"].get(name, []), times["after"].get(name, [])
    ratio = f"{statistics.median(a) / statistics.median(b):.3f}" if a and b else ""
    print(f"| {name} | {cell(b)} | {cell(a)} | {ratio} |")
print()
print("| 8K prompt, synthetic mid-5b | before tokens/s (each run: mean ± sd of 2) | after | after/before (medians) |")
print("|---|---|---|---|")
for dtype in ("bf16", "fp8"):
    b, a = pp["before"].get(dtype, []), pp["after"].get(dtype, [])
    fmt = lambda runs: ", ".join(f"{m:.0f} ± {s:.0f}" for m, s in runs)
    ratio = f"{statistics.median(x for x, _ in a) / statistics.median(x for x, _ in b):.3f}" if a and b else ""
    print(f"| {dtype} | {fmt(b)} | {fmt(a)} | {ratio} |")
