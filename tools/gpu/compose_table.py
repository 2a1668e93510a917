#!/usr/bin/env python3
"""Composes the whole H200 performance table from the outputs of one `tools/gpu/h200-table.sh` run.

usage: compose_table.py RUN_DIR OUT_MARKDOWN
RUN_DIR holds, all from the same run: info.txt (date, GPU, driver, commit, command), kernels.md (KernelBench's kernel rows,
each already a ratio against the ILGPU copy ceiling or a PyTorch/cuBLAS baseline measured in that run), ours.json
(`kernelsharp bench --json` on the mid-size checkpoint) and transformers.json (tools/gpu/transformers_baseline.py on the
same checkpoint). Missing inputs become rows that say what is missing, never a silent gap.
"""
import json, os, re, sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return {"error": f"{os.path.basename(path)}: {e}"}


def kernel_rows(path):
    try:
        with open(path) as f:
            lines = [l.rstrip("\n") for l in f if l.startswith("| ") and not l.startswith("| what ")]
    except OSError:
        return [], None
    copy = None
    for line in lines:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0].startswith("HBM copy ceiling"):
            m = re.match(r"([\d.]+) TB/s", cells[1])
            copy = float(m.group(1)) if m else None
    return lines, copy


def fmt(x, digits=1):
    return f"{x:,.{digits}f}"


def row(what, ours, baseline, ratio, target, met, note=""):
    r = "" if ratio is None else (f"{ratio:.2f}" if ratio < 10 else f"{ratio:.1f}") + ("×" if ratio is not None and ratio >= 1.5 else "")
    m = "" if met is None else ("yes" if met else "**no**")
    return f"| {what} | {ours} | {baseline} | {r} | {target} | {m} | {note} |"


def compiled_peer_rows(peer, ours_decode_4k, ours_prefill_8k):
    """The strongest Python peer (transformers_batched.py): eager batch 1 and StaticCache + torch.compile(reduce-overhead)
    at 4K, the compiled decode against ours at 4K (target: ours at least 2x), with what the compiled run computed
    (its logits against eager's) in the note."""
    compiled = peer.get("compiled")
    if compiled is None:
        return [row("end-to-end decode at 4K vs transformers StaticCache + torch.compile", "not measured",
                    "no transformers_batched.json compiled row (transformers-compiled.log)", None, "≥ 2×", None)]
    if "error" in compiled:
        return [row("end-to-end decode at 4K vs transformers StaticCache + torch.compile", fmt(ours_decode_4k) + " tokens/s" if ours_decode_4k else "not measured",
                    f"compiled peer failed: {compiled['error'][:160]}", None, "≥ 2×", None)]
    clocked = compiled.get("clocked", {})
    decode = clocked.get("decode_tokens_per_s")
    versus = compiled.get("versus_eager", {})
    first = versus.get("first_logits") or {}
    note = (f"{compiled.get('dynamo_graphs_compiled', '?')} dynamo graphs ({compiled.get('compile_route', '?')} route); vs eager: first logits "
            f"max rel {first.get('max_rel_diff', float('nan')):.1e}, argmax {'equal' if first.get('argmax_equal') else 'differs'}, "
            f"greedy tokens equal for {versus.get('greedy_tokens_equal', '?')}/{versus.get('of', '?')} steps")
    ratio = ours_decode_4k / decode if ours_decode_4k and decode else None
    rows = [row("end-to-end decode at 4K, batch 1, vs transformers StaticCache + torch.compile(reduce-overhead)",
                f"{fmt(ours_decode_4k)} tokens/s" if ours_decode_4k else "not measured",
                f"compiled transformers {fmt(decode)} tokens/s" if decode else "compiled decode not clocked",
                ratio, "≥ 2×", None if ratio is None else ratio >= 2, note)]
    prefill = clocked.get("prefill_tokens_per_s")
    if prefill:
        rows.append(row("(info) compiled transformers prefill, 4K prompt (its first generate step)", f"{fmt(prefill)} tokens/s",
                        f"ours at 8K {fmt(ours_prefill_8k)} tokens/s" if ours_prefill_8k else "", None, "", None))
    return rows


def main():
    run, out_path = sys.argv[1], sys.argv[2]
    info = open(os.path.join(run, "info.txt")).read().strip() if os.path.exists(os.path.join(run, "info.txt")) else "(no info.txt)"
    kernels, copy_tbps = kernel_rows(os.path.join(run, "kernels.md"))
    ours = load_json(os.path.join(run, "ours.json"))
    hf = load_json(os.path.join(run, "transformers.json"))
    ours_exact = load_json(os.path.join(run, "ours-exact.json"))
    peer = load_json(os.path.join(run, "transformers_batched.json"))

    tests = {r["test"]: r for r in ours.get("results", [])}
    def ours_rate(prefix):
        for name, r in tests.items():
            if name == prefix or name.startswith(prefix + " "):
                return r["avg_ts"], name
        return None, None
    hf_rows = {r["context"]: r for r in hf.get("rows", [])}
    def hf_rate(context, key):
        r = hf_rows.get(context)
        if r is None:
            return None, f"transformers: no result at {context // 1024}K (did not finish in the run's time limit)"
        if "error" in r:
            return None, f"transformers at {context // 1024}K failed: {r['error'][:160]}"
        return r[key], ""

    e2e = []
    model = ours.get("model", "?")
    for depth in (4096, 32768):
        rate, name = ours_rate(f"tg16 @ d{depth}")
        base, why = hf_rate(depth, "decode_tokens_per_s")
        ratio = rate / base if rate and base else None
        e2e.append(row(f"end-to-end decode, {model}, batch 1, context {depth // 1024}K",
                       f"{fmt(rate)} tokens/s ({name})" if rate else "not measured",
                       f"transformers bf16 {fmt(base)} tokens/s" if base else why,
                       ratio, "≥ 25×", None if ratio is None else ratio >= 25))
    rate4k, _ = ours_rate("tg16 @ d4096")
    active, params, wbytes = ours.get("active_parameters_per_token"), ours.get("parameters"), ours.get("weight_bytes")
    embedding = ours.get("embedding_parameters", 0)
    if rate4k and active and params and wbytes and copy_tbps:
        # weights read per token: the active parameters less the embedding table (one row of it is read)
        bytes_per_token = (active - embedding) * (wbytes / params)
        roofline = copy_tbps * 1e12 / bytes_per_token
        e2e.append(row("end-to-end decode vs the memory roofline (context 4K)", f"{fmt(rate4k)} tokens/s",
                       f"{fmt(bytes_per_token / 1e9, 2)} GB of weights per token / copy {copy_tbps:.2f} TB/s = {fmt(roofline)} tokens/s",
                       rate4k / roofline, "≥ 0.30", rate4k / roofline >= 0.30))
    else:
        e2e.append(row("end-to-end decode vs the memory roofline", "not measured", "needs ours.json and the copy row", None, "≥ 0.30", None))
    rate128k, name128k = ours_rate("tg16 @ d131072")
    base128k, why128k = hf_rate(131072, "decode_tokens_per_s")
    if rate4k and rate128k:
        slow = rate4k / rate128k
        e2e.append(row("end-to-end decode at 128K vs at 4K context (time per token)", f"{fmt(rate128k)} tokens/s at 128K",
                       f"ours at 4K {fmt(rate4k)} tokens/s; " + (f"transformers at 128K {fmt(base128k)} tokens/s" if base128k else why128k),
                       slow, "≤ 1.3× slower", slow <= 1.3, "ratio = slowdown (lower is better)"))
    else:
        e2e.append(row("end-to-end decode at 128K vs 4K", "not measured", why128k, None, "≤ 1.3× slower", None))
    pp, ppname = ours_rate("pp8192")
    base, why = hf_rate(8192, "prefill_tokens_per_s")
    ratio = pp / base if pp and base else None
    e2e.append(row(f"end-to-end prefill, {model}, 8K prompt (default: tensor cores, bf16 activations)", f"{fmt(pp)} tokens/s" if pp else "not measured",
                   f"transformers bf16 {fmt(base)} tokens/s (chunks of 2048)" if base else why, ratio, "≥ 3×",
                   None if ratio is None else ratio >= 3))
    exact = next((r["avg_ts"] for r in ours_exact.get("results", []) if r["test"] == "pp8192"), None)
    if exact:
        ratio = exact / base if base else None
        e2e.append(row(f"end-to-end prefill, 8K prompt, `--prefill exact` (fp32 activations, for verification)", f"{fmt(exact)} tokens/s",
                       f"transformers bf16 {fmt(base)} tokens/s" if base else why, ratio, "(info)", None))
    e2e.extend(compiled_peer_rows(peer, ours_rate("tg16 @ d4096")[0], pp))
    rate0, _ = ours_rate("tg16")
    if rate0:
        e2e.append(row(f"(info) end-to-end decode from an empty cache", f"{fmt(rate0)} tokens/s", "", None, "", None))

    text = ["# The H200 performance table — one run", "", "```", info, "```", "",
            "| what | ours | baseline / ceiling (same run) | ratio | target | met? | notes |", "|---|---|---|---|---|---|---|"]
    text += kernels if kernels else ["| kernel rows | missing | kernels.md not produced | | | | |"]
    text += e2e
    text += ["", f"Device: {ours.get('device', '?')}; checkpoint {model}: {ours.get('parameters', 0) / 1e9:.2f} B parameters "
             f"({(active or 0) / 1e9:.2f} B active per token), {(wbytes or 0) / 2**30:.2f} GiB on disk; transformers "
             f"{hf.get('transformers', '?')}, torch {hf.get('torch', '?')}.",
             "Decode at a context of N tokens runs after N random keys were written into every layer's caches "
             "(`bench --depth-fill random`): decode cost depends on how many keys are cached, not their values; "
             "transformers prefills N real tokens instead."]
    with open(out_path, "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))


if __name__ == "__main__":
    main()
