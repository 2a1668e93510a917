namespace KernelSharp.Tools.ServeLoad;

/// <summary>A problem the user can fix (server unreachable, wrong key, unknown model): printed as one line, no stack trace.</summary>
public sealed class LoadToolException(string message, Exception? inner = null) : Exception(message, inner);
