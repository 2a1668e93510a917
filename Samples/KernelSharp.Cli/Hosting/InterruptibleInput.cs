using KernelSharp.Runtime;

namespace KernelSharp.Cli.Hosting;

/// <summary>
/// A line of interactive input that Ctrl-C can interrupt. A console read cannot be cancelled, so it runs on a worker
/// and the caller waits for either the line or the cancellation; an interrupted read is abandoned (the process is
/// about to end). Lines are bounded, so an endless stdin (<c>&lt; /dev/zero</c>) is an error, not a memory blow-up.
/// </summary>
public static class InterruptibleInput
{
    /// <summary>The longest line accepted: a chat message far beyond any context window.</summary>
    public const long MaxLineChars = 16L << 20;

    /// <summary>The next line, or null at the end of input; throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public static string? ReadLine(TextReader input, CancellationToken cancellation) =>
        Interruptible.Wait(() => InputFiles.ReadLine(input, "a line of input", MaxLineChars, message => new UserInputException(message)), cancellation);
}
