namespace KernelSharp.Cli.Hosting;

/// <summary>The process exit codes, as documented in the top-level help.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The command was right but running it failed: a bad file, a device error.</summary>
    public const int RuntimeFailure = 1;

    /// <summary>The command line is wrong: unknown verb or option, value out of range.</summary>
    public const int UsageError = 2;

    /// <summary>Stopped by Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>
    /// Stopped because standard output was closed by its reader (<c>| head</c>): 128 + SIGPIPE, what shells report for a
    /// writer the closed pipe ended (yes, cat), so <c>set -o pipefail</c> scripts see what they see for those tools.
    /// .NET ignores SIGPIPE, so the tool ends itself, with this code and without a message: a reader that stops early is
    /// ordinary use of a pipe, not an error to report.
    /// </summary>
    public const int OutputClosed = 141;
}
