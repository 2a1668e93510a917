#!/usr/bin/env python3
"""Hugging Face transformers baseline for the end-to-end rows of docs/perf/h200.md.

usage: transformers_baseline.py CHECKPOINT_DIR CONTEXT [CONTEXT ...]
Loads the checkpoint with DeepseekV32ForCausalLM (bf16, sdpa attention) on the GPU and, per context length, measures
prefill tokens/s (chunks of 2048 tokens, logits of the last token only) and decode tokens/s (16 timed greedy steps after
2 warm-up steps, at that cache depth). Prints one JSON object (also $OUT/transformers.json when OUT is set, rewritten
after every context so a run cut short by a time limit keeps the contexts it finished); a context that fails (e.g. out
of memory) is recorded with its error instead of stopping the run.
"""
import json, os, sys, time
import torch
from transformers import AutoModelForCausalLM


def measure(model, vocab, context, chunk=2048, steps=16):
    ids = torch.randint(2, vocab, (1, context), device="cuda")
    with torch.no_grad():
        torch.cuda.synchronize()
        start = time.perf_counter()
        past = None
        for c in range(0, context, chunk):
            out = model(ids[:, c:c + chunk], past_key_values=past, use_cache=True, logits_to_keep=1)
            past = out.past_key_values
        torch.cuda.synchronize()
        prefill = context / (time.perf_counter() - start)
        token = out.logits[:, -1:].argmax(-1)
        for _ in range(2):
            out = model(token, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            out = model(token, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        decode = steps / (time.perf_counter() - start)
    return {"context": context, "prefill_tokens_per_s": prefill, "decode_tokens_per_s": decode}


def main():
    path, contexts = sys.argv[1], [int(c) for c in sys.argv[2:]]
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    result = {"model": path, "load_s": time.perf_counter() - start, "class": type(model).__name__, "rows": []}
    result["gpu"] = torch.cuda.get_device_name()
    result["torch"] = torch.__version__
    result["transformers"] = __import__("transformers").__version__
    # Warm-up (cuBLAS handles, kernels, allocator pools) so the first context is not charged for it.
    measure(model, model.config.vocab_size, 2048, steps=2)
    for context in contexts:
        try:
            torch.cuda.reset_peak_memory_stats()
            row = measure(model, model.config.vocab_size, context)
            row["peak_gib"] = torch.cuda.max_memory_allocated() / 2**30
            result["rows"].append(row)
        except Exception as e:  # record where it fails (e.g. OOM at long context) and go on
            result["rows"].append({"context": context, "error": f"{type(e).__name__}: {str(e)[:300]}"})
            torch.cuda.empty_cache()
        save(result)
    print(json.dumps(result, indent=1))


def save(result):
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "transformers.json"), "w") as f:
            f.write(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
