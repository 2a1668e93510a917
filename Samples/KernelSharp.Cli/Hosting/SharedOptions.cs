using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime.Devices;
using KernelSharp.Runtime.Model;

namespace KernelSharp.Cli.Hosting;

/// <summary>Options several verbs share, written once so their spelling and help text agree everywhere.</summary>
public static class SharedOptions
{
    /// <summary>The runtime's device names, so the CLI accepts exactly what <see cref="DeviceSelector"/> chooses among.</summary>
    public static readonly string[] DeviceChoices = [.. DeviceSelector.Names];

    public static OptionSpec Model { get; } =
        OptionSpec.Value("model", "DIR", "model folder (config.json, model.safetensors or shards, tokenizer.json)", "m");

    public static OptionSpec Device { get; } =
        OptionSpec.Value("device", "DEV", string.Join('|', DeviceSelector.Names) + " (default: auto = CUDA, then OpenCL, then CPU; ilgpu-cpu = the GPU kernels on ILGPU's CPU accelerator, a debugger)");

    public static OptionSpec Gpus { get; } =
        OptionSpec.Value("gpus", "N|LIST", "split the model over CUDA GPUs through NCCL: N = GPUs 0 … N−1, or a list such as 0,2,3 " +
            "(experts, attention heads, embedding and output head divided by GPU; implies --device cuda)");

    public static OptionSpec ContextSize { get; } =
        OptionSpec.Value("ctx-size", "N", "context length in tokens (default: min(4096, max_position_embeddings))", "c");

    public static readonly string[] PrefillChoices = ["auto", "exact", "tensor-cores"];

    public static OptionSpec Prefill { get; } =
        OptionSpec.Value("prefill", "HOW", "auto|exact|tensor-cores: prompt matmuls on the GPU's tensor cores with activations rounded to " +
            "bf16 as transformers' bf16 does (no further from the float32 reference than transformers' bf16 is), or in fp32 (exact, " +
            "~1e-6 from it: for verification); auto = tensor-cores on CUDA, exact elsewhere (default: auto)");

    public static readonly string[] KvCacheChoices = ["fp32", "fp8"];

    public static OptionSpec KvCache { get; } =
        OptionSpec.Value("kv-cache", "FMT", "fp32|fp8: the MLA latent and indexer key caches in fp32, or as DeepSeek-V3.2 keeps them (latent e4m3 with a " +
            "scale per 128 values, rope part bf16, index keys e4m3 with a scale per key: 788 instead of 2816 bytes per token and layer; index top-k " +
            "choices near ties may flip: logits move by 0.1-0.2 relative on the tiny test models) (default: fp32)");

    public static OptionSpec Threads { get; } =
        OptionSpec.Value("threads", "N", "CPU threads for --device cpu, 1 … 1024 (default: every core)", "t");

    /// <summary>Applies -t to the CPU backend (process-wide; GPUs ignore it).</summary>
    public static void ApplyThreads(ParsedArguments args)
        => Dsl.Launch.CpuGrid.ThreadLimit = args.Int("threads", Environment.ProcessorCount, 1, 1024);

    public static OptionSpec ShowPrompt { get; } =
        OptionSpec.Flag("show-prompt", "print the rendered prompt (chat template applied) to stderr before generating");

    public static string ReadDevice(ParsedArguments args) => args.Choice("device", "auto", DeviceChoices);

    public static KvCacheFormat ReadKvCache(ParsedArguments args) =>
        args.Choice("kv-cache", "fp32", KvCacheChoices) == "fp8" ? KvCacheFormat.Fp8 : KvCacheFormat.Fp32;

    /// <summary>--prefill; null for auto (the device's default, <see cref="Runtime.Devices.DeviceSelector.DefaultPrefill"/>).</summary>
    public static PrefillMatmul? ReadPrefill(ParsedArguments args) => args.Choice("prefill", "auto", PrefillChoices) switch
    {
        "tensor-cores" => PrefillMatmul.TensorCores,
        "exact" => PrefillMatmul.Exact,
        _ => null,
    };
}
