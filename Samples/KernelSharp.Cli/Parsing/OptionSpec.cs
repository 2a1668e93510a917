namespace KernelSharp.Cli.Parsing;

/// <summary>
/// One option of a verb: <c>-m, --model DIR</c>. An option without <see cref="ValueName"/> is a flag.
/// </summary>
/// <param name="Long">The long name without dashes, e.g. "model".</param>
/// <param name="Short">The llama.cpp-style one-letter name without the dash, or null.</param>
/// <param name="ValueName">What the value is, shown in help (DIR, N, TEXT); null for a flag.</param>
/// <param name="Description">One line of help; include the default.</param>
/// <param name="Repeatable">The option may be given several times (e.g. --stop).</param>
public sealed record OptionSpec(string Long, string? Short, string? ValueName, string Description, bool Repeatable = false)
{
    public bool IsFlag => ValueName is null;

    /// <summary>How the option is written in messages: "-n" when it has a short name users know, else "--long".</summary>
    public string DisplayName => Short is null ? "--" + Long : $"-{Short}/--{Long}";

    public static OptionSpec Flag(string longName, string description, string? shortName = null)
        => new(longName, shortName, null, description);

    public static OptionSpec Value(string longName, string valueName, string description, string? shortName = null)
        => new(longName, shortName, valueName, description);
}
