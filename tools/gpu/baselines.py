#!/usr/bin/env python3
"""PyTorch baselines and ceilings for the H200 performance table (docs/perf/h200.md).

Measures, in the same run as KernelSharp's own benchmarks:
  - the HBM copy ceiling (device-to-device copy, bytes read + written),
  - torch.matmul bf16 (cuBLAS) for the prefill GEMM shapes,
  - a PyTorch gather + attention of the sparse MLA decode math (batch 1..64, 2048 selected latent entries, 128 heads),
  - PyTorch implementations of the lightning-indexer decode/prefill and sparse MLA prefill math.
Prints one JSON object (also written to $OUT/baselines.json when OUT is set).
Timing: CUDA events around many repetitions after warm-up, median of several trials; inputs are random, never zeros.
"""
import json, os, statistics, sys
import torch

torch.backends.cuda.matmul.allow_tf32 = False
dev = torch.device("cuda")


def time_ms(fn, reps=20, trials=5, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(trials):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        out.append(start.elapsed_time(end) / reps)
    return statistics.median(out)


def copy_ceiling():
    n = 1 << 28  # 1 GiB of fp32
    a = torch.randn(n, device=dev)
    b = torch.empty_like(a)
    ms = time_ms(lambda: b.copy_(a))
    return {"bytes": 2 * a.numel() * 4, "ms": ms, "tbps": 2 * a.numel() * 4 / ms / 1e9}


def gemm(m, n, k):
    a = torch.randn(m, k, device=dev, dtype=torch.bfloat16)
    b = torch.randn(k, n, device=dev, dtype=torch.bfloat16)
    ms = time_ms(lambda: torch.matmul(a, b))
    return {"m": m, "n": n, "k": k, "ms": ms, "tflops": 2 * m * n * k / ms / 1e9}


def sparse_mla_decode(batch, topk=2048, heads=128, kv_lora=512, rope=64, cache_tokens=65536):
    d = kv_lora + rope
    cache = torch.randn(cache_tokens, d, device=dev, dtype=torch.bfloat16)
    q = torch.randn(batch, heads, d, device=dev, dtype=torch.bfloat16)
    idx = torch.randint(0, cache_tokens, (batch, topk), device=dev)
    scale = d ** -0.5

    def run():
        kv = cache[idx]                                     # [B, topk, d]
        s = torch.matmul(q, kv.transpose(1, 2)).float() * scale  # [B, H, topk]
        p = torch.softmax(s, dim=-1).to(torch.bfloat16)
        return torch.matmul(p, kv[:, :, :kv_lora])          # [B, H, kv_lora]

    ms = time_ms(run)
    bytes_moved = batch * topk * d * 2 + batch * heads * d * 2 + batch * heads * kv_lora * 2
    return {"batch": batch, "ms": ms, "gbps": bytes_moved / ms / 1e6}


def indexer_decode(tokens, heads=64, dim=128):
    keys = torch.randn(tokens, dim, device=dev, dtype=torch.bfloat16)
    q = torch.randn(heads, dim, device=dev, dtype=torch.bfloat16)
    w = torch.randn(heads, device=dev)

    def run():
        s = torch.relu(torch.matmul(keys, q.t()).float() * dim ** -0.5)  # [T, H]
        return s @ w                                                     # [T]

    ms = time_ms(run)
    return {"tokens": tokens, "ms": ms, "key_bytes_bf16": tokens * dim * 2}


def indexer_prefill(s_len=8192, heads=64, dim=128, chunk=1024):
    keys = torch.randn(s_len, dim, device=dev, dtype=torch.bfloat16)
    q = torch.randn(s_len, heads, dim, device=dev, dtype=torch.bfloat16)
    w = torch.randn(s_len, heads, device=dev)
    mask = torch.triu(torch.full((s_len, s_len), float("-inf"), device=dev), diagonal=1)

    def run():
        outs = []
        for c in range(0, s_len, chunk):
            qc = q[c:c + chunk]                                           # [C, H, D]
            sc = torch.relu(torch.einsum("chd,td->cht", qc, keys).float() * dim ** -0.5)
            outs.append(torch.einsum("cht,ch->ct", sc, w[c:c + chunk]) + mask[c:c + chunk])
        return torch.cat(outs)

    ms = time_ms(run, reps=3, trials=3, warmup=1)
    return {"s": s_len, "ms": ms}


def sparse_mla_prefill(s_len=8192, topk=2048, heads=128, kv_lora=512, rope=64, chunk=256):
    d = kv_lora + rope
    cache = torch.randn(s_len, d, device=dev, dtype=torch.bfloat16)
    q = torch.randn(s_len, heads, d, device=dev, dtype=torch.bfloat16)
    idx = torch.randint(0, s_len, (s_len, topk), device=dev)

    def run():
        outs = []
        for c in range(0, s_len, chunk):
            kv = cache[idx[c:c + chunk]]                                   # [C, topk, d]
            s = torch.matmul(q[c:c + chunk], kv.transpose(1, 2)).float() * d ** -0.5
            p = torch.softmax(s, dim=-1).to(torch.bfloat16)
            outs.append(torch.matmul(p, kv[:, :, :kv_lora]))
        return torch.cat(outs)

    ms = time_ms(run, reps=2, trials=3, warmup=1)
    return {"s": s_len, "ms": ms}


def main():
    torch.manual_seed(0)
    result = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "copy": copy_ceiling(),
        "gemm_bf16": [gemm(4096, n, k) for (n, k) in [(18432, 7168), (7168, 18432), (24576, 1536), (8192, 8192)]],
    }
    # --prefill-only: the copy ceiling, cuBLAS and the two prefill attention baselines, for a short call that times only
    # the prompt-side kernel rows.
    if "--prefill-only" in sys.argv:
        result.update({"indexer_prefill": indexer_prefill(), "sparse_mla_prefill": sparse_mla_prefill()})
    else:
        result.update({
            "sparse_mla_decode": [sparse_mla_decode(b) for b in (1, 8, 32, 64)],
            "indexer_decode": [indexer_decode(t) for t in (32768, 131072)],
            "indexer_prefill": indexer_prefill(),
            "sparse_mla_prefill": sparse_mla_prefill(),
        })
    text = json.dumps(result, indent=1)
    print(text)
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "baselines.json"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
