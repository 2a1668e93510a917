using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Verbs;

/// <summary>One <c>kernelsharp</c> verb: its options (for parsing and --help) and what it does.</summary>
public interface IVerb
{
    VerbSpec Spec { get; }

    /// <summary>
    /// True when the verb watches <see cref="CliContext.Cancellation"/> and stops cleanly on Ctrl-C (printing what it has);
    /// for the others Ctrl-C ends the process at once, as users expect of a command that cannot stop half-way.
    /// </summary>
    bool StopsCleanlyOnCtrlC => false;

    /// <summary>Runs the verb; returns the exit code. Throws UsageException / UserInputException for the runner to report.</summary>
    int Run(ParsedArguments args, CliContext context);
}
