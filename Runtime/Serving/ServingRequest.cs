using KernelSharp.Runtime.Generation;

namespace KernelSharp.Runtime.Serving;

/// <summary>One request to the <see cref="ServingEngine"/>: a prompt already tokenized, and how to continue it.</summary>
/// <param name="PromptTokens">At least one token.</param>
/// <param name="Generation">Max new tokens, sampling (temperature, top-p, seed), stop tokens and stop sequences.</param>
public sealed record ServingRequest(IReadOnlyList<int> PromptTokens, GenerationRequest Generation)
{
    /// <summary>Cache positions the request may use: the prompt plus every token it may generate.</summary>
    public int PositionsNeeded => PromptTokens.Count + Generation.MaxNewTokens;
}
