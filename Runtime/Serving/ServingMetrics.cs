namespace KernelSharp.Runtime.Serving;

/// <summary>Counters and gauges of a <see cref="ServingEngine"/> at one moment.</summary>
/// <param name="RequestsAccepted">Requests queued since start.</param>
/// <param name="RequestsRejected">Requests refused (invalid, too long, queue full, shutting down).</param>
/// <param name="QueueLength">Requests waiting for a slot.</param>
/// <param name="Running">Sequences prefilling or decoding.</param>
/// <param name="GeneratedTokens">Tokens sampled since start.</param>
/// <param name="Steps">Engine steps run since start.</param>
/// <param name="KvPositionsReserved">Cache positions held by running sequences.</param>
/// <param name="KvPositionsBudget">Cache positions all sequences may hold together.</param>
/// <param name="KvBlocksUsed">Blocks of the paged KV cache that sequences hold now (they take blocks as they grow).</param>
/// <param name="KvBlocksTotal">Blocks of the paged KV cache in all.</param>
public sealed record ServingMetrics(
    long RequestsAccepted,
    long RequestsRejected,
    int QueueLength,
    int Running,
    long GeneratedTokens,
    long Steps,
    long KvPositionsReserved,
    long KvPositionsBudget,
    int KvBlocksUsed,
    int KvBlocksTotal);
