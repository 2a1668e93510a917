#!/usr/bin/env python3
"""Hugging Face transformers' batched `generate`: the Python peer of KernelSharp's batched decode (and of `serve`).

usage: transformers_batched.py CHECKPOINT_DIR [--context C] [--new-tokens N] [--batches 1,8,32,64] [--repeats R]
                               [--ragged] [--no-compile] [--compile-route generate|forward] [--device cuda|cpu]

For each batch size B: B random prompts of C tokens (left-padded when --ragged makes them shorter), greedy, exactly N new
tokens (min_new_tokens = N, so an end-of-sequence token cannot stop a row early), bf16, sdpa attention, the default
dynamic cache. `generate` is timed for N new tokens and for 1 (the prefill and its token), medians of R runs after a
warm-up; decode is separated from prefill by the difference:

    decode tokens/s (all rows together) = B * (N - 1) / (time(N) - time(1))
    prefill tokens/s                    = B * C / time(1)

and, as a cross-check from the same N-token runs, by a clock that generate's streamer hook reads at every step
("clocked": prefill = prompt → first token, decode = first token → last token).

Then, at batch 1, the compiled peer: a StaticCache and torch.compile(mode="reduce-overhead") (CUDA graphs), through
generate's own compile path (`--compile-route generate`: `cache_implementation="static"` with a CompileConfig; transformers
compiles the decode steps, not the prefill) or the documented manual one (`--compile-route forward`:
`model.forward = torch.compile(...)`, prefill included). It is timed by the step clock only (a 1-token generate would size
another static cache and run another graph). Its raw logits (output_logits, before any logits processor) are
compared with an eager batch-1 run on the same prompt, step by step while the greedy tokens agree: step 0 is the prefill's
("first logits"), step 1 the first decode step's. Per step: max |a - b|, max |a - b| / max |b| and
median |a - b| / median |b|, and whether the argmax agrees.

Runs offline (HF_HUB_OFFLINE=1; the checkpoint is a local folder, e.g. `kernelsharp create-model --preset mid-5b`).
Prints one JSON object and writes it to $OUT/transformers_batched.json after every row, so a run cut short by a time
limit keeps the rows it finished; a row that fails (out of memory, an unsupported cache or compile) records its error.
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n\n".join(__doc__.split("\n\n")[2:]))
    parser.add_argument("checkpoint", help="model folder with config.json and *.safetensors (DeepseekV32 or any causal LM)")
    parser.add_argument("--context", type=int, default=1024, help="prompt tokens per row (default: 1024)")
    parser.add_argument("--new-tokens", type=int, default=32, help="new tokens per row, >= 2 (default: 32)")
    parser.add_argument("--batches", default="1,8,32,64", help="comma-separated batch sizes (default: 1,8,32,64)")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per measurement, median kept (default: 2)")
    parser.add_argument("--ragged", action="store_true", help="prompt lengths uniform in [C/2, C], left-padded (default: all C)")
    parser.add_argument("--prefill-budget-gib", type=float, default=24.0,
                        help="chunk the prefill (generate's prefill_chunk_size) when the indexer's fp32 score tensor of one "
                             "prefill would exceed this (default: 24)")
    parser.add_argument("--no-compile", action="store_true", help="skip the StaticCache + torch.compile row")
    parser.add_argument("--compile-route", choices=["generate", "forward"], default="generate",
                        help="how the compiled row compiles (default: generate; see above)")
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="default: cuda")
    parser.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16", help="weights and activations (default: bf16)")
    parser.add_argument("--attn", default="sdpa", help="attn_implementation (default: sdpa)")
    args = parser.parse_args()
    try:
        args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    except ValueError:
        parser.error(f"--batches must be comma-separated integers, got {args.batches!r}")
    if not args.batches or min(args.batches) < 1:
        parser.error("--batches needs at least one batch size, each >= 1")
    if args.context < 2 or args.new_tokens < 2 or args.repeats < 1:
        parser.error("--context and --new-tokens must be >= 2 and --repeats >= 1")
    return args


def die(message):
    print(f"transformers_batched: error: {message}", file=sys.stderr)
    sys.exit(1)


def load_stack(args):
    """torch and transformers, offline, with a clear line for each missing piece."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import torch
    except ImportError:
        die("PyTorch is not installed (pip install torch); the GPU machine has it")
    try:
        import transformers
        from transformers import AutoConfig, AutoModelForCausalLM
    except ImportError:
        die("transformers is not installed (pip install transformers); the GPU machine has it")
    if args.device == "cuda" and not torch.cuda.is_available():
        die("no CUDA device visible to PyTorch; --device cpu runs on the CPU (slowly)")
    config_path = os.path.join(args.checkpoint, "config.json")
    if not os.path.isfile(config_path):
        die(f"{config_path} not found: make the checkpoint first, e.g. "
            "GPU_APP=kernelsharp.dll bash .gpu/run.sh create-model --preset mid-5b --out /tmp/mid5b --seed 1 --dtype bf16")
    if not any(name.endswith(".safetensors") for name in os.listdir(args.checkpoint)):
        die(f"{args.checkpoint} holds no *.safetensors weights")
    try:
        config = AutoConfig.from_pretrained(args.checkpoint, local_files_only=True)
    except (ValueError, KeyError) as error:
        model_type = json.load(open(config_path)).get("model_type")
        die(f"transformers {transformers.__version__} cannot read {config_path} (model_type {model_type!r}): {error}")
    return torch, transformers, AutoModelForCausalLM, config


class StepClock:
    """A generate streamer that only notes the time of each put: the prompt first, then each step's new tokens (generate
    hands them over on the host, after the step's device work, so the gaps are the steps)."""

    def __init__(self):
        self.times = []

    def put(self, value):
        self.times.append(time.perf_counter())

    def end(self):
        pass


class Runner:
    def __init__(self, torch, model, args):
        self.torch, self.model, self.args = torch, model, args
        self.device = args.device
        self.vocab = model.config.vocab_size
        eos = model.config.eos_token_id
        try:  # generate may check that its streamer is one
            from transformers.generation.streamers import BaseStreamer
            self.clock_type = type("StepClock", (StepClock, BaseStreamer), {})
        except ImportError:
            self.clock_type = StepClock
        self.pad = model.config.pad_token_id if model.config.pad_token_id is not None else (eos[0] if isinstance(eos, list) else eos or 0)

    def sync(self):
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def prompts(self, batch, seed):
        """[B, C] random ids (ids 0 and 1, BOS and EOS in DeepSeek's vocabulary, left out) and the attention mask."""
        torch, context = self.torch, self.args.context
        generator = torch.Generator().manual_seed(seed)
        ids = torch.randint(2, self.vocab, (batch, context), generator=generator)
        mask = torch.ones(batch, context, dtype=torch.long)
        if self.args.ragged:
            lengths = torch.randint(context // 2, context + 1, (batch,), generator=generator)
            for row, length in enumerate(lengths.tolist()):
                ids[row, :context - length] = self.pad
                mask[row, :context - length] = 0
        return ids.to(self.device), mask.to(self.device)

    def prefill_chunk(self, batch):
        """A prefill chunk that keeps the indexer's fp32 scores [B, chunk, index heads, C] under the budget; None = whole."""
        heads = getattr(self.model.config, "index_n_heads", None) or getattr(self.model.config, "num_attention_heads", 1)
        chunk = self.args.context
        while chunk > 64 and batch * chunk * heads * self.args.context * 4 > self.args.prefill_budget_gib * 2**30:
            chunk //= 2
        return None if chunk >= self.args.context else chunk

    def generate(self, ids, mask, new_tokens, clock=None, **extra):
        self.sync()
        start = time.perf_counter()
        with self.torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                      do_sample=False, pad_token_id=self.pad, use_cache=True, streamer=clock, **extra)
        self.sync()
        return time.perf_counter() - start, out

    def timed_row(self, batch, label, difference=True, **extra):
        """
        Warm-up, then R timed runs of N new tokens (and, with `difference`, of 1): decode separated from prefill by the
        difference of the medians, and independently by the step clock inside the N-token runs.
        """
        args = self.args
        ids, mask = self.prompts(batch, seed=batch)
        prompt_tokens = int(mask.sum().item())
        chunk = self.prefill_chunk(batch)
        if chunk is not None and hasattr(self.model.generation_config, "prefill_chunk_size"):
            extra = dict(extra, prefill_chunk_size=chunk)
        elif chunk is not None:
            chunk = f"needed ({chunk}) but this transformers' generate has no prefill_chunk_size: one whole prefill"
        if self.device == "cuda":
            self.torch.cuda.reset_peak_memory_stats()
        warm_start = time.perf_counter()
        self.generate(ids, mask, args.new_tokens if not difference else 2, **extra)
        warmup_s = time.perf_counter() - warm_start
        full, first, clocked_decode, clocked_prefill = [], [], [], []
        for _ in range(args.repeats):
            clock = self.clock_type()
            seconds, out = self.generate(ids, mask, args.new_tokens, clock=clock, **extra)
            if out.shape[1] - ids.shape[1] != args.new_tokens:
                raise RuntimeError(f"generate returned {out.shape[1] - ids.shape[1]} new tokens, expected {args.new_tokens}")
            full.append(seconds)
            if len(clock.times) == args.new_tokens + 1:   # the prompt, then one put per new token
                clocked_prefill.append(clock.times[1] - clock.times[0])
                clocked_decode.append(clock.times[-1] - clock.times[1])
            if difference:
                first.append(self.generate(ids, mask, 1, **extra)[0])
        row = {
            "variant": label, "batch": batch, "context": args.context, "new_tokens": args.new_tokens,
            "prompt_tokens": prompt_tokens, "prefill_chunk": chunk, "warmup_s": warmup_s,
            "generate_s": statistics.median(full), "samples_s": {"generate": full},
        }
        if difference:
            decode_s = statistics.median(full) - statistics.median(first)
            row.update({
                "generate_1_token_s": statistics.median(first),
                "decode_tokens_per_s": batch * (args.new_tokens - 1) / decode_s if decode_s > 0 else None,
                "decode_step_ms": 1000 * decode_s / (args.new_tokens - 1),
                "prefill_tokens_per_s": prompt_tokens / statistics.median(first),
            })
            row["samples_s"]["generate_1_token"] = first
        if clocked_decode:
            # the same split read from inside generate: a clock at each token generate hands its streamer
            decode_s = statistics.median(clocked_decode)
            row["clocked"] = {
                "decode_tokens_per_s": batch * (args.new_tokens - 1) / decode_s,
                "decode_step_ms": 1000 * decode_s / (args.new_tokens - 1),
                "prefill_tokens_per_s": prompt_tokens / statistics.median(clocked_prefill),
            }
        if self.device == "cuda":
            row["peak_gib"] = self.torch.cuda.max_memory_allocated() / 2**30
        return row

    def step_logits(self, ids, mask, **extra):
        """Greedy tokens and the raw logits of every step (float32, on the CPU), batch 1."""
        _, out = self.generate(ids, mask, self.args.new_tokens, output_logits=True, return_dict_in_generate=True, **extra)
        tokens = out.sequences[0, ids.shape[1]:].tolist()
        return tokens, [step[0].float().cpu() for step in out.logits]


def compare(torch, compiled, eager):
    """max |a - b|, max |a - b| / max |b|, median |a - b| / median |b|, argmax agreement: a = compiled, b = eager."""
    diff = (compiled - eager).abs()
    return {
        "max_abs_diff": diff.max().item(),
        "max_rel_diff": (diff.max() / eager.abs().max().clamp_min(1e-30)).item(),
        "median_rel_diff": (diff.median() / eager.abs().median().clamp_min(1e-30)).item(),
        "argmax_equal": bool(compiled.argmax().item() == eager.argmax().item()),
    }


def compiled_row(torch, transformers, runner, reference):
    """Batch 1 with a StaticCache and torch.compile(mode="reduce-overhead"), against the eager reference logits."""
    args, model = runner.args, runner.model
    extra = {"cache_implementation": "static"}
    if args.compile_route == "generate":
        try:
            from transformers import CompileConfig
        except ImportError:
            raise RuntimeError(f"transformers {transformers.__version__} has no CompileConfig; use --compile-route forward")
        extra["compile_config"] = CompileConfig(mode="reduce-overhead", fullgraph=False)
    else:
        model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=False)
        if hasattr(model.generation_config, "disable_compile"):
            extra["disable_compile"] = True   # generate would otherwise compile the compiled forward once more
    ids, mask = runner.prompts(1, seed=1)
    from torch._dynamo.utils import counters   # what dynamo compiled, whatever route generate took
    graphs_before = counters["stats"]["unique_graphs"]
    # reduce-overhead records CUDA graphs only after a few calls: two warm-up generates before the timed ones
    compile_start = time.perf_counter()
    runner.generate(ids, mask, args.new_tokens, **extra)
    first_call_s = time.perf_counter() - compile_start
    runner.generate(ids, mask, args.new_tokens, **extra)
    compiled_graphs = counters["stats"]["unique_graphs"] - graphs_before
    # timed from inside N-token runs only: a 1-token generate would size a different static cache (a new graph)
    row = runner.timed_row(1, f"static cache + torch.compile reduce-overhead ({args.compile_route} route)", difference=False, **extra)
    row["compile_route"] = args.compile_route
    row["first_call_s"] = first_call_s
    # 0 graphs = nothing was compiled (generate declined to); graph breaks split the model into several graphs
    row["dynamo_graphs_compiled"] = compiled_graphs
    row["dynamo_graph_breaks"] = {reason[:160]: count for reason, count in list(counters["graph_break"].items())[:20]}
    eager_tokens, eager_logits = reference
    tokens, logits = runner.step_logits(ids, mask, **extra)
    same = next((i for i, (a, b) in enumerate(zip(tokens, eager_tokens)) if a != b), len(tokens))
    steps = [dict(step=i, **compare(torch, logits[i], eager_logits[i])) for i in range(min(same + 1, len(logits)))]
    row["versus_eager"] = {
        "greedy_tokens_equal": same, "of": len(tokens),
        "first_logits": steps[0], "first_decode_logits": steps[1] if len(steps) > 1 else None, "steps": steps,
    }
    return row


def main():
    args = parse_args()
    torch, transformers, AutoModelForCausalLM, config = load_stack(args)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(args.checkpoint, dtype=dtype, attn_implementation=args.attn,
                                                 local_files_only=True).to(args.device).eval()
    result = {
        "model": args.checkpoint, "class": type(model).__name__, "load_s": time.perf_counter() - start,
        "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu",
        "torch": torch.__version__, "transformers": transformers.__version__, "dtype": args.dtype, "attn": args.attn,
        "context": args.context, "new_tokens": args.new_tokens, "repeats": args.repeats, "ragged": args.ragged,
        "method": "decode tokens/s = B*(N-1) / (median time of generate(N) - median time of generate(1)), greedy, min_new_tokens=N",
        "rows": [],
    }
    runner = Runner(torch, model, args)
    for batch in args.batches:
        try:
            result["rows"].append(runner.timed_row(batch, "eager, dynamic cache"))
        except Exception as error:  # record where it fails (e.g. out of memory at batch 64) and go on
            result["rows"].append({"variant": "eager, dynamic cache", "batch": batch, "error": f"{type(error).__name__}: {str(error)[:400]}"})
            empty_cache(torch, args)
        save(result)
        print(json.dumps(result["rows"][-1]), file=sys.stderr, flush=True)
    if not args.no_compile:
        try:
            reference = runner.step_logits(*runner.prompts(1, seed=1))
            result["compiled"] = compiled_row(torch, transformers, runner, reference)
        except Exception as error:
            result["compiled"] = {"batch": 1, "compile_route": args.compile_route, "error": f"{type(error).__name__}: {str(error)[:400]}"}
        save(result)
    print(json.dumps(result, indent=1))


def empty_cache(torch, args):
    if args.device == "cuda":
        torch.cuda.empty_cache()


def save(result):
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "transformers_batched.json"), "w") as f:
            f.write(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
