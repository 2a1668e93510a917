namespace KernelSharp.Cli.Parsing;

/// <summary>A verb's name, one-line summary, usage line, longer description and options: everything its --help shows.</summary>
public sealed record VerbSpec(string Name, string Summary, string Usage, string Description, IReadOnlyList<OptionSpec> Options)
{
    /// <summary>Every verb also understands these.</summary>
    public static IReadOnlyList<OptionSpec> CommonOptions { get; } =
    [
        OptionSpec.Flag("verbose", "show stack traces and extra detail on errors", "v"),
        OptionSpec.Flag("help", "show this help", "h"),
    ];

    public IEnumerable<OptionSpec> AllOptions => Options.Concat(CommonOptions);
}
