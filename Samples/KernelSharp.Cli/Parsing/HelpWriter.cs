namespace KernelSharp.Cli.Parsing;

/// <summary>Renders --help text from the specs, so help can never disagree with what the parser accepts.</summary>
public static class HelpWriter
{
    public static string ForVerb(VerbSpec verb)
    {
        var lines = new List<string>
        {
            $"Usage: kernelsharp {verb.Name} {verb.Usage}",
            string.Empty,
            verb.Summary,
        };
        if (verb.Description.Length > 0)
        {
            lines.Add(string.Empty);
            lines.AddRange(verb.Description.Split('\n'));
        }
        lines.Add(string.Empty);
        lines.Add("Options:");
        // The operand is a row of the table too: "-- TEXT" is how it is written, like an option.
        var rows = verb.AllOptions.Select(option => (Left: OptionColumn(option), option.Description)).ToList();
        if (verb.Operand is OperandSpec operand)
        {
            rows.Add(($"    {ArgumentParser.EndOfOptions} {operand.ValueName}", operand.Description));
        }
        int width = rows.Max(row => row.Left.Length) + 2;
        lines.AddRange(rows.Select(row => ("  " + row.Left.PadRight(width) + row.Description).TrimEnd()));
        return string.Join('\n', lines) + "\n";
    }

    public static string ForProgram(IReadOnlyList<VerbSpec> verbs)
    {
        var lines = new List<string>
        {
            "Usage: kernelsharp <verb> [options]",
            string.Empty,
            "Runs DeepSeek-V3.2 checkpoints with KernelSharp kernels on CUDA, OpenCL or the CPU.",
            string.Empty,
            "Verbs:",
        };
        int width = verbs.Max(v => v.Name.Length) + 2;
        lines.AddRange(verbs.Select(v => "  " + v.Name.PadRight(width) + v.Summary));
        lines.Add(string.Empty);
        lines.Add("Run 'kernelsharp <verb> --help' for the options of a verb.");
        lines.Add("Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted, 141 stdout closed by its reader.");
        return string.Join('\n', lines) + "\n";
    }

    private static string OptionColumn(OptionSpec option)
    {
        string names = option.Short is null ? "    --" + option.Long : $"-{option.Short}, --{option.Long}";
        return option.IsFlag ? names : $"{names} {option.ValueName}";
    }
}
