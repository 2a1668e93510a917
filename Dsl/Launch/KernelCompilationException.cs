namespace KernelSharp.Dsl.Launch;

/// <summary>
/// A kernel variant that ILGPU could not compile for a device. ILGPU reports the cause (say, "Class type 'Helper' is
/// not supported") several inner exceptions deep under a generic "An internal compiler error has been detected"; the
/// message here puts the kernel, the device and that real cause first, and keeps the whole chain as the inner exception.
/// </summary>
public sealed class KernelCompilationException : Exception
{
    public KernelCompilationException(string kernel, string device, Exception failure)
        : base($"kernel {kernel} cannot be compiled for {device}: {RootCause(failure)}", failure)
    {
        Kernel = kernel;
    }

    /// <summary>The variant's full name (as the launchers cache it).</summary>
    public string Kernel { get; }

    /// <summary>Runs <paramref name="load"/>, turning a compiler failure into this exception.</summary>
    public static T Wrap<T>(string kernel, string device, Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception failure) when (failure is not (KernelCompilationException or OutOfMemoryException or OperationCanceledException))
        {
            throw new KernelCompilationException(kernel, device, failure);
        }
    }

    /// <summary>The innermost exception's message that says something specific (wrappers' generic texts skipped).</summary>
    public static string RootCause(Exception failure)
    {
        string best = failure.Message;
        for (Exception? current = failure; current is not null; current = current.InnerException ?? (current as AggregateException)?.InnerExceptions.FirstOrDefault())
        {
            string message = current.Message.ReplaceLineEndings(" ").Trim();
            if (message.Length > 0 && !IsGeneric(message))
            {
                best = message;
            }
        }

        return best;
    }

    private static bool IsGeneric(string message) =>
        message.StartsWith("An internal compiler error has been detected", StringComparison.OrdinalIgnoreCase)
        || message.StartsWith("Exception has been thrown by the target of an invocation", StringComparison.OrdinalIgnoreCase)
        || message.StartsWith("One or more errors occurred", StringComparison.OrdinalIgnoreCase)
        || message.StartsWith("The type initializer for", StringComparison.OrdinalIgnoreCase);
}
