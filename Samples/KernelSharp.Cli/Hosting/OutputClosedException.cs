namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Standard output is a pipe whose reader has gone (<c>kernelsharp generate ... | head -c 100</c>): nothing written from
/// now on can arrive, so the verb stops. Not a failure of the command: it ends with <see cref="ExitCodes.OutputClosed"/>.
/// </summary>
public sealed class OutputClosedException(IOException cause)
    : IOException("standard output was closed (the program reading it has ended)", cause);
