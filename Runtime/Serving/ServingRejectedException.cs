namespace KernelSharp.Runtime.Serving;

/// <summary>The engine refused a request before running it; <see cref="Exception.Message"/> is one line for the user.</summary>
public sealed class ServingRejectedException(RejectionReason reason, string message) : Exception(message)
{
    public RejectionReason Reason { get; } = reason;
}
