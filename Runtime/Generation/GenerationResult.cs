namespace KernelSharp.Runtime.Generation;

/// <summary>The outcome of one generation.</summary>
/// <param name="Text">The generated text, without stop tokens and stop sequences.</param>
/// <param name="TokenIds">Every sampled token, including a final stop token if one was sampled.</param>
public sealed record GenerationResult(string Text, IReadOnlyList<int> TokenIds, FinishReason FinishReason, GenerationStats Stats, int Seed);
