using KernelSharp.Cli.Hosting;
using KernelSharp.Cli.Parsing;

namespace KernelSharp.Cli.Verbs;

/// <summary>One <c>kernelsharp</c> verb: its options (for parsing and --help) and what it does.</summary>
public interface IVerb
{
    VerbSpec Spec { get; }

    /// <summary>Runs the verb; returns the exit code. Throws UsageException / UserInputException for the runner to report.</summary>
    int Run(ParsedArguments args, CliContext context);
}
