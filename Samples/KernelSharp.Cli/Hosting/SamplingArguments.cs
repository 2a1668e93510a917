using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime.Generation;

namespace KernelSharp.Cli.Hosting;

/// <summary>The sampling options shared by generate and chat, with llama.cpp's spellings and defaults.</summary>
public static class SamplingArguments
{
    public const int MaxTokensLimit = 1 << 20;

    public static IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("n-predict", "N", $"tokens to generate, 0 … {MaxTokensLimit} (default: 128)", "n"),
        OptionSpec.Value("temp", "T", "temperature, >= 0; 0 = greedy (default: 0.8)"),
        OptionSpec.Value("top-k", "K", "keep the K most likely tokens, >= 0; 0 = all (default: 40)"),
        OptionSpec.Value("top-p", "P", "nucleus sampling, in (0, 1]; 1 = off (default: 0.95)"),
        OptionSpec.Value("seed", "S", "random seed; -1 = random (default: -1)", "s"),
        OptionSpec.Value("stop", "TEXT", "stop when TEXT appears (repeatable)", null) with { Repeatable = true },
        OptionSpec.Flag("ignore-eos", "keep generating after the end-of-sequence token"),
    ];

    public static int MaxNewTokens(ParsedArguments args) => args.Int("n-predict", 128, 0, MaxTokensLimit);

    public static SamplingOptions Read(ParsedArguments args)
    {
        float temperature = args.Float("temp", 0.8f, t => t >= 0, ">= 0 (0 = greedy)");
        int topK = args.Int("top-k", 40, 0, int.MaxValue);
        float topP = args.Float("top-p", 0.95f, p => p > 0 && p <= 1, "in (0, 1]");
        int seed = args.Int("seed", -1, -1, int.MaxValue);
        return new SamplingOptions(temperature, topK, topP, seed < 0 ? null : seed);
    }
}
