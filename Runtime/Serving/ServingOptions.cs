namespace KernelSharp.Runtime.Serving;

/// <summary>How many requests the <see cref="ServingEngine"/> runs and holds at once.</summary>
/// <param name="MaxBatch">Most sequences advanced together in one step (running = prefilling or decoding).</param>
/// <param name="MaxQueue">Most requests waiting for a slot; one more is rejected with <see cref="RejectionReason.QueueFull"/>.</param>
/// <param name="KvTokenBudget">
/// Cache positions all running sequences may hold together. A sequence reserves prompt + max new tokens when it starts,
/// so memory follows the requests actually running, and a request that does not fit now waits instead of running out of memory.
/// </param>
/// <param name="MaxContext">Most positions (prompt + generated) one sequence may use; a longer request is rejected.</param>
/// <param name="PrefillChunkTokens">
/// Prompt tokens read per step, shared by the prefilling sequences oldest first, next to the batched decode: a long prompt
/// delays the other sequences' next token by one chunk, not by the whole prompt, and short prompts arriving together
/// share a step.
/// </param>
public sealed record ServingOptions(
    int MaxBatch = 8,
    int MaxQueue = 64,
    long KvTokenBudget = 32 * 1024,
    int MaxContext = 4096,
    int PrefillChunkTokens = 256)
{
    /// <summary>The first out-of-range setting as one line, or null when all are valid.</summary>
    public string? FindInvalidSetting() => this switch
    {
        { MaxBatch: < 1 } => $"the maximum batch must be at least 1 (got {MaxBatch})",
        { MaxQueue: < 1 } => $"the queue length must be at least 1 (got {MaxQueue})",
        { MaxContext: < 2 } => $"the maximum context must be at least 2 tokens (got {MaxContext})",
        { PrefillChunkTokens: < 1 } => $"the prefill chunk must be at least 1 token (got {PrefillChunkTokens})",
        _ when KvTokenBudget < MaxContext => $"the KV cache budget of {KvTokenBudget} tokens is smaller than one sequence's maximum context ({MaxContext}); give more cache memory or a shorter context",
        _ => null,
    };
}
