namespace KernelSharp.Tools.ServeLoad;

/// <summary>
/// One streamed request as the client saw it. Times are milliseconds; <see cref="StartMs"/> counts from the start of the
/// measured phase. A "chunk" is one server-sent event that carried text: the server may put several tokens in one chunk
/// (or hold a token back until its text is complete), so gaps are per chunk and the token count comes from the usage
/// chunk at the end of the stream.
/// </summary>
/// <param name="Index">the request's number (0-based; warm-up requests are not recorded)</param>
/// <param name="StartMs">when the request was sent</param>
/// <param name="TimeToFirstTokenMs">from sending to the first chunk with text; null when none came</param>
/// <param name="LatencyMs">from sending to the end of the stream (or the error)</param>
/// <param name="PromptTokens">the prompt's tokens, from the usage chunk (0 when it did not come)</param>
/// <param name="CompletionTokens">the generated tokens, from the usage chunk (0 when it did not come)</param>
/// <param name="Chunks">server-sent events that carried text</param>
/// <param name="ChunkGapsMs">the time between consecutive text chunks (Chunks - 1 entries)</param>
/// <param name="FinishReason">length, stop, ... as the server sent it; null when it did not</param>
/// <param name="Error">why the request failed; null when it succeeded</param>
public sealed record RequestRecord(
    int Index,
    double StartMs,
    double? TimeToFirstTokenMs,
    double LatencyMs,
    int PromptTokens,
    int CompletionTokens,
    int Chunks,
    IReadOnlyList<double> ChunkGapsMs,
    string? FinishReason,
    string? Error)
{
    public bool Succeeded => Error is null;

    /// <summary>
    /// Time per output token after the first, (latency - TTFT) / (tokens - 1): the decode pace this request saw, counted
    /// in tokens rather than chunks. Null when fewer than two tokens came.
    /// </summary>
    public double? TimePerOutputTokenMs => Succeeded && TimeToFirstTokenMs is double ttft && CompletionTokens > 1
        ? (LatencyMs - ttft) / (CompletionTokens - 1)
        : null;
}
