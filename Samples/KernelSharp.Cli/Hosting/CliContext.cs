namespace KernelSharp.Cli.Hosting;

/// <summary>
/// Where a verb reads and writes, and how it learns about Ctrl-C. Tests build one over string writers;
/// <c>Main</c> builds one over the console.
/// </summary>
/// <param name="Out">Results: generated text, tables, ids.</param>
/// <param name="Error">Diagnostics: the stats line, progress, errors.</param>
/// <param name="In">Prompt text when neither -p nor -f is given; chat input.</param>
/// <param name="Cancellation">Cancelled by Ctrl-C.</param>
/// <param name="ErrorIsTerminal">True only when stderr is an interactive terminal: progress bars are drawn only then.</param>
/// <param name="InputIsTerminal">True only when stdin is an interactive terminal: a verb about to read it says so first.</param>
public sealed record CliContext(TextWriter Out, TextWriter Error, TextReader In, CancellationToken Cancellation, bool ErrorIsTerminal, bool InputIsTerminal = false);
