namespace KernelSharp.Runtime.Generation;

/// <summary>What to generate after a prompt.</summary>
/// <param name="MaxNewTokens">Upper bound on sampled tokens (the context size may stop earlier).</param>
/// <param name="Sampling">Temperature / top-k / top-p / seed.</param>
/// <param name="StopTokenIds">Tokens that end generation (normally EOS); they are not part of the text.</param>
/// <param name="StopSequences">Strings that end generation; the text stops right before the first one.</param>
public sealed record GenerationRequest(
    int MaxNewTokens,
    SamplingOptions Sampling,
    IReadOnlyCollection<int> StopTokenIds,
    IReadOnlyList<string> StopSequences)
{
    public GenerationRequest(int maxNewTokens, SamplingOptions sampling)
        : this(maxNewTokens, sampling, Array.Empty<int>(), Array.Empty<string>())
    {
    }
}
