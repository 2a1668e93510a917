namespace KernelSharp.Cli.Parsing;

/// <summary>
/// The one argument a verb reads after <c>--</c> (the end of its options): text that may itself start with '-', such as a
/// prompt. Shown in --help as <c>-- TEXT</c>. A verb without one refuses anything after <c>--</c>.
/// </summary>
/// <param name="ValueName">What the argument is, shown in help (TEXT).</param>
/// <param name="Description">One line of help, saying which option it stands in for.</param>
public sealed record OperandSpec(string ValueName, string Description);
