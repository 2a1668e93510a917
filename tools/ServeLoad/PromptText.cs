namespace KernelSharp.Tools.ServeLoad;

/// <summary>
/// Prompts of a chosen length made of common English words, different for every request (a server that reuses a cached
/// prefix should not be flattered by identical prompts) but reproducible from the request's number.
/// </summary>
public static class PromptText
{
    // Short words that common BPE vocabularies (DeepSeek's included) hold as one token each with their leading space.
    private static readonly string[] Words =
    [
        "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "house", "with", "red", "door", "under", "blue",
        "sky", "while", "old", "man", "read", "book", "near", "green", "tree", "in", "small", "town", "by", "river", "at", "night",
    ];

    /// <summary><paramref name="words"/> words chosen from the list by a generator seeded with <paramref name="seed"/>.</summary>
    public static string Make(int words, int seed)
    {
        var random = new Random(seed);
        return string.Join(' ', Enumerable.Range(0, Math.Max(words, 1)).Select(_ => Words[random.Next(Words.Length)]));
    }

    /// <summary>
    /// The word count whose prompt the server counts as <paramref name="targetTokens"/> tokens, from two measured
    /// lengths: the server's count is close to linear in words (chat template overhead + tokens per word).
    /// </summary>
    public static int WordsFor(int targetTokens, (int Words, int Tokens) shorter, (int Words, int Tokens) longer)
    {
        double perWord = Math.Max((double)(longer.Tokens - shorter.Tokens) / (longer.Words - shorter.Words), 1e-3);
        double overhead = shorter.Tokens - perWord * shorter.Words;
        return Math.Max(1, (int)Math.Round((targetTokens - overhead) / perWord));
    }
}
