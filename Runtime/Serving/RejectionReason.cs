namespace KernelSharp.Runtime.Serving;

/// <summary>Why the engine refused a request before running it (a server maps each to an HTTP status).</summary>
public enum RejectionReason
{
    /// <summary>The request itself is invalid (no prompt tokens, bad sampling settings, token id outside the vocabulary).</summary>
    Invalid,

    /// <summary>Prompt + max new tokens exceed the context one sequence may use.</summary>
    TooLong,

    /// <summary>The waiting queue is full; try again later.</summary>
    QueueFull,

    /// <summary>The engine is draining or stopped and takes no new requests.</summary>
    ShuttingDown,
}
