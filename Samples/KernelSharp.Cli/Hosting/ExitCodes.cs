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
}
