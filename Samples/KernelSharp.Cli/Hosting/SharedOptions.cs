using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Hosting;

/// <summary>Options several verbs share, written once so their spelling and help text agree everywhere.</summary>
public static class SharedOptions
{
    public static readonly string[] DeviceChoices = ["auto", "cuda", "opencl", "cpu"];

    public static OptionSpec Model { get; } =
        OptionSpec.Value("model", "DIR", "model folder (config.json, model.safetensors or shards, tokenizer.json)", "m");

    public static OptionSpec Device { get; } =
        OptionSpec.Value("device", "DEV", "auto|cuda|opencl|cpu (default: auto = CUDA, then OpenCL, then CPU)");

    public static OptionSpec ContextSize { get; } =
        OptionSpec.Value("ctx-size", "N", "context length in tokens (default: min(4096, max_position_embeddings))", "c");

    public static string ReadDevice(ParsedArguments args) => args.Choice("device", "auto", DeviceChoices);
}
