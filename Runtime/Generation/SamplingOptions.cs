namespace KernelSharp.Runtime.Generation;

/// <summary>
/// How the next token is drawn from the logits. Applied in the order Hugging Face <c>generate</c> uses:
/// repetition penalty, temperature, then top-k, then top-p (nucleus), then min-p. <see cref="Temperature"/> 0 means greedy (argmax).
/// </summary>
/// <param name="Temperature">Logits are divided by it; 0 picks the most likely token (ties: the lowest id).</param>
/// <param name="TopK">Keep the K most likely tokens; 0 keeps all.</param>
/// <param name="TopP">Keep the smallest set of most likely tokens whose probability reaches P; 1 keeps all.</param>
/// <param name="Seed">Seeds the random draw so runs repeat; null draws a fresh seed.</param>
public sealed record SamplingOptions(float Temperature = 0.8f, int TopK = 40, float TopP = 0.95f, int? Seed = null)
{
    /// <summary>Greedy decoding: always the most likely token.</summary>
    public static SamplingOptions Greedy { get; } = new(Temperature: 0f, TopK: 0, TopP: 1f);

    public bool IsGreedy => Temperature == 0f;

    /// <summary>Keep only tokens whose probability is at least MinP times the most likely token's; 0 keeps all.</summary>
    public float MinP { get; init; }

    /// <summary>
    /// llama.cpp's repeat penalty: the logit of each token among the last <see cref="RepeatLastN"/> (prompt included)
    /// is divided by it when positive and multiplied by it when negative; 1 = off.
    /// </summary>
    public float RepeatPenalty { get; init; } = 1f;

    /// <summary>How many of the most recent tokens <see cref="RepeatPenalty"/> looks at (llama.cpp's default: 64).</summary>
    public int RepeatLastN { get; init; } = 64;

    /// <summary>The first out-of-range setting as a one-line message with the valid range, or null when all are valid.</summary>
    public string? FindInvalidSetting()
    {
        if (!float.IsFinite(Temperature) || Temperature < 0f)
        {
            return $"temperature must be >= 0 (0 = greedy), got {Temperature.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }
        if (TopK < 0)
        {
            return $"top-k must be >= 0 (0 = disabled), got {TopK}";
        }
        if (!(TopP > 0f && TopP <= 1f))
        {
            return $"top-p must be in (0, 1] (1 = disabled), got {TopP.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }
        if (!(MinP >= 0f && MinP <= 1f))
        {
            return $"min-p must be in [0, 1] (0 = disabled), got {MinP.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }
        if (!(float.IsFinite(RepeatPenalty) && RepeatPenalty > 0f))
        {
            return $"repeat-penalty must be > 0 (1 = disabled), got {RepeatPenalty.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }
        if (RepeatLastN < 0)
        {
            return $"repeat-last-n must be >= 0, got {RepeatLastN}";
        }
        return null;
    }
}
