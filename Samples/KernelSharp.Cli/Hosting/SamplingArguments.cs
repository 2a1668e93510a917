using KernelSharp.Cli.Parsing;
using KernelSharp.Runtime.Generation;

namespace KernelSharp.Cli.Hosting;

/// <summary>The sampling options shared by generate and chat, with llama.cpp's spellings and defaults.</summary>
public static class SamplingArguments
{
    public const int MaxTokensLimit = 1 << 20;

    public static IReadOnlyList<OptionSpec> Options { get; } =
    [
        OptionSpec.Value("n-predict", "N", $"tokens to generate, -1 … {MaxTokensLimit}; -1 = until end of text or a full context (default: 128)", "n"),
        OptionSpec.Value("temp", "T", "temperature, >= 0; 0 = greedy (default: 0.8)"),
        OptionSpec.Value("top-k", "K", "keep the K most likely tokens, >= 0; 0 = all (default: 40)"),
        OptionSpec.Value("top-p", "P", "nucleus sampling, in (0, 1]; 1 = off (default: 0.95)"),
        OptionSpec.Value("min-p", "P", "drop tokens less likely than P × the most likely, in [0, 1]; 0 = off (default: 0)"),
        OptionSpec.Value("repeat-penalty", "F", "penalize the last 64 tokens' repeats, > 0; 1 = off (default: 1)"),
        OptionSpec.Value("seed", "S", "random seed; -1 = random (default: -1)", "s"),
        OptionSpec.Value("stop", "TEXT", "stop when TEXT appears (repeatable)", null) with { Repeatable = true },
        OptionSpec.Flag("ignore-eos", "keep generating after the end-of-sequence token"),
    ];

    /// <summary>The -n value; null for -n -1 (until end of text: the caller bounds it by the context).</summary>
    public static int? MaxNewTokens(ParsedArguments args)
    {
        int n = args.Int("n-predict", 128, -1, MaxTokensLimit);
        return n < 0 ? null : n;
    }

    /// <summary>
    /// The --stop texts. Each occurrence is one text, commas and all (a stop text may hold a comma), so there is no list
    /// to split; an empty one would stop nothing and was dropped unseen, so it is refused.
    /// </summary>
    public static IReadOnlyList<string> StopSequences(ParsedArguments args)
    {
        IReadOnlyList<string> stops = args.All("stop");
        if (stops.Any(stop => stop.Length == 0))
        {
            throw new UsageException("--stop needs a non-empty TEXT (each --stop gives one text to stop at)");
        }
        return stops;
    }

    public static SamplingOptions Read(ParsedArguments args)
    {
        float temperature = args.Float("temp", 0.8f, t => t >= 0, ">= 0 (0 = greedy)");
        int topK = args.Int("top-k", 40, 0, int.MaxValue);
        float topP = args.Float("top-p", 0.95f, p => p > 0 && p <= 1, "in (0, 1]");
        int seed = args.Int("seed", -1, -1, int.MaxValue);
        float minP = args.Float("min-p", 0f, p => p >= 0 && p <= 1, "in [0, 1]");
        float repeatPenalty = args.Float("repeat-penalty", 1f, r => float.IsFinite(r) && r > 0, "> 0 (1 = off)");
        return new SamplingOptions(temperature, topK, topP, seed < 0 ? null : seed) { MinP = minP, RepeatPenalty = repeatPenalty };
    }
}
