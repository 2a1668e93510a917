using System.Globalization;

namespace KernelSharp.Runtime.Generation;

/// <summary>Token counts and wall times of one generation, the numbers llama.cpp users look at.</summary>
public sealed record GenerationStats(int PromptTokens, TimeSpan PromptTime, int GeneratedTokens, TimeSpan GenerationTime)
{
    /// <summary>From the start of generation to the first sampled token: the prefill plus one sampling step.</summary>
    public TimeSpan TimeToFirstToken { get; init; }

    public double PromptTokensPerSecond => PerSecond(PromptTokens, PromptTime);

    public double GeneratedTokensPerSecond => PerSecond(GeneratedTokens, GenerationTime);

    /// <summary>One line, e.g. <c>prompt: 12 tokens, 340.1 t/s | generated: 32 tokens, 55.2 t/s</c>.</summary>
    public string ToLine() => string.Create(
        CultureInfo.InvariantCulture,
        $"prompt: {PromptTokens} tokens, {PromptTokensPerSecond:F1} t/s | generated: {GeneratedTokens} tokens, {GeneratedTokensPerSecond:F1} t/s");

    private static double PerSecond(int tokens, TimeSpan time)
        => tokens == 0 || time <= TimeSpan.Zero ? 0 : tokens / time.TotalSeconds;
}
