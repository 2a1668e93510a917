namespace KernelSharp.Runtime.Generation;

/// <summary>
/// How the next token is drawn from the logits. Applied in the order Hugging Face <c>generate</c> uses:
/// temperature, then top-k, then top-p (nucleus). <see cref="Temperature"/> 0 means greedy (argmax).
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
        return null;
    }
}
