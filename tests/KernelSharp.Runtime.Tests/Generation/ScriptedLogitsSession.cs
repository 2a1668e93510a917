using KernelSharp.Runtime.Generation;

namespace KernelSharp.Runtime.Tests.Generation;

/// <summary>
/// A stand-in model for the generation loop: logits are a fixed pseudo-random function of (position, previous token),
/// so the "right" output of greedy decoding can be computed independently in the test.
/// </summary>
internal sealed class ScriptedLogitsSession(int vocabSize, int maxContext) : ILogitsSession
{
    private readonly List<int> tokens = [];

    public int VocabSize { get; } = vocabSize;

    public int MaxContext { get; } = maxContext;

    public int Length => tokens.Count;

    public int DecodeCalls { get; private set; }

    public float[] PrefillLast(ReadOnlySpan<int> newTokens)
    {
        foreach (int token in newTokens)
        {
            tokens.Add(token);
        }
        return LogitsAfter(tokens.Count, tokens[^1]);
    }

    public void Decode(int token, Span<float> logits)
    {
        DecodeCalls++;
        tokens.Add(token);
        LogitsAfter(tokens.Count, token).CopyTo(logits);
    }

    public void Reset() => tokens.Clear();

    /// <summary>Logits [vocab] once <paramref name="length"/> tokens are in the cache, the last being <paramref name="lastToken"/>.</summary>
    public float[] LogitsAfter(int length, int lastToken)
    {
        var random = new Random(length * 7919 + lastToken);
        var logits = new float[VocabSize];
        for (int i = 0; i < logits.Length; i++)
        {
            logits[i] = (float)random.NextDouble() * 10;
        }
        return logits;
    }
}
