namespace KernelSharp.Cli.Parsing;

/// <summary>The command line itself is wrong (unknown flag, value out of range): exit code 2, one line on stderr.</summary>
public sealed class UsageException(string message) : Exception(message);
