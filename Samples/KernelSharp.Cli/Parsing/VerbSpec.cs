namespace KernelSharp.Cli.Parsing;

/// <summary>
/// A verb's name, one-line summary, usage line, longer description, options and the argument it reads after <c>--</c>
/// (none when <paramref name="Operand"/> is null): everything its --help shows.
/// </summary>
public sealed record VerbSpec(string Name, string Summary, string Usage, string Description, IReadOnlyList<OptionSpec> Options, OperandSpec? Operand = null)
{
    /// <summary>Every verb also understands these.</summary>
    public static IReadOnlyList<OptionSpec> CommonOptions { get; } =
    [
        OptionSpec.Flag("verbose", "show stack traces and extra detail on errors", "v"),
        OptionSpec.Flag("help", "show this help", "h"),
    ];

    public IEnumerable<OptionSpec> AllOptions => Options.Concat(CommonOptions);
}
