namespace KernelSharp.Tools.ServeLoad;

/// <summary>What one load run sends.</summary>
/// <param name="Endpoint">the server's OpenAI base address, ending in /v1 (e.g. http://127.0.0.1:8080/v1)</param>
/// <param name="Clients">concurrent clients; each sends its next request as soon as its last one ends</param>
/// <param name="Requests">measured requests in all, shared among the clients</param>
/// <param name="PromptTokens">the prompt length to aim for, chat template included (calibrated on the server's own counts)</param>
/// <param name="MaxTokens">max_tokens of every request</param>
/// <param name="WarmupRequests">requests sent (concurrently, by up to <paramref name="Clients"/> clients) before the
/// measured ones and left out of the summary: the server's first batches compile and autotune kernels (their replies are
/// capped at <see cref="LoadRun.WarmupMaxTokens"/> tokens)</param>
/// <param name="ApiKey">the server's --api-key, if it has one</param>
/// <param name="Model">the model name to ask for; null takes the first one /v1/models lists</param>
/// <param name="Temperature">sampling temperature; 0 is greedy</param>
/// <param name="RequestTimeout">how long one request may take before it counts as failed</param>
public sealed record LoadOptions(
    Uri Endpoint,
    int Clients,
    int Requests,
    int PromptTokens,
    int MaxTokens,
    int WarmupRequests = 0,
    string? ApiKey = null,
    string? Model = null,
    float Temperature = 0,
    TimeSpan? RequestTimeout = null)
{
    public TimeSpan Timeout => RequestTimeout ?? TimeSpan.FromMinutes(10);
}
