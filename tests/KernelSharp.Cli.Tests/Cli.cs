namespace KernelSharp.Cli.Tests;

/// <summary>What one in-process run of the tool produced.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>The non-empty stderr lines.</summary>
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs <c>kernelsharp</c> in-process through <see cref="Program.Run(string[], TextWriter, TextWriter, TextReader)"/>.</summary>
internal static class Cli
{
    public static CliResult Run(params string[] args) => RunWithInput(string.Empty, args);

    public static CliResult RunWithInput(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = Program.Run(args, stdout, stderr, new StringReader(stdin));
        return new CliResult(exit, stdout.ToString().Replace("\r\n", "\n"), stderr.ToString().Replace("\r\n", "\n"));
    }

    public static CliResult Run(TextWriter stdout, CancellationToken cancellation, params string[] args)
    {
        var stderr = new StringWriter();
        int exit = Program.Run(args, stdout, stderr, new StringReader(string.Empty), cancellation);
        return new CliResult(exit, stdout.ToString() ?? string.Empty, stderr.ToString());
    }
}
