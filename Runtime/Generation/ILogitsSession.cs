namespace KernelSharp.Runtime.Generation;

/// <summary>
/// What the generation loop needs from a model: a KV-cached sequence that turns tokens into next-token logits.
/// The model's <c>InferenceSession</c> is adapted to it; tests use a small scripted session.
/// </summary>
public interface ILogitsSession
{
    int VocabSize { get; }

    /// <summary>Most tokens the cache can hold.</summary>
    int MaxContext { get; }

    /// <summary>Tokens already in the cache.</summary>
    int Length { get; }

    /// <summary>Appends tokens to the cache. Returns the logits of the LAST position only: [vocab].</summary>
    float[] PrefillLast(ReadOnlySpan<int> tokens);

    /// <summary>Appends one token and writes its logits into <paramref name="logits"/>: [vocab].</summary>
    void Decode(int token, Span<float> logits);

    /// <summary>Empties the cache.</summary>
    void Reset();
}
