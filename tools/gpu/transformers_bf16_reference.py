#!/usr/bin/env python3
"""How far transformers in bf16 lands from the float32 reference: the bar that KernelSharp's bf16 (tensor-core) prefill
is held to.

usage: transformers_bf16_reference.py fixture FIXTURE_DIR [FIXTURE_DIR ...]   [--device cuda|cpu]
       transformers_bf16_reference.py checkpoint DIR --tokens N [--seed S] [--ours NAME=LOGITS.safetensors ...]

`fixture`: for each test fixture (config.json, weights, golden.safetensors), the prompt `prefill.input_ids` runs through
transformers' `DeepseekV32ForCausalLM` with bf16 weights and activations, once with eager attention (as the golden was
made) and once with sdpa (transformers' default); each run's logits are compared with the golden's float32
`prefill.logits` row by row: relative error ||bf16 - fp32|| / ||fp32|| per row (median, p99, max) and how many rows
have the same argmax. Writes $OUT/bf16-reference-<fixture>.json.

`checkpoint`: the first rows of a larger checkpoint (e.g. `kernelsharp create-model --preset mid-5b`): N seeded random
token ids go through transformers in float32 (the reference) and in bf16 (eager and sdpa); each `--ours` file (tensor
`logits` [N, vocab] from `kernelsharp logits`) is compared with the float32 run the same way. Writes
$OUT/bf16-reference-<dir name>.json and $OUT/tokens.txt (the ids, comma-separated, for `kernelsharp logits --tokens`):
run it once with `--tokens N` alone to write tokens.txt, then again with the `--ours` files.

FP8 checkpoints (`weight_scale_inv` tensors, DeepSeek's 128x128 blocks) are dequantized to float32 here and then cast to
the run's dtype, as a user who loads FP8 weights into a bf16 model gets them. Offline (HF_HUB_OFFLINE=1).
"""
import argparse
import json
import os
import random
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

BLOCK = 128  # DeepSeek's FP8 weight block (weight_block_size)


def out_dir():
    path = os.environ.get("OUT", ".")
    os.makedirs(path, exist_ok=True)
    return path


def weight_files(path):
    files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors") and not f.startswith("golden"))
    if not files:
        sys.exit(f"transformers_bf16_reference: error: {path}: no *.safetensors weights")
    return [os.path.join(path, f) for f in files]


def is_fp8(path):
    with open(os.path.join(path, "config.json")) as f:
        return "quantization_config" in json.load(f)


def dequantized_state(path):
    """Every tensor of the checkpoint, FP8 weights times their block scales in float32 (scale tensors dropped)."""
    state = {}
    for file in weight_files(path):
        state.update(load_file(file))
    for name in [n for n in state if n.endswith(".weight_scale_inv")]:
        weight_name = name[: -len("_scale_inv")]
        scales = state.pop(name).float()
        weight = state[weight_name].float()
        rows, cols = weight.shape
        grid = scales.repeat_interleave(BLOCK, 0)[:rows].repeat_interleave(BLOCK, 1)[:, :cols]
        state[weight_name] = weight * grid
    return state


def dequantized_copy(path):
    """An FP8 checkpoint rewritten with float32 weights (block scales applied, quantization_config dropped) in a temporary
    folder, so that from_pretrained loads it through its usual name conversions (per-expert tensors into fused ones)."""
    import shutil
    import tempfile
    from safetensors.torch import save_file
    folder = tempfile.mkdtemp(prefix="dequantized-")
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    config.pop("quantization_config", None)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    state = {k: v.contiguous() for k, v in dequantized_state(path).items()}
    save_file(state, os.path.join(folder, "model.safetensors"))
    for extra in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        if os.path.exists(os.path.join(path, extra)):
            shutil.copy(os.path.join(path, extra), folder)
    return folder


DEQUANTIZED = {}


def load_model(path, dtype, attn, device):
    from transformers import AutoModelForCausalLM
    if is_fp8(path):
        if path not in DEQUANTIZED:
            DEQUANTIZED[path] = dequantized_copy(path)
        path = DEQUANTIZED[path]
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attn, local_files_only=True)
    return model.to(device).eval()


def logits_of(model, ids, device):
    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long, device=device), use_cache=False)
    return out.logits[0].float().cpu()


def percentile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default; the C# tests' RowErrors does the same)."""
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def compare(ours, reference):
    """Per-row relative error and argmax agreement of two [rows, vocab] float tensors (float64 sums)."""
    a, b = ours.double(), reference.double()
    errors = ((a - b).norm(dim=1) / b.norm(dim=1).clamp_min(1e-30)).tolist()
    agree = (a.argmax(dim=1) == b.argmax(dim=1)).double().mean().item()
    s = sorted(errors)
    return {"rows": len(errors), "median": percentile(s, 0.5), "p99": percentile(s, 0.99), "max": s[-1],
            "argmax_agreement": agree}


def environment(device):
    gpu = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    return {"transformers": transformers.__version__, "torch": torch.__version__, "device": gpu,
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def run_fixtures(args):
    for path in args.paths:
        with safe_open(os.path.join(path, "golden.safetensors"), "pt") as golden:
            ids = golden.get_tensor("prefill.input_ids").tolist()
            reference = golden.get_tensor("prefill.logits").float()
        result = {"fixture": os.path.basename(os.path.normpath(path)), "prompt_tokens": len(ids), **environment(args.device),
                  "compared_with": "golden.safetensors prefill.logits (transformers float32, eager)", "runs": {}}
        # float32 eager first: it should land ~1e-6 from the golden, which checks this loader (FP8 dequantization included).
        for dtype, attn in ((torch.float32, "eager"), (torch.bfloat16, "eager"), (torch.bfloat16, "sdpa")):
            model = load_model(path, dtype, attn, args.device)
            label = "float32" if dtype == torch.float32 else "bf16"
            result["runs"][f"transformers {label} {attn}"] = compare(logits_of(model, ids, args.device), reference)
            del model
        name = f"bf16-reference-{result['fixture']}.json"
        with open(os.path.join(out_dir(), name), "w") as f:
            json.dump(result, f, indent=2)
        print(json.dumps(result, indent=2))


def run_checkpoint(args):
    with open(os.path.join(args.paths[0], "config.json")) as f:
        vocab = json.load(f)["vocab_size"]
    rng = random.Random(args.seed)
    ids = [rng.randrange(2, vocab) for _ in range(args.tokens)]
    with open(os.path.join(out_dir(), "tokens.txt"), "w") as f:
        f.write(",".join(map(str, ids)))
    if not args.ours:
        print(f"wrote {args.tokens} token ids to {out_dir()}/tokens.txt")
        return
    path = args.paths[0]
    result = {"checkpoint": path, "prompt_tokens": len(ids), "seed": args.seed, **environment(args.device),
              "compared_with": "transformers float32, eager, same tokens", "runs": {}}
    started = time.time()
    model = load_model(path, torch.float32, "eager", args.device)
    reference = logits_of(model, ids, args.device)
    del model
    torch.cuda.empty_cache() if args.device == "cuda" else None
    print(f"float32 reference: {time.time() - started:.0f} s", file=sys.stderr)
    for attn in ("eager", "sdpa"):
        model = load_model(path, torch.bfloat16, attn, args.device)
        result["runs"][f"transformers bf16 {attn}"] = compare(logits_of(model, ids, args.device), reference)
        del model
        torch.cuda.empty_cache() if args.device == "cuda" else None
    for item in args.ours:
        name, _, file = item.partition("=")
        if not os.path.exists(file):
            result["runs"][name] = {"error": f"{file} is missing"}
            continue
        ours = load_file(file)["logits"].float()
        result["runs"][name] = compare(ours, reference) if ours.shape == reference.shape else \
            {"error": f"{file}: logits {list(ours.shape)}, expected {list(reference.shape)}"}
    name = f"bf16-reference-{os.path.basename(os.path.normpath(path))}.json"
    with open(os.path.join(out_dir(), name), "w") as f:
        json.dump(result, f, indent=2)
    print(json.dumps(result, indent=2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["fixture", "checkpoint"])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--tokens", type=int, default=256, help="checkpoint mode: prompt length (default: 256)")
    parser.add_argument("--seed", type=int, default=1, help="checkpoint mode: seed of the token ids (default: 1)")
    parser.add_argument("--ours", action="append", default=[], help="checkpoint mode: NAME=FILE logits to compare")
    args = parser.parse_args()
    run_fixtures(args) if args.mode == "fixture" else run_checkpoint(args)


if __name__ == "__main__":
    main()
