#!/usr/bin/env python3
"""Composes the real-width table from one run of tools/gpu/real-widths-table.sh.

Reads OUT/bench-L{N}.json (bench --synthetic deepseek-v3.2 --layers N --json) and OUT/bench-L4-fp8.json, writes markdown:
whole-view rates, per-layer costs as differences between views (dense = (L3 - L1) / 2, MoE = (Lk - L3) / (k - 3) for the
largest view k, the rest = L1 - one dense layer), the projection to the released 61 layers (3 dense + 58 MoE), device memory as the
driver reported it, the FP8-cache rows, and what a multi-GPU split of the 61-layer model needs.
Usage: compose_real_widths.py OUT_DIR TABLE.md
"""
import json
import math
import os
import sys

DEPTHS = (4096, 32768, 131072)
LAYERS, DENSE, MOE = 61, 3, 58
# DeepSeek-V3.2's routed experts per MoE layer: 256 experts x (gate, up, down) x 7168 x 2048 FP8 codes, one fp32 scale per 128x128.
EXPERT_BYTES_PER_MOE_LAYER = 256 * 3 * 7168 * 2048 * (1 + 4 / (128 * 128))
GIB = 1 << 30


def load(out, name):
    path = os.path.join(out, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rate(bench, test_prefix):
    """(median, spread) of a test's repetitions in tokens/s: the median, because one slow repetition (a collection, the
    driver) moves a mean of four by a quarter of itself; the spread is (max - min) / 2."""
    if bench is None:
        return None
    for r in bench["results"]:
        if r["test"].startswith(test_prefix):
            samples = sorted(r["samples_ts"])
            middle = len(samples) // 2
            median = samples[middle] if len(samples) % 2 else (samples[middle - 1] + samples[middle]) / 2
            return median, (samples[-1] - samples[0]) / 2
    return None


def ms_per_token(bench, depth):
    r = rate(bench, f"tg16 @ d{depth}")
    return None if r is None else 1000.0 / r[0]


def seconds_per_prefill(bench):
    r = rate(bench, "pp8192")
    return None if r is None else 8192.0 / r[0]


def memory(bench, key):
    return None if bench is None or "device_memory" not in bench else bench["device_memory"][key]


def diff(a, b, scale=1.0):
    return None if a is None or b is None else (a - b) * scale


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def fmt(value, spec=".2f", none="n/a"):
    return none if value is None else format(value, spec)


def per_layer(views, measure):
    """(dense, moe, rest, projection to 61 layers) of one measure over the views: a MoE layer is the difference between
    the largest view and L3 over the MoE layers between them (one layer's own difference is noisy on a host-bound step)."""
    m = {n: measure(b) for n, b in views.items()}
    dense = diff(m.get(3), m.get(1), 0.5)
    largest = max([n for n in m if n > 3 and m[n] is not None], default=None)
    moe = None if largest is None else diff(m.get(largest), m.get(3), 1.0 / (largest - 3))
    rest = diff(m.get(1), dense)
    projection = None if None in (dense, moe, rest) else rest + DENSE * dense + MOE * moe
    return dense, moe, rest, projection


def main(out, table_path):
    views = {n: load(out, f"bench-L{n}.json") for n in range(1, 62)}
    views = {n: b for n, b in views.items() if b is not None}
    fp8 = load(out, "bench-L4-fp8.json")
    info = open(os.path.join(out, "info.txt")).read().strip() if os.path.exists(os.path.join(out, "info.txt")) else ""
    lines = ["# DeepSeek-V3.2 at its released widths on one GPU: one run", "", "```", info, "```", ""]

    lines += ["## Whole views (first N layers; FP8 weights generated on the device; fp32 caches)", "",
              "| first N layers | weights + runtime on the device after load | pp8192 t/s (median ± half range) | tg16 @ 4K t/s | @ 32K | @ 128K |",
              "|---|---|---|---|---|---|"]
    for n, b in sorted(views.items()):
        cells = []
        for prefix in ["pp8192"] + [f"tg16 @ d{d}" for d in DEPTHS]:
            r = rate(b, prefix)
            cells.append("n/a" if r is None else f"{r[0]:,.1f} ± {r[1]:,.1f}")
        after = memory(b, "after_load_bytes")
        lines.append(f"| {n} | {fmt(None if after is None else after / GIB)} GiB | " + " | ".join(cells) + " |")
    lines.append("")

    lines += ["## Per layer (differences between views) and the 61-layer projection", "",
              "| row | one dense layer | one MoE layer | embedding + head + sampling | 61 layers (3 dense + 58 MoE) | 61 layers, tokens/s |",
              "|---|---|---|---|---|---|"]
    for depth in DEPTHS:
        d, m, r, p = per_layer(views, lambda b, depth=depth: ms_per_token(b, depth))
        lines.append(f"| decode at {depth // 1024}K, ms per token | {fmt(d, '.3f')} | {fmt(m, '.3f')} | {fmt(r, '.3f')} | {fmt(p, '.1f')} | {fmt(None if p is None else 1000 / p, '.1f')} |")
    d, m, r, p = per_layer(views, seconds_per_prefill)
    lines.append(f"| prefill of 8K tokens, s | {fmt(d, '.2f')} | {fmt(m, '.2f')} | {fmt(r, '.2f')} | {fmt(p, '.1f')} | {fmt(None if p is None else 8192 / p, '.1f')} |")
    wd, wm, wr, wp = per_layer(views, lambda b: memory(b, "after_load_bytes"))
    lines.append(f"| device memory after load, GiB | {fmt(None if wd is None else wd / GIB)} | {fmt(None if wm is None else wm / GIB)} | "
                 f"{fmt(None if wr is None else wr / GIB)} (and the runtime) | {fmt(None if wp is None else wp / GIB, '.1f')} | |")
    cd, cm, _, _ = per_layer(views, lambda b: memory(b, "bytes_per_token"))
    per_layer_cache = mean([cd, cm])
    lines.append(f"| device bytes per token of context (fp32 caches, measured) | {fmt(cd, '.0f')} | {fmt(cm, '.0f')} | | "
                 f"{fmt(None if per_layer_cache is None else per_layer_cache * LAYERS, ',.0f')} | |")
    lines.append("")

    lines += ["## FP8 caches (first 4 layers): DeepSeek-V3.2's own cache layout", "",
              "| cache | tg16 @ 4K t/s | @ 32K | @ 128K | device bytes per token of context (measured) | computed |", "|---|---|---|---|---|---|"]
    for label, b in (("fp32", views.get(4)), ("fp8", fp8)):
        cells = []
        for depth in DEPTHS:
            rr = rate(b, f"tg16 @ d{depth}")
            cells.append("n/a" if rr is None else f"{rr[0]:,.1f} ± {rr[1]:,.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {fmt(memory(b, 'bytes_per_token'), ',.0f')} | {fmt(None if b is None else b['kv_cache_bytes_per_token'], ',')} |")
    lines.append("")

    fp8_bpt = memory(fp8, "bytes_per_token")
    if wp is not None and fp8_bpt is not None:
        cache_128k = fp8_bpt / 4 * LAYERS * 131072  # the 4-layer slice's measured bytes per token, per layer, times 61 layers
        replicated = wp - MOE * EXPERT_BYTES_PER_MOE_LAYER
        gpu_gib = None
        for token in info.split(","):
            if "MiB" in token:
                gpu_gib = float(token.strip().split()[0]) / 1024
        lines += ["## What the 61-layer model needs from a multi-GPU split (computed from the rows above)", "",
                  f"- Weights: {wp / GIB:,.1f} GiB on the device (projected from the measured per-layer memory), of which "
                  f"{MOE * EXPERT_BYTES_PER_MOE_LAYER / GIB:,.1f} GiB are the 58 MoE layers' routed experts and {replicated / GIB:,.1f} GiB "
                  "everything else (attention, dense layers, shared experts, norms, router, embedding and head; a split also divides the attention heads, the embedding and the head, which are counted here whole).",
                  f"- One sequence of 128K context with the FP8 caches: {cache_128k / GIB:,.2f} GiB on every rank (every rank keeps the latent cache its heads share).",
                  ]
        if gpu_gib:
            for gpus in (4, 5, 8):
                share = replicated + MOE * EXPERT_BYTES_PER_MOE_LAYER / gpus
                lines.append(f"- Over {gpus} GPUs of {gpu_gib:,.0f} GiB (experts divided, the rest on every GPU): "
                             f"{share / GIB:,.1f} GiB of weights per GPU, {'fits' if share + cache_128k < gpu_gib * GIB * 0.92 else 'does not fit'} "
                             f"with one 128K sequence ({(gpu_gib * GIB * 0.92 - share) / cache_128k:,.1f} such sequences in 92% of the memory)."
                             if share < gpu_gib * GIB else
                             f"- Over {gpus} GPUs of {gpu_gib:,.0f} GiB: {share / GIB:,.1f} GiB of weights per GPU: does not fit.")
        lines.append("")

    with open(table_path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
